"""Holm's step-down correction for the comparisons of one table."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.errors import BenchmarkError


def holm(pvalues: Any) -> np.ndarray:
    r"""Holm-Bonferroni adjusted p-values (controls the family-wise error rate).

    With the m p-values sorted ascending, p_(1) <= ... <= p_(m):

    .. math:: \tilde p_{(i)} = \min\Big(1, \max_{j \le i} (m - j + 1)\, p_{(j)}\Big)

    Rejecting H_(i) when \tilde p_(i) <= alpha is Holm's procedure. Ties keep their input order (stable
    sort), which does not change the adjusted values.

    Args:
        pvalues: (m,) p-values in [0, 1], in any order.

    Returns:
        (m,) float64 adjusted p-values in the input order; monotone in the raw p-values, capped at 1.
    """
    try:
        p = np.asarray(pvalues, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BenchmarkError(f"holm: 'pvalues' must be a 1-D array of numbers. {exc}") from exc
    if p.ndim != 1:
        raise BenchmarkError(f"holm: 'pvalues' must be 1-D, got shape {p.shape}.")
    bad = ~((p >= 0.0) & (p <= 1.0))  # also catches NaN
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise BenchmarkError(f"holm: p-values must lie in [0, 1]; entry {i} is {p[i]!r}.")
    m = p.shape[0]
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]                        # (m - j + 1) p_(j), j = 1..m
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = adjusted_sorted
    return adjusted
