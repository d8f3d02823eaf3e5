"""GRPO and its generative-retrieval variants: reward-guided alignment on rollouts of the current policy.

GRPO (Shao et al. 2024, DeepSeekMath, sec. 4.1) scores a group of G rollouts per prompt, normalises the rewards
within the group into advantages, and maximises a clipped ratio objective against the rollout policy with a KL
penalty to the frozen reference (the SFT checkpoint). The loss follows TRL's GRPOTrainer documentation
(``loss_type="grpo"``: per-token terms averaged over each sequence, then over the group).

Registered here, all from one objective family over the trainer's rollouts (``benchmark.training.rollouts``):

    grpo       GRPO on the G rollouts
    nll-grpo   NLL of y_w* + lam * GRPO (a fixed mixture; AdaGRPO's baseline)
    eg-grpo    GRPO whose group has y_w* in place of its lowest-scored rollout (EG-GRPO of CQ-SID)
    adagrpo    NLL of y_w* + lam * gate * GRPO, gate per sample = policy-side difficulty AND reward
               discriminability (AdaGRPO)
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from baselines.sft import sft_loss
from benchmark.config import check_number
from benchmark.errors import ConfigError
from benchmark.methods import (
    CandidateBatch,
    Method,
    register_method,
    require,
    scalar,
    sequence_logps,
    take_top,
    top_token_mask,
)
from benchmark.training.rollouts import RolloutConfig
from benchmark.tuning.space import LEARNING_RATE, PREFERENCE_LR, Range

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor

ADVANTAGE_EPS = 1e-4  # TRL GRPOTrainer: (r - mean) / (std + 1e-4)


def group_advantages(rewards: Tensor, mask: Tensor | None = None) -> Tensor:
    """Group-normalised advantages (DeepSeekMath sec. 4.1.2, outcome supervision).

        A_i = (r_i - mean_G(r)) / (std_G(r) + 1e-4),   std with Bessel's correction (divides by G - 1)

    rewards: (B, G); mask: (B, G) bool, the members of each group (default: all). Returns (B, G), 0 outside the
    mask. A group with a single member has std 0 (not NaN) and advantage 0; a group whose rewards are all equal
    has advantages 0 (no signal).
    """
    import torch

    r = rewards.to(torch.promote_types(rewards.dtype, torch.float32))
    m = torch.ones_like(r, dtype=torch.bool) if mask is None else mask.to(torch.bool)
    zero = torch.zeros((), dtype=r.dtype, device=r.device)
    n = m.sum(-1, keepdim=True).to(r.dtype)
    mean = torch.where(m, r, zero).sum(-1, keepdim=True) / n.clamp(min=1)
    centred = torch.where(m, r - mean, zero)
    std = (centred.pow(2).sum(-1, keepdim=True) / (n - 1).clamp(min=1)).sqrt()
    return torch.where(m, centred / (std + ADVANTAGE_EPS), zero)


def grpo_token_loss(
    token_logps: Tensor,
    old_token_logps: Tensor,
    advantages: Tensor,
    epsilon: float,
    beta: float,
    ref_token_logps: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-token GRPO loss and per-token KL estimate (TRL GRPOTrainer; DeepSeekMath eq. 3).

        rho_t   = pi(y_t | x, y_<t) / pi_old(y_t | x, y_<t)
        l_t     = -min(rho_t A, clip(rho_t, 1 - eps, 1 + eps) A) + beta * KL_t
        KL_t    = pi_ref / pi - log(pi_ref / pi) - 1              (the k3 estimator, >= 0)

    token_logps, old_token_logps, ref_token_logps: (..., S) per-token log-probs (policy with grad, rollout
    policy and reference without); advantages: (...) one per sequence. Returns (l, KL), both (..., S).
    ``ref_token_logps`` may be None only when beta = 0.
    """
    import torch

    ratio = torch.exp(token_logps - old_token_logps.detach())
    a = advantages.detach().unsqueeze(-1)
    surrogate = -torch.minimum(ratio * a, torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon) * a)
    if ref_token_logps is None:
        if beta != 0:
            raise ValueError("grpo_token_loss: a KL penalty (beta != 0) needs ref_token_logps")
        return surrogate, torch.zeros_like(surrogate)
    delta = ref_token_logps.detach() - token_logps
    kl = torch.exp(delta) - delta - 1.0
    return surrogate + beta * kl, kl


