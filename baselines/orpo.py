"""ORPO: chosen NLL plus an odds-ratio preference term on length-normalised likelihoods (Hong et al. 2024),
pairwise over (y_w*, each negative) of the same impressions RAD-DPO sees."""

from __future__ import annotations

import dataclasses
import math
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

_LOG_HALF = -math.log(2.0)


def log1mexp(a: Tensor) -> Tensor:
    """log(1 - exp(a)) for a <= 0, accurate everywhere (Maechler 2012): log(-expm1(a)) near 0, where
    1 - exp(a) cancels, and log1p(-exp(a)) for a < -log 2, where expm1 would lose the small exp(a)."""
    import torch

    return torch.where(a > _LOG_HALF, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


def log_odds(avg_logps: Tensor) -> Tensor:
    """log(p / (1 - p)) for log p = ``avg_logps`` <= 0, computed stably.

    A log-prob within machine epsilon of 0 (p = 1 in floating point, infinite odds) is clamped to -eps so
    the result stays finite (about 15.9 in fp32); the clamp only touches values that are already 0 to
    working precision.
    """
    import torch

    eps = torch.finfo(avg_logps.dtype).eps
    a = avg_logps.clamp(max=-eps)
    return a - log1mexp(a)


def orpo_loss(chosen_avg_logps: Tensor, rejected_avg_logps: Tensor, chosen_nll: Tensor, lam: float) -> Tensor:
    """Per-pair ORPO loss (Hong et al. 2024, eqs. 2-7).

        L = L_NLL(y_w) + lam * -log sigmoid(log odds(y_w) - log odds(y_l)),
        odds(y) = P(y|x) / (1 - P(y|x)),  log P(y|x) = (1/|y|) sum_s log pi(y_s | y_<s, x)

    chosen_avg_logps, rejected_avg_logps: per-token averaged log-probs; chosen_nll: the chosen's NLL
    term (the method passes the length-normalised NLL, -chosen_avg_logps). All broadcastable, e.g. (B,).
    """
    import torch.nn.functional as F

    ratio = log_odds(chosen_avg_logps) - log_odds(rejected_avg_logps)
    return chosen_nll - lam * F.logsigmoid(ratio)


@dataclasses.dataclass(frozen=True)
class OrpoConfig:
    """lam = 0.1: the odds-ratio weight lambda of Hong et al. (2024)'s fine-tuning runs (TRL's ORPO default)."""

    lam: float = 0.1
    # What ``grbench tune`` varies (benchmark.tuning): lambda around Hong et al.'s 0.1 to 1.0, and the learning rate.
    SEARCH_SPACE: ClassVar[dict[str, Range]] = {"lam": Range(0.01, 1.0, log=True), LEARNING_RATE: PREFERENCE_LR}

    def __post_init__(self) -> None:
        check_number("OrpoConfig", "lam", self.lam, low=0.0)


def orpo_objective(
    batch: CandidateBatch, config: OrpoConfig, state: Any = None
) -> tuple[Tensor, dict[str, float]]:
    """Mean ORPO loss over an impression's pairs (y_w*, y_j), y_j in Y_neg. Returns (B,)."""
    avg = average_logps(batch.token_logps, batch.token_mask)  # (B, C)
    chosen = take_top(avg, batch.top_positive).unsqueeze(1)  # (B, 1)
    pairs = orpo_loss(chosen, avg, -chosen, config.lam)  # (B, C)
    neg = negative_mask(batch)
    losses = masked_mean(pairs, neg)
    return losses, {"orpo": scalar(losses), "nll": scalar(-chosen)}


ORPO = register_method(
    Method(
        name="orpo",
        description="Length-normalised NLL of y_w* plus lambda * odds-ratio term against each negative.",
        citation="Hong, Lee and Thorne 2024, ORPO, EMNLP",
        config_cls=OrpoConfig,
        objective=orpo_objective,
    )
)
