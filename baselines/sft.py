"""SFT: multi-positive negative log-likelihood over every clicked item of an impression (paper eq. 1)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark.methods import (
    CandidateBatch,
    Method,
    positive_token_mask,
    register_method,
    scalar,
    sequence_logps,
)
from benchmark.tuning.space import LEARNING_RATE, PREFERENCE_LR, Range

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor


def sft_loss(token_logps: Tensor, mask: Tensor) -> Tensor:
    """Mean sequence NLL over the positives of each impression (paper eq. 1).

        L_SFT = -(1 / |Y_pos|) sum_{y in Y_pos} log pi(y | x),   log pi(y | x) = sum_s log pi(y_s | y_<s, x)

    token_logps: (B, C, S) per-token log-probs. mask: (B, C, S) bool selecting the positive candidates'
    real tokens; a candidate counts in |Y_pos| when any of its tokens is selected. Returns (B,); an
    impression with no selected candidate gets 0.
    """
    seq = sequence_logps(token_logps, mask)  # (B, C)
    n_pos = mask.any(-1).sum(-1).clamp(min=1)  # (B,)
    return -seq.sum(-1) / n_pos


@dataclasses.dataclass(frozen=True)
class SftConfig:
    """SFT has no hyper-parameters of its own: the trainer's budget (steps, lr, batch) is shared by all."""

    # Continued SFT is tuned over the learning rate only (benchmark.tuning).
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {LEARNING_RATE: PREFERENCE_LR}


def sft_objective(
    batch: CandidateBatch, config: SftConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    losses = sft_loss(batch.token_logps, positive_token_mask(batch))
    return losses, {"sft": scalar(losses)}


SFT = register_method(
    Method(
        name="sft",
        description="Multi-positive NLL over every clicked item of an impression (RAD-DPO paper eq. 1).",
        citation="Chen et al. 2025, RAD-DPO, eq. 1",
        config_cls=SftConfig,
        objective=sft_objective,
        needs_negatives=False,
        family="sft",
    )
)
