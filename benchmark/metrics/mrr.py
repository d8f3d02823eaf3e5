"""Reciprocal rank of the first relevant item (its mean over queries is MRR)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from benchmark.metrics._ranks import HitRanks, hit_ranks


def mrr_from_hits(hits: HitRanks) -> np.ndarray:
    """Batched kernel: (Q,) float64 reciprocal ranks from precomputed first-occurrence ranks."""
    first = hits.first_rank.astype(np.float64)
    out = np.zeros_like(first)
    found = first >= 1
    out[found] = 1.0 / first[found]
    return out


def mrr(ranked: Sequence[Iterable[Hashable]], relevant: Sequence[Iterable[Hashable]]) -> np.ndarray:
    r"""Per-query reciprocal rank over the whole ranking (no cutoff).

    .. math:: \mathrm{RR}(q) = \frac{1}{\min\{\, r : \mathrm{ranked}_r(q) \in \mathrm{rel}(q) \,\}},
              \quad 0 \text{ if no relevant id is ranked}

    Args:
        ranked: Q rankings of hashable ids, best first (duplicates count once, at their first position).
        relevant: Q non-empty sets of relevant ids.

    Returns:
        (Q,) float64 in [0, 1]; the mean over queries is the MRR.
    """
    return mrr_from_hits(hit_ranks(ranked, relevant, owner="mrr"))