def grpo_loss(
    token_logps: Tensor,
    old_token_logps: Tensor,
    ref_token_logps: Tensor | None,
    rewards: Tensor,
    token_mask: Tensor,
    group_mask: Tensor,
    epsilon: float,
    beta: float,
) -> tuple[Tensor, dict[str, Tensor]]:
    """GRPO loss per prompt: the per-token loss averaged over each sequence's real tokens, then over the group.

        L(x) = (1 / |G|) sum_{i in G} (1 / |y_i|) sum_t l_{i,t},    A_i = group_advantages(r)_i

    token_logps, old_token_logps, ref_token_logps, token_mask: (B, C, S); rewards, group_mask: (B, C).
    Returns ((B,) losses, {"kl": (B,) mean token KL, "clipped": (B,) share of clipped tokens with
    advantage != 0}); a prompt with an empty group gets 0.
    """
    import torch

    advantages = group_advantages(rewards, group_mask)  # (B, C)
    per_token, kl = grpo_token_loss(token_logps, old_token_logps, advantages, epsilon, beta, ref_token_logps)
    mask = token_mask & group_mask.unsqueeze(-1)
    zero = torch.zeros((), dtype=per_token.dtype, device=per_token.device)
    lengths = mask.sum(-1).clamp(min=1)  # (B, C)
    per_seq = torch.where(mask, per_token, zero).sum(-1) / lengths
    sizes = group_mask.sum(-1).clamp(min=1)
    losses = torch.where(group_mask, per_seq, zero).sum(-1) / sizes
    seq_kl = torch.where(mask, kl, zero).sum(-1) / lengths
    ratio = torch.exp(token_logps - old_token_logps).detach()
    clipped = ((ratio < 1 - epsilon) | (ratio > 1 + epsilon)) & mask & (advantages != 0).unsqueeze(-1)
    return losses, {
        "kl": torch.where(group_mask, seq_kl, zero).sum(-1) / sizes,
        "clipped": clipped.sum((-1, -2)) / mask.sum((-1, -2)).clamp(min=1),
    }


# ---------------------------------------------------------------------------------------------------- configs
@dataclasses.dataclass(frozen=True)
class GrpoConfig:
    """GRPO on G rollouts of the current policy.

    beta = 0.04: the KL coefficient of DeepSeekMath (sec. 5.2.1 training setup); epsilon = 0.2: the clipping
    range of PPO (Schulman et al. 2017) that GRPO keeps, TRL's default. ``rollouts``: G = 8 unconstrained beams
    scored by the production-ranker proxy, invalid SIDs -1 (benchmark.training.rollouts).
    """

    beta: float = 0.04
    epsilon: float = 0.2
    rollouts: RolloutConfig = dataclasses.field(default_factory=RolloutConfig)
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {"beta": Range(0.001, 0.5, log=True), LEARNING_RATE: PREFERENCE_LR}

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_number(owner, "beta", self.beta, low=0.0)
        check_number(owner, "epsilon", self.epsilon, low=0.0, high=1.0, low_open=True, high_open=True)
        if not isinstance(self.rollouts, RolloutConfig):
            raise ConfigError(f"The 'rollouts' parameter of {owner} must be a RolloutConfig. Got {self.rollouts!r} "
                              f"instead.")


@dataclasses.dataclass(frozen=True)
class NllGrpoConfig(GrpoConfig):
    """NLL(y_w*) + lam * GRPO. lam = 0.5: the middle of the mixtures the rl profile runs (0.1, 0.5, 1); ours."""

    lam: float = 0.5
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {
        "lam": Range(0.05, 2.0, log=True), "beta": Range(0.001, 0.5, log=True), LEARNING_RATE: PREFERENCE_LR}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number(type(self).__name__, "lam", self.lam, low=0.0)


