"""GRPO and its variants (baselines.grpo): hand-computed golden values, properties (hypothesis), gradients, the
EG-GRPO group, the AdaGRPO gate, and the configs."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.grpo import (
    AdaGrpoConfig,
    GrpoConfig,
    NllGrpoConfig,
    adagrpo_gate,
    expert_group,
    group_advantages,
    grpo_loss,
    grpo_token_loss,
)
from benchmark.config import from_dict
from benchmark.errors import ConfigError
from benchmark.methods import CandidateBatch, get_method, shared_prefix_mask
from benchmark.training.rollouts import RolloutConfig
from benchmark.tuning.space import search_space

LOG_HALF, LOG_QUARTER = math.log(0.5), math.log(0.25)
GRPO_METHODS = ["grpo", "nll-grpo", "eg-grpo", "adagrpo"]


# ---------------------------------------------------------------------------------------- group advantages
def test_group_advantages_golden() -> None:
    # [1, 0, 0, 1]: mean 0.5, deviations +-0.5, Bessel variance 4 * 0.25 / 3 = 1/3, std 0.5773503;
    #   A = +-0.5 / (0.5773503 + 1e-4) = 0.5 / 0.5774503 = +-0.8658754
    # [2, 2, 2, 2]: std 0 -> A = 0 / 1e-4 = 0 (no signal)
    # [3, 1, ...] masked to 2 members: mean 2, deviations +-1, variance 2 / 1 = 2, std 1.4142136;
    #   A = +-1 / 1.4143136 = +-0.7070568, 0 outside the mask
    a = 0.5 / (math.sqrt(1 / 3) + 1e-4)
    b = 1.0 / (math.sqrt(2.0) + 1e-4)
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0], [3.0, 1.0, 9.0, 9.0]], dtype=torch.float64)
    mask = torch.tensor([[True] * 4, [True] * 4, [True, True, False, False]])
    expected = torch.tensor([[a, -a, -a, a], [0, 0, 0, 0], [b, -b, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(group_advantages(rewards, mask), expected)
    torch.testing.assert_close(group_advantages(rewards[:2]), expected[:2])
    assert a == pytest.approx(0.8658754, abs=1e-7) and b == pytest.approx(0.7070568, abs=1e-7)


def test_a_single_member_group_has_zero_advantage_not_nan() -> None:
    out = group_advantages(torch.tensor([[5.0, 1.0]]), torch.tensor([[True, False]]))
    assert torch.equal(out, torch.zeros(1, 2))


rewards_strategy = st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=12)


@settings(max_examples=80, deadline=None)
@given(rewards_strategy, st.floats(-100, 100), st.integers(0, 10_000))
def test_group_advantages_properties(values: list[float], shift: float, seed: int) -> None:
    r = torch.tensor([values], dtype=torch.float64)
    adv = group_advantages(r)
    assert torch.isfinite(adv).all()
    assert abs(float(adv.sum())) < 1e-6 * max(1.0, float(adv.abs().max()))  # centred within the group
    torch.testing.assert_close(group_advantages(r + shift), adv, atol=1e-6, rtol=1e-6)  # shift-invariant
    perm = torch.randperm(r.shape[1], generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(group_advantages(r[:, perm]), adv[:, perm])  # permutation-equivariant
    std = float(r.std())  # torch's default is Bessel-corrected
    if std > 1e-2:  # far from the 1e-4 floor the advantages have unit sample std
        assert float(adv.std()) == pytest.approx(std / (std + 1e-4), rel=1e-6)


# ---------------------------------------------------------------------------------------------- token loss
def test_grpo_token_loss_golden() -> None:
    # Policy token prob 0.5, rollout policy 0.25 -> ratio 2; epsilon 0.2 clips it to 1.2.
    # Reference prob 0.25: delta = log(0.25 / 0.5) = -0.6931472, KL = e^delta - delta - 1 = 0.5 + 0.6931472 - 1
    #   = 0.1931472 (the k3 estimator); beta 0.1 adds 0.0193147.
    # A = +1: -min(2 * 1, 1.2 * 1) = -1.2 -> -1.2 + 0.0193147 = -1.1806853
    # A = -1: -min(-2, -1.2) = 2        -> 2.0193147
    # Ratio 0.5 (policy 0.25, rollout 0.5; reference 0.25 -> KL 0): A = +1: -min(0.5, 0.8) = -0.5;
    #   A = -1: -min(-0.5, -0.8) = 0.8
    kl = 0.5 + math.log(2.0) - 1.0
    logp = torch.tensor([LOG_HALF, LOG_HALF, LOG_QUARTER, LOG_QUARTER], dtype=torch.float64).unsqueeze(-1)
    old = torch.tensor([LOG_QUARTER, LOG_QUARTER, LOG_HALF, LOG_HALF], dtype=torch.float64).unsqueeze(-1)
    ref = torch.full_like(logp, LOG_QUARTER)
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    loss, token_kl = grpo_token_loss(logp, old, adv, epsilon=0.2, beta=0.1, ref_token_logps=ref)
    torch.testing.assert_close(loss.squeeze(-1), torch.tensor(
        [-1.2 + 0.1 * kl, 2.0 + 0.1 * kl, -0.5, 0.8], dtype=torch.float64))
    torch.testing.assert_close(token_kl.squeeze(-1), torch.tensor([kl, kl, 0.0, 0.0], dtype=torch.float64))
    assert kl == pytest.approx(0.1931472, abs=1e-7)


def test_a_kl_penalty_needs_reference_log_probs() -> None:
    x = torch.zeros(1, 1)
    with pytest.raises(ValueError, match="ref_token_logps"):
        grpo_token_loss(x, x, torch.zeros(1), epsilon=0.2, beta=0.1)
    loss, kl = grpo_token_loss(x, x, torch.ones(1), epsilon=0.2, beta=0.0)
    assert float(loss) == -1.0 and float(kl) == 0.0


def test_grpo_loss_golden() -> None:
    # One prompt, slots [y_w* (not in the group), rollout 1 (2 tokens), rollout 2 (1 real token)].
    # Rewards of the group [1, 0]: mean 0.5, std sqrt(0.5) = 0.7071068 -> A = +-0.5 / 0.7072068 = +-0.7070068.
    # Ratio 1 everywhere (rollout policy = policy), so the surrogate per token is -A.
    # Reference differs on rollout 1's first token only: delta = log 2 -> KL = 2 - 0.6931472 - 1 = 0.3068528.
    # rollout 1: mean over 2 tokens of (-A + 0.1 * KL_t) = -0.7070068 + 0.1 * 0.3068528 / 2 = -0.6916642
    # rollout 2: +0.7070068 ; group mean (-0.6916642 + 0.7070068) / 2 = 0.0076713
    a = 0.5 / (math.sqrt(0.5) + 1e-4)
    kl = 2.0 - math.log(2.0) - 1.0
    logp = torch.full((1, 3, 2), LOG_QUARTER, dtype=torch.float64)
    token_mask = torch.tensor([[[True, True], [True, True], [True, False]]])
    ref = logp.clone()
    ref[0, 1, 0] = LOG_HALF
    rewards = torch.tensor([[7.0, 1.0, 0.0]], dtype=torch.float64)
    group = torch.tensor([[False, True, True]])
    losses, extra = grpo_loss(logp, logp.clone(), ref, rewards, token_mask, group, epsilon=0.2, beta=0.1)
    expected = ((-a + 0.1 * kl / 2) + a) / 2
    torch.testing.assert_close(losses, torch.tensor([expected], dtype=torch.float64))
    assert expected == pytest.approx(0.0076713, abs=1e-7)
    assert float(extra["kl"]) == pytest.approx((kl / 2 + 0.0) / 2)
    assert float(extra["clipped"]) == 0.0


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(2, 6), st.integers(1, 4), st.integers(0, 10_000),
       st.floats(0.05, 0.5), st.floats(0.0, 1.0))
def test_grpo_loss_properties(B: int, G: int, S: int, seed: int, epsilon: float, beta: float) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, G, S, 5, generator=g, dtype=torch.float64)
    logp = torch.log_softmax(logits, -1)[..., 0].requires_grad_(True)
    old = logp.detach() + 0.2 * torch.randn(B, G, S, generator=g, dtype=torch.float64)
    ref = torch.log_softmax(torch.randn(B, G, S, 5, generator=g, dtype=torch.float64), -1)[..., 0]
    rewards = torch.randn(B, G, generator=g, dtype=torch.float64)
    mask = torch.ones(B, G, S, dtype=torch.bool)
    group = torch.ones(B, G, dtype=torch.bool)
    losses, _ = grpo_loss(logp, old, ref, rewards, mask, group, epsilon, beta)
    assert losses.shape == (B,) and torch.isfinite(losses).all()
    losses.sum().backward()
    assert torch.isfinite(logp.grad).all()
    # On-policy (ratio 1), no KL, equal lengths: the advantages sum to 0 in each group, so the loss is 0.
    on_policy, _ = grpo_loss(logp.detach(), logp.detach(), ref, rewards, mask, group, epsilon, 0.0)
    torch.testing.assert_close(on_policy, torch.zeros(B, dtype=torch.float64), atol=1e-9, rtol=0)
    # The clipped surrogate never rewards a ratio beyond 1 + epsilon: loss >= -(1 + eps) max |A|.
    bound = -(1 + epsilon) * group_advantages(rewards).abs().amax(-1)
    no_kl, _ = grpo_loss(logp.detach(), old, None, rewards, mask, group, epsilon, 0.0)
    assert (no_kl >= bound - 1e-9).all()


# ------------------------------------------------------------------------------------- rollout batches
def rollout_batch(seq_logps: list[list[float]], rewards: list[list[float]], positive: list[list[bool]],
                  requires_grad: bool = False) -> CandidateBatch:
    """B prompts, slot 0 = y_w*, slots 1.. rollouts; one token per candidate, so a token's log-prob is the
    sequence's; rollout policy = policy; reference = policy (KL 0)."""
    logp = torch.tensor(seq_logps, dtype=torch.float64).unsqueeze(-1).requires_grad_(requires_grad)
    B, C, S = logp.shape
    ids = torch.arange(B * C * S).view(B, C, S)
    token_mask = torch.ones(B, C, S, dtype=torch.bool)
    top = torch.zeros(B, dtype=torch.long)
    cand = torch.ones(B, C, dtype=torch.bool)
    return CandidateBatch(
        token_logps=logp, token_mask=token_mask, cand_mask=cand, is_positive=torch.tensor(positive),
        top_positive=top, shared_prefix=shared_prefix_mask(ids, token_mask, top),
        ref_token_logps=logp.detach().clone(), rollout_mask=cand & (torch.arange(C) != 0),
        rewards=torch.tensor(rewards, dtype=torch.float64), old_token_logps=logp.detach().clone(),
    )


