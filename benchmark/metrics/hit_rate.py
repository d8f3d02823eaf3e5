"""Hit rate@k: did any relevant item make the top k?"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from benchmark.metrics._ranks import HitRanks, hit_ranks
from benchmark.metrics._validate import check_k


def hit_rate_from_hits(hits: HitRanks, k: int) -> np.ndarray:
    """Batched kernel: (Q,) float64 hit@k from precomputed first-occurrence ranks."""
    k = check_k("hit_rate_at_k", k)
    # the first relevant rank alone decides a hit; 0 means none was found
    return ((hits.first_rank >= 1) & (hits.first_rank <= k)).astype(np.float64)


def hit_rate_at_k(
    ranked: Sequence[Iterable[Hashable]], relevant: Sequence[Iterable[Hashable]], k: int
) -> np.ndarray:
    r"""Per-query hit rate at cutoff k.

    .. math:: \mathrm{Hit@}k(q) = \mathbb{1}\left[\,|\mathrm{rel}(q) \cap \mathrm{top}_k(q)| \ge 1\,\right]

    Args:
        ranked: Q rankings of hashable ids, best first (duplicates count once, at their first position).
        relevant: Q non-empty sets of relevant ids.
        k: cutoff, an int >= 1.

    Returns:
        (Q,) float64 of 0.0 / 1.0; its mean over queries is the hit rate.
    """
    k = check_k("hit_rate_at_k", k)
    return hit_rate_from_hits(hit_ranks(ranked, relevant, owner="hit_rate_at_k"), k)
