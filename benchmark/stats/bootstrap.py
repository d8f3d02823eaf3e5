"""Percentile bootstrap confidence interval of a mean (or of a mean paired difference)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from benchmark.config import check_number
from benchmark.stats._validate import as_sample, check_resamples, check_seed, paired_differences

_CHUNK_ENTRIES = 1 << 22  # resample-index entries per chunk (~32 MB int64); depends only on n


@dataclasses.dataclass(frozen=True)
class ConfidenceInterval:
    """estimate = sample mean; [low, high] the percentile interval at ``confidence``."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int


def bootstrap_ci(
    a: Any, b: Any | None = None, n_resamples: int = 10000, confidence: float = 0.95, seed: int = 0
) -> ConfidenceInterval:
    r"""Percentile bootstrap CI of mean(a), or of mean(a - b) when ``b`` is given (paired: queries are
    resampled together, keeping each query's pair intact).

    With R resamples of the n values drawn with replacement by a Generator seeded with ``seed``, and
    \bar x^*_r their means: CI = [Q_{\alpha/2}(\bar x^*), Q_{1-\alpha/2}(\bar x^*)], \alpha = 1 - confidence
    (numpy's linear quantile interpolation).

    Args:
        a: (n,) per-query values; b: optional (n,) second system on the same queries.
        n_resamples: bootstrap resamples, int >= 1.
        confidence: in (0, 1).
        seed: numpy Generator seed, int >= 0.
    """
    owner = "bootstrap_ci"
    values = as_sample(owner, "a", a) if b is None else paired_differences(owner, a, b)
    n_resamples = check_resamples(owner, n_resamples)
    check_number(owner, "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_seed(owner, seed)
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    chunk = max(1, _CHUNK_ENTRIES // n)
    means = np.empty(n_resamples, dtype=np.float64)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        index = rng.integers(0, n, size=(rows, n))             # (rows, n) resampled query indices
        means[start : start + rows] = values[index].mean(axis=1)
    alpha = 1.0 - float(confidence)
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return ConfidenceInterval(
        estimate=float(values.mean()),
        low=float(low),
        high=float(high),
        confidence=float(confidence),
        n_resamples=n_resamples,
    )
