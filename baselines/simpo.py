"""SimPO: reference-free preference loss on length-normalised log-likelihoods with a target margin
(Meng et al. 2024), pairwise over (y_w*, each negative) of the same impressions RAD-DPO sees."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark.config import check_number
from benchmark.methods import (
    CandidateBatch,
    Method,
    average_logps,
    masked_mean,
    negative_mask,
    register_method,
    scalar,
    take_top,
)
from benchmark.tuning.space import LEARNING_RATE, PREFERENCE_LR, Range

if TYPE_CHECKING:  # torch loads with the first loss computed, not with the config classes
    from torch import Tensor


def simpo_loss(chosen_avg_logps: Tensor, rejected_avg_logps: Tensor, beta: float, gamma: float) -> Tensor:
    """Per-pair SimPO loss (Meng et al. 2024, eq. 6).

        L = -log sigmoid(beta / |y_w| * log pi(y_w|x) - beta / |y_l| * log pi(y_l|x) - gamma)

    chosen_avg_logps, rejected_avg_logps: per-token averaged log-probs, broadcastable, e.g. (B,).
    """
    import torch.nn.functional as F

    return -F.logsigmoid(beta * (chosen_avg_logps - rejected_avg_logps) - gamma)


@dataclasses.dataclass(frozen=True)
class SimPoConfig:
    """beta = 2.0 and gamma = 1.0 (gamma / beta = 0.5): Meng et al. (2024) train with beta in [2.0, 2.5]
    and a target margin of about half of beta; these are also the defaults of their released recipes."""

    beta: float = 2.0
    gamma: float = 1.0
    # What ``grbench tune`` varies (benchmark.tuning): Meng et al.'s beta range (2 to 10) widened down to 1,
    # the margin gamma from 0 up to twice its default ratio at beta = 4, and the learning rate.
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {
        "beta": Range(1.0, 10.0, log=True), "gamma": Range(0.0, 4.0), LEARNING_RATE: PREFERENCE_LR,
    }

    def __post_init__(self) -> None:
        check_number("SimPoConfig", "beta", self.beta, low=0.0, low_open=True)
        check_number("SimPoConfig", "gamma", self.gamma, low=0.0)


def simpo_objective(
    batch: CandidateBatch, config: SimPoConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    """Mean SimPO loss over an impression's pairs (y_w*, y_j), y_j in Y_neg. Returns (B,)."""
    avg = average_logps(batch.token_logps, batch.token_mask)  # (B, C)
    chosen = take_top(avg, batch.top_positive).unsqueeze(1)
    pairs = simpo_loss(chosen, avg, config.beta, config.gamma)  # (B, C)
    neg = negative_mask(batch)
    losses = masked_mean(pairs, neg)
    margin = masked_mean(chosen - avg, neg)
    return losses, {"simpo": scalar(losses), "reward_margin": scalar(margin)}


SIMPO = register_method(
    Method(
        name="simpo",
        description="Reference-free pairwise loss on length-normalised log-likelihoods with margin gamma.",
        citation="Meng, Xia and Chen 2024, SimPO, NeurIPS",
        config_cls=SimPoConfig,
        objective=simpo_objective,
    )
)