@dataclasses.dataclass(frozen=True)
class EgGrpoConfig(GrpoConfig):
    """EG-GRPO: GRPO with y_w* in place of each group's lowest-scored rollout (ties: the first in decoding order).
    CQ-SID does not publish its settings beyond "injecting ground-truth samples"; the rest is GRPO's."""


@dataclasses.dataclass(frozen=True)
class AdaGrpoConfig(NllGrpoConfig):
    """AdaGRPO: NLL(y_w*) + lam * gate * GRPO. The abstract names the two diagnostics, not their thresholds;
    these are OUR choices:

    - policy-side difficulty: max_j log pi(y_j) - log pi(y_w*) > difficulty_margin over the rollouts y_j that
      are not y_w* (margin 0: "y_w* is not the top rollout", the issue's reading);
    - reward discriminability: the share of those rollouts that the reward scores strictly below y_w* is at
      least discrimination_threshold (1.0: y_w* above every rollout negative).

    lam = 1: the GRPO term at full weight where admitted (pure NLL elsewhere).
    """

    lam: float = 1.0
    difficulty_margin: float = 0.0
    discrimination_threshold: float = 1.0
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {
        "lam": Range(0.05, 2.0, log=True), "discrimination_threshold": Range(0.25, 1.0),
        "beta": Range(0.001, 0.5, log=True), LEARNING_RATE: PREFERENCE_LR}

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("AdaGrpoConfig", "difficulty_margin", self.difficulty_margin, low=0.0)
        check_number("AdaGrpoConfig", "discrimination_threshold", self.discrimination_threshold, low=0.0,
                     high=1.0, low_open=True)


# ------------------------------------------------------------------------------------------------- objectives
def _grpo_terms(batch: CandidateBatch, config: GrpoConfig, group: Tensor, method: str) -> tuple[Tensor, dict]:
    rewards = require(batch, "rewards", method)
    old = require(batch, "old_token_logps", method)
    ref = require(batch, "ref_token_logps", method) if config.beta != 0 else batch.ref_token_logps
    return grpo_loss(batch.token_logps, old, ref, rewards, batch.token_mask, group, config.epsilon, config.beta)


def _rollouts(batch: CandidateBatch, method: str) -> Tensor:
    return require(batch, "rollout_mask", method) & batch.cand_mask


def _diagnostics(batch: CandidateBatch, group: Tensor, losses: Tensor, extra: dict) -> dict[str, float]:
    import torch

    rewards = torch.where(group, batch.rewards, torch.zeros((), dtype=batch.rewards.dtype))
    return {"grpo": scalar(losses), "kl": scalar(extra["kl"]), "clipped": scalar(extra["clipped"]),
            "reward_mean": scalar(rewards.sum(-1) / group.sum(-1).clamp(min=1))}


def grpo_objective(batch: CandidateBatch, config: GrpoConfig, state: Any = None) -> tuple[Tensor, dict[str, float]]:
    """GRPO over the G rollouts of each prompt. Returns (B,)."""
    group = _rollouts(batch, "grpo")
    losses, extra = _grpo_terms(batch, config, group, "grpo")
    return losses, _diagnostics(batch, group, losses, extra)


