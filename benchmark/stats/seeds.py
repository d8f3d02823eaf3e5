"""Aggregation of one number across training seeds (DESIGN.md section 7: mean and standard deviation)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from benchmark.stats._validate import as_sample


@dataclasses.dataclass(frozen=True)
class SeedSummary:
    """mean and sample standard deviation (ddof=1) over n_seeds values; std is NaN when n_seeds == 1."""

    mean: float
    std: float
    n_seeds: int


def seed_summary(values: Any) -> SeedSummary:
    r"""Mean and sample standard deviation of a metric across seeds.

    .. math:: \bar x = \frac1S \sum_s x_s, \qquad s = \sqrt{\frac{1}{S-1} \sum_s (x_s - \bar x)^2}

    One seed gives std = NaN, not 0: a spread cannot be estimated from one run, and 0 would claim a
    perfectly stable method. Reports render a NaN std as "no std" rather than "+- 0".

    Args:
        values: (S,) one number per seed (e.g. a run's mean Recall@10), S >= 1.
    """
    x = as_sample("seed_summary", "values", values)
    n = x.shape[0]
    std = float(np.std(x, ddof=1)) if n > 1 else math.nan
    return SeedSummary(mean=float(x.mean()), std=std, n_seeds=n)
