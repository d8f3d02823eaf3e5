"""DPO: the sigmoid preference loss against a frozen reference (Rafailov et al. 2023), pairwise over
(y_w*, each negative) of the same impressions RAD-DPO sees."""

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

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    beta: float,
) -> Tensor:
    """Per-pair DPO loss (Rafailov et al. 2023, eq. 7).

        L = -log sigmoid(beta * ((log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))))

    Every argument is a sequence log-prob (sum over completion tokens), all of one broadcastable shape,
    e.g. (B,); returns that shape.
    """
    import torch.nn.functional as F

    margin = (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)
    return -F.logsigmoid(beta * margin)


@dataclasses.dataclass(frozen=True)
class DpoConfig:
    """beta = 0.1: the KL-penalty strength of most experiments in Rafailov et al. (2023) (TRL's default)."""

    beta: float = 0.1
    # What ``grbench tune`` varies (benchmark.tuning): the usual DPO range of beta, and the learning rate.
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {"beta": Range(0.01, 1.0, log=True), LEARNING_RATE: PREFERENCE_LR}

    def __post_init__(self) -> None:
        check_number("DpoConfig", "beta", self.beta, low=0.0, low_open=True)


def dpo_objective(
    batch: CandidateBatch, config: DpoConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    """Mean DPO loss over an impression's pairs (y_w*, y_j), y_j in Y_neg. Returns (B,)."""
    ref = require(batch, "ref_token_logps", "dpo").detach()
    policy = sequence_logps(batch.token_logps, batch.token_mask)  # (B, C)
    reference = sequence_logps(ref, batch.token_mask)
    pairs = dpo_loss(
        take_top(policy, batch.top_positive).unsqueeze(1),
        policy,
        take_top(reference, batch.top_positive).unsqueeze(1),
        reference,
        config.beta,
    )  # (B, C)
    neg = negative_mask(batch)
    losses = masked_mean(pairs, neg)
    # Diagnostics are per-example means so the trainer can average them over micro-batches and ranks.
    return losses, {"dpo": scalar(losses), "pairs_per_example": scalar(neg.sum(-1).float())}


DPO = register_method(
    Method(
        name="dpo",
        description="Pairwise sigmoid DPO against the frozen SFT model: y_w* vs each unclicked candidate.",
        citation="Rafailov et al. 2023, Direct Preference Optimization, NeurIPS",
        config_cls=DpoConfig,
        objective=dpo_objective,
        needs_reference=True,
    )
)