def test_eg_grpo_group_replaces_the_lowest_scored_rollout_with_the_ordered_item() -> None:
    # prompt 0: rollout rewards [0.5, -1, 0.2] -> slot 2 out, y_w* in; prompt 1: a tie [0, 0, 1] -> the first
    # lowest (slot 1) out.
    batch = rollout_batch([[-1.0] * 4] * 2, [[1.0, 0.5, -1.0, 0.2], [1.0, 0.0, 0.0, 1.0]],
                          [[True, False, False, False]] * 2)
    assert expert_group(batch).tolist() == [[True, True, False, True], [True, False, True, True]]


def test_adagrpo_gate_golden() -> None:
    # Sequence log-probs [y_w*, rollouts...]; rewards likewise. Threshold 1.0 (beat every negative), margin 0.
    # p0: top negative -0.5 > y_w* -1 -> difficult; y_w* reward 1 > [0, 0.5, -1] -> discriminable -> admitted
    # p1: y_w* -0.2 above every negative -> not difficult (discriminable) -> pure NLL
    # p2: difficult; a negative scores 1 = y_w*'s -> 2 of 3 beaten, share 2/3 < 1 -> not admitted
    # p3: the only non-y_w* rollout is... none: every rollout equals y_w* -> neither diagnostic
    logps = [[-1.0, -0.5, -2.0, -3.0], [-0.2, -0.5, -2.0, -3.0], [-1.0, -0.5, -2.0, -3.0], [-1.0, -1.0, -1.0, -1.0]]
    rewards = [[1.0, 0.0, 0.5, -1.0], [1.0, 0.0, 0.5, -1.0], [1.0, 1.0, 0.5, -1.0], [1.0, 1.0, 1.0, 1.0]]
    positive = [[True, False, False, False]] * 3 + [[True] * 4]
    batch = rollout_batch(logps, rewards, positive)
    difficult, discriminable, admitted = adagrpo_gate(batch, AdaGrpoConfig())
    assert difficult.tolist() == [True, False, True, False]
    assert discriminable.tolist() == [True, True, False, False]
    assert admitted.tolist() == [True, False, False, False]
    _, _, admitted = adagrpo_gate(batch, AdaGrpoConfig(discrimination_threshold=0.6))  # 2/3 >= 0.6
    assert admitted.tolist() == [True, False, True, False]
    _, _, admitted = adagrpo_gate(batch, AdaGrpoConfig(difficulty_margin=0.6))  # -0.5 - -1 = 0.5 < 0.6
    assert admitted.tolist() == [False, False, False, False]


