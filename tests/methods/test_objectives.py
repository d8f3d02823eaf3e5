"""Every registered method's objective: hand-computed golden values on one batch, and finite (B,) losses
with gradients on a random batch (the trainer-independent half of the contract suite)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from benchmark.methods import get_method, method_names
from raddpo import QuartileTracker, RadDpoConfig, make_tracker, raddpo_objective
from tests.methods.batches import hand_batch, random_batch, with_rollouts

# Hand batch (tests/methods/batches.py): impression 0 has y_w* avg -0.5 (sum -1), another positive
# (sum -2), negatives with avg -1.5 (sum -3) and -2 (sum -4); impression 1 has y_w* avg -0.25 (sum -0.5)
# and one negative avg -1 (sum -2).
LOG2 = math.log(2.0)


def run(name: str, batch=None, **overrides):
    method = get_method(name)
    config = method.config_cls(**overrides)
    state = method.make_state(config) if method.make_state else None
    batch = batch or hand_batch()
    losses, diagnostics = method.objective(batch, config, state)
    return losses, diagnostics, batch, state


def test_sft_objective_golden() -> None:
    # imp. 0: -(-1 + -2) / 2 = 1.5 ; imp. 1: -(-0.5) / 1 = 0.5
    losses, diag, _, _ = run("sft")
    torch.testing.assert_close(losses, torch.tensor([1.5, 0.5], dtype=torch.float64))
    assert diag["sft"] == pytest.approx(1.0)


def test_dpo_objective_golden() -> None:
    # beta 0.1; reference sums: imp. 0 y_w* -2, c2 -2, c3 -5; imp. 1 y_w* -0.5, c0 -2.
    # imp. 0, (y_w*, c2): (-1 + 2) - (-3 + 2) = 2 -> log(1 + e^-0.2) = 0.5981389
    #         (y_w*, c3): (-1 + 2) - (-4 + 5) = 0 -> log 2 = 0.6931472 ; mean 0.6456430
    # imp. 1, (y_w*, c0): (-0.5 + 0.5) - (-2 + 2) = 0 -> log 2
    losses, diag, _, _ = run("dpo")
    torch.testing.assert_close(losses, torch.tensor([0.6456430249707685, LOG2], dtype=torch.float64))
    assert diag["pairs_per_example"] == 1.5  # (2 + 1) / 2


def test_dpo_requires_reference_log_probs() -> None:
    with pytest.raises(ValueError, match="ref_token_logps"):
        run("dpo", batch=hand_batch(with_reference=False))


def test_simpo_objective_golden() -> None:
    # beta 2, gamma 1 on per-token averages.
    # imp. 0: 2 * (-0.5 + 1.5) - 1 = 1 -> 0.3132617 ; 2 * (-0.5 + 2) - 1 = 2 -> 0.1269280 ; mean 0.2200948
    # imp. 1: 2 * (-0.25 + 1) - 1 = 0.5 -> log(1 + e^-0.5) = 0.4740770
    losses, diag, _, _ = run("simpo")
    torch.testing.assert_close(
        losses, torch.tensor([0.2200948492805977, 0.4740769841801067], dtype=torch.float64)
    )
    assert diag["reward_margin"] == pytest.approx((1.25 + 0.75) / 2)


def test_orpo_objective_golden() -> None:
    # log odds(a) = a - log(1 - e^a): lo(-0.5) = 0.4327521, lo(-1.5) = -1.2475175, lo(-2) = -1.8545865,
    # lo(-0.25) = 1.2586915, lo(-1) = -0.5413249. NLL = -avg(y_w*).
    # imp. 0: 0.5 + 0.1 * log(1 + e^-(0.4327521 + 1.2475175)) = 0.5 + 0.1 * 0.1708592 = 0.5170859
    #         0.5 + 0.1 * log(1 + e^-(0.4327521 + 1.8545865)) = 0.5 + 0.1 * 0.0967059 = 0.5096706
    #         mean 0.5133783
    # imp. 1: 0.25 + 0.1 * log(1 + e^-(1.2586915 + 0.5413249)) = 0.25 + 0.1 * 0.1529753 = 0.2652975
    losses, _, _, _ = run("orpo")
    torch.testing.assert_close(
        losses, torch.tensor([0.513378254039794, 0.26529752836092213], dtype=torch.float64)
    )


def test_raddpo_without_rdrw_golden() -> None:
    # beta 1, w = 1. L_PL = log(1 + 1/S), S = sum_j exp(r_w - r_j).
    # imp. 0: S = e^(-0.5 + 1.5) + e^(-0.5 + 2) = 2.7182818 + 4.4816891 = 7.1999709 -> 0.1300536
    #         L_SFT (both positives) = 1.5 -> 1.6300536
    # imp. 1: S = e^0.75 = 2.1170000 -> log(1.4723666) = 0.3868710 ; L_SFT = 0.5 -> 0.8868710
    losses, diag, _, state = run("raddpo-no-rdrw")
    assert state is None
    torch.testing.assert_close(
        losses, torch.tensor([1.5 + 0.13005362115662167, 0.5 + 0.3868710061149], dtype=torch.float64)
    )
    assert diag["weight_mean"] == 1.0 and diag["rdrw_ready"] == 0.0
    # TLGD: of the 6 real negative tokens, 2 are shared prefix (imp. 0 c2 [5, 9] vs [5, 7]; imp. 1 c0 [3, 4]
    # vs [3, 3])
    assert diag["detached_token_share"] == pytest.approx(2 / 6)


def test_raddpo_without_multilabel_sft_golden() -> None:
    # Same L_PL; L_SFT on y_w* only: imp. 0 -> 1.0 (not 1.5), imp. 1 -> 0.5.
    losses, _, _, _ = run("raddpo-no-mlsft", rdrw=True)
    torch.testing.assert_close(
        losses, torch.tensor([1.0 + 0.13005362115662167, 0.5 + 0.3868710061149], dtype=torch.float64)
    )


def test_raddpo_with_rdrw_weights_golden() -> None:
    # Anchors from a cache [0, 0.2, 0.4, 0.6]: numpy quantiles Q25 = 0.15, Q50 = 0.3, Q75 = 0.45.
    # Similarities with y_w* ([1, 0]): imp. 0 c2 [1, 0] -> 1.0 > Q75 -> w = 0.5; c3 [0, 1] -> 0 < Q25 -> w = 1;
    # imp. 1 c0 [0, 1] -> 0 -> w = 1.
    # imp. 0: S = 0.5 e^1 + e^1.5 = 1.3591409 + 4.4816891 = 5.8408300 -> log(1 + 1/S) = 0.1580362 ; + 1.5
    # imp. 1: unchanged 0.3868710 + 0.5
    method = get_method("raddpo")
    config = method.config_cls(cache_size=4)
    tracker = method.make_state(config)
    tracker.observe([0.0, 0.2, 0.4, 0.6])
    np.testing.assert_allclose(tracker.anchors, [0.15, 0.3, 0.45])
    losses, diag = method.objective(hand_batch(), config, tracker)
    torch.testing.assert_close(
        losses, torch.tensor([1.5 + 0.158036159658971, 0.5 + 0.3868710061149], dtype=torch.float64)
    )
    assert diag["weight_mean"] == pytest.approx((0.5 + 1.0 + 1.0) / 3)
    assert diag["rdrw_ready"] == 1.0
    # the training batch's 3 negative similarities entered the cache: [0.2, 0.4, 0.6] + [1, 0, 0] (last 4)
    np.testing.assert_allclose(tracker.cache(), [0.6, 1.0, 0.0, 0.0])


def test_raddpo_evaluation_batches_do_not_move_the_tracker() -> None:
    method = get_method("raddpo")
    config = method.config_cls(cache_size=4)
    tracker = method.make_state(config)
    batch = random_batch(requires_grad=False)
    method.objective(batch, config, tracker)
    assert tracker.steps == 0 and tracker.pairs_seen == 0
    method.objective(random_batch(), config, tracker)
    assert tracker.steps == 1 and tracker.pairs_seen > 0


def test_raddpo_needs_its_tracker_and_hidden_states() -> None:
    with pytest.raises(ValueError, match="QuartileTracker"):
        raddpo_objective(hand_batch(), RadDpoConfig(), None)
    with pytest.raises(ValueError, match="eos_hidden"):
        raddpo_objective(hand_batch(with_hidden=False), RadDpoConfig(), make_tracker(RadDpoConfig()))


def test_ablations_share_one_objective() -> None:
    objectives = {get_method(name).objective for name in method_names() if name.startswith("raddpo")}
    assert objectives == {raddpo_objective}


@pytest.mark.parametrize("name", method_names())
def test_every_method_gives_finite_per_example_losses_with_gradients(name: str) -> None:
    method = get_method(name)
    config = method.config_cls()
    state = method.make_state(config) if method.make_state else None
    batch = random_batch(B=4)
    if method.needs_rollouts:  # the trainer's rollouts: scored groups and the rollout policy's log-probs
        batch = with_rollouts(batch)
    if not method.needs_reference:
        batch.ref_token_logps = None  # the trainer computes only what the flags ask for
    if not method.needs_hidden:
        batch.eos_hidden = None
    losses, diagnostics = method.objective(batch, config, state)
    assert losses.shape == (4,)
    assert torch.isfinite(losses).all()
    losses.mean().backward()
    grad = batch.token_logps.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert grad[~batch.token_mask].abs().sum() == 0  # padding never receives gradient
    assert diagnostics and all(isinstance(v, float) and math.isfinite(v) for v in diagnostics.values())


def test_raddpo_weighting_path_over_several_steps() -> None:
    # A small cache so the warm-up ends within the test; weights then fall below 1 on average.
    config = RadDpoConfig(cache_size=8, update_every=1)
    tracker = make_tracker(config)
    assert isinstance(tracker, QuartileTracker)
    means = []
    for step in range(4):
        losses, diag = raddpo_objective(random_batch(seed=step), config, tracker)
        assert torch.isfinite(losses).all()
        means.append(diag["weight_mean"])
    assert means[0] == 1.0 and tracker.ready and min(means[1:]) < 1.0
