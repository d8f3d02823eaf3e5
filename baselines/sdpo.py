"""S-DPO: softmax DPO against a frozen reference over all negatives of an impression at once (Chen et al.
2024), the multi-negative peer of RAD-DPO (whose paper cites it as its reference [4])."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark.config import check_number
from benchmark.methods import (
    CandidateBatch,
    Method,
    masked_mean,
    negative_mask,
    register_method,
    require,
    scalar,
    sequence_logps,
    take_top,
)
from benchmark.tuning.space import LEARNING_RATE, PREFERENCE_LR, Range
from raddpo.loss import softmax_contrast_loss

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor


def sdpo_loss(
    policy_pos: Tensor,
    policy_neg: Tensor,
    ref_pos: Tensor,
    ref_neg: Tensor,
    neg_mask: Tensor,
    beta: float,
) -> Tensor:
    """Per-impression S-DPO loss (Chen et al. 2024, the softmax DPO loss).

        L = -log sigmoid(-log sum_j exp(beta * ((log pi(y_j|x) - log pi_ref(y_j|x)) - (log pi(y_w|x) - log pi_ref(y_w|x)))))

    policy_pos, ref_pos: (B,) sequence log-probs (sum over completion tokens) of the preferred item y_w;
    policy_neg, ref_neg: (B, N) those of the negatives; neg_mask: (B, N) bool, the real negatives. Returns (B,);
    an impression with no negative gets loss 0. With one negative it is DPO's loss. It is the softmax contrast
    of ``raddpo.loss.softmax_contrast_loss`` with unit weights and the rewards log pi - log pi_ref.
    """
    import torch

    pos_reward = policy_pos - ref_pos  # (B,)
    neg_rewards = policy_neg - ref_neg  # (B, N)
    return softmax_contrast_loss(pos_reward, neg_rewards, torch.ones_like(neg_rewards), neg_mask, beta)


@dataclasses.dataclass(frozen=True)
class SdpoConfig:
    """beta = 1.0 is OUR choice: a softmax over |Y_neg| negatives with DPO's beta = 0.1 would barely tell the
    negatives apart at the start (S-DPO's paper varies beta; tune it with ``grbench tune``)."""

    beta: float = 1.0
    # What ``grbench tune`` varies (benchmark.tuning): beta over two decades around 1, and the learning rate.
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {"beta": Range(0.05, 5.0, log=True), LEARNING_RATE: PREFERENCE_LR}

    def __post_init__(self) -> None:
        check_number("SdpoConfig", "beta", self.beta, low=0.0, low_open=True)


def sdpo_objective(
    batch: CandidateBatch, config: SdpoConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    """S-DPO loss of y_w* against every unclicked candidate of its impression. Returns (B,)."""
    ref = require(batch, "ref_token_logps", "sdpo").detach()
    policy = sequence_logps(batch.token_logps, batch.token_mask)  # (B, C)
    reference = sequence_logps(ref, batch.token_mask)
    neg = negative_mask(batch)
    policy_pos, ref_pos = take_top(policy, batch.top_positive), take_top(reference, batch.top_positive)
    losses = sdpo_loss(policy_pos, policy, ref_pos, reference, neg, config.beta)
    margin = masked_mean((policy_pos - ref_pos).unsqueeze(-1) - (policy - reference), neg)
    return losses, {"sdpo": scalar(losses), "reward_margin": scalar(margin)}


SDPO = register_method(
    Method(
        name="sdpo",
        description="Softmax DPO against the frozen SFT model: y_w* vs all unclicked candidates at once.",
        citation="Chen, Tan, Zhang et al. 2024, On Softmax Direct Preference Optimization for Recommendation, NeurIPS",
        config_cls=SdpoConfig,
        objective=sdpo_objective,
        needs_reference=True,
    )
)