def test_adagrpo_is_nll_where_the_gate_is_closed_and_reports_the_admitted_share() -> None:
    logps = [[-1.0, -0.5, -2.0, -3.0], [-0.2, -0.5, -2.0, -3.0]]
    rewards = [[1.0, 0.0, 0.5, -1.0], [1.0, 0.0, 0.5, -1.0]]
    batch = rollout_batch(logps, rewards, [[True, False, False, False]] * 2)
    method = get_method("adagrpo")
    losses, diag = method.objective(batch, AdaGrpoConfig(), None)
    nll_losses, _ = get_method("nll-grpo").objective(batch, NllGrpoConfig(lam=1.0), None)
    grpo_losses, _ = get_method("grpo").objective(batch, GrpoConfig(), None)
    # p0 admitted: NLL 1 + GRPO; p1 closed: NLL 0.2 only
    torch.testing.assert_close(losses, torch.stack([1.0 + grpo_losses[0], torch.tensor(0.2, dtype=torch.float64)]))
    torch.testing.assert_close(losses[0], nll_losses[0])
    assert diag["admitted_share"] == 0.5 and diag["difficult_share"] == 0.5 and diag["discriminable_share"] == 1.0


@pytest.mark.parametrize("name", GRPO_METHODS)
def test_rollout_methods_need_rollouts_and_give_gradients(name: str) -> None:
    method = get_method(name)
    assert method.needs_rollouts and method.needs_reference and not method.needs_negatives
    batch = rollout_batch([[-1.0, -0.5, -2.0], [-0.3, -0.5, -2.0]], [[1.0, 0.0, 0.5], [0.0, 1.0, -1.0]],
                          [[True, False, False]] * 2, requires_grad=True)
    losses, diag = method.objective(batch, method.config_cls(), None)
    losses.sum().backward()
    assert torch.isfinite(batch.token_logps.grad).all() and batch.token_logps.grad.abs().sum() > 0
    assert all(isinstance(v, float) and math.isfinite(v) for v in diag.values())
    with pytest.raises(ValueError, match="rewards"):
        method.objective(dataclasses.replace(batch, rewards=None), method.config_cls(), None)