def nll_grpo_objective(
    batch: CandidateBatch, config: NllGrpoConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    """NLL(y_w*) + lam * GRPO. Returns (B,)."""
    group = _rollouts(batch, "nll-grpo")
    grpo, extra = _grpo_terms(batch, config, group, "nll-grpo")
    nll = sft_loss(batch.token_logps, top_token_mask(batch))
    return nll + config.lam * grpo, {**_diagnostics(batch, group, grpo, extra), "nll": scalar(nll)}


def expert_group(batch: CandidateBatch) -> Tensor:
    """The EG-GRPO group: the rollouts with the lowest-reward one (first in slot order on ties) replaced by
    y_w*. (B, C) bool."""
    import torch

    rollouts = _rollouts(batch, "eg-grpo")
    rewards = require(batch, "rewards", "eg-grpo")
    masked = torch.where(rollouts, rewards, torch.full((), float("inf"), dtype=rewards.dtype))
    lowest = torch.nn.functional.one_hot(masked.argmin(-1), rollouts.shape[1]).bool() & rollouts
    top = torch.nn.functional.one_hot(batch.top_positive.long(), rollouts.shape[1]).bool()
    return (rollouts & ~lowest) | (top & batch.cand_mask)


def eg_grpo_objective(
    batch: CandidateBatch, config: EgGrpoConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    """GRPO over the expert-guided group (``expert_group``). Returns (B,)."""
    group = expert_group(batch)
    losses, extra = _grpo_terms(batch, config, group, "eg-grpo")
    return losses, _diagnostics(batch, group, losses, extra)


def adagrpo_gate(batch: CandidateBatch, config: AdaGrpoConfig) -> tuple[Tensor, Tensor, Tensor]:
    """(difficult, discriminable, admitted), each (B,) bool (see AdaGrpoConfig for the two diagnostics).

    A prompt whose rollouts are all y_w* has no negative: neither difficult nor discriminable.
    """
    import torch

    negatives = _rollouts(batch, "adagrpo") & ~batch.is_positive
    has_negative = negatives.any(-1)
    seq = sequence_logps(batch.token_logps, batch.token_mask).detach()  # (B, C)
    top_negative = torch.where(negatives, seq, torch.full((), -float("inf"), dtype=seq.dtype)).max(-1).values
    difficult = has_negative & (top_negative - take_top(seq, batch.top_positive) > config.difficulty_margin)
    rewards = require(batch, "rewards", "adagrpo")
    beaten = negatives & (take_top(rewards, batch.top_positive).unsqueeze(1) > rewards)
    share = beaten.sum(-1) / negatives.sum(-1).clamp(min=1)
    discriminable = has_negative & (share >= config.discrimination_threshold)
    return difficult, discriminable, difficult & discriminable


def adagrpo_objective(
    batch: CandidateBatch, config: AdaGrpoConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    """NLL(y_w*) + lam * gate * GRPO, gate = ``adagrpo_gate``. Returns (B,)."""
    group = _rollouts(batch, "adagrpo")
    grpo, extra = _grpo_terms(batch, config, group, "adagrpo")
    difficult, discriminable, admitted = adagrpo_gate(batch, config)
    nll = sft_loss(batch.token_logps, top_token_mask(batch))
    losses = nll + config.lam * admitted.to(grpo.dtype) * grpo
    return losses, {**_diagnostics(batch, group, grpo, extra), "nll": scalar(nll),
                    "admitted_share": scalar(admitted.float()), "difficult_share": scalar(difficult.float()),
                    "discriminable_share": scalar(discriminable.float())}


_DEEPSEEKMATH = "Shao et al. 2024, DeepSeekMath (GRPO), sec. 4.1"
GRPO = register_method(Method(
    name="grpo", description="GRPO on G rollouts of the current policy, rewarded by the production-ranker proxy.",
    citation=_DEEPSEEKMATH, config_cls=GrpoConfig, objective=grpo_objective, needs_reference=True,
    needs_negatives=False, needs_rollouts=True, family="reward"))
NLL_GRPO = register_method(Method(
    name="nll-grpo", description="NLL of the ordered item + lam * GRPO: a fixed NLL-GRPO mixture.",
    citation=_DEEPSEEKMATH + "; the fixed mixtures AdaGRPO compares against", config_cls=NllGrpoConfig,
    objective=nll_grpo_objective, needs_reference=True, needs_negatives=False, needs_rollouts=True, family="reward"))
EG_GRPO = register_method(Method(
    name="eg-grpo", description="GRPO whose group has the ordered item in place of its lowest-scored rollout.",
    citation="CQ-SID (EG-GRPO: expert-guided GRPO)", config_cls=EgGrpoConfig, objective=eg_grpo_objective,
    needs_reference=True, needs_negatives=False, needs_rollouts=True, family="reward"))
ADAGRPO = register_method(Method(
    name="adagrpo", description="NLL + GRPO admitted per sample by policy difficulty and reward discriminability.",
    citation="AdaGRPO (selective admission of reward guidance)", config_cls=AdaGrpoConfig,
    objective=adagrpo_objective, needs_reference=True, needs_negatives=False, needs_rollouts=True, family="reward"))