# ----------------------------------------------------------------------------------------------- configs
def test_configs_validate_and_load_nested_rollout_settings() -> None:
    with pytest.raises(ConfigError, match=r"The 'epsilon' parameter of GrpoConfig must be a float in the range"):
        GrpoConfig(epsilon=0.0)
    with pytest.raises(ConfigError, match=r"The 'lam' parameter of NllGrpoConfig"):
        NllGrpoConfig(lam=-1.0)
    with pytest.raises(ConfigError, match=r"The 'discrimination_threshold' parameter of AdaGrpoConfig"):
        AdaGrpoConfig(discrimination_threshold=1.5)
    with pytest.raises(ConfigError, match=r"The 'decoding' parameter of RolloutConfig must be one of"):
        RolloutConfig(decoding="greedy")
    with pytest.raises(ConfigError, match=r"The 'group_size' parameter of RolloutConfig must be an int"):
        RolloutConfig(group_size=1)
    with pytest.raises(ConfigError, match="'rollouts' parameter of GrpoConfig"):
        GrpoConfig(rollouts={"group_size": 4})
    config = from_dict(AdaGrpoConfig, {"lam": 0.5, "rollouts": {"group_size": 4, "reward": "truth"}})
    assert config.rollouts == RolloutConfig(group_size=4, reward="truth") and config.lam == 0.5
    assert GrpoConfig().rollouts.group_size == 8  # the default G


@pytest.mark.parametrize("name", GRPO_METHODS)
def test_search_spaces_are_valid(name: str) -> None:
    space = search_space(name)
    assert "lr" in space and "beta" in space
