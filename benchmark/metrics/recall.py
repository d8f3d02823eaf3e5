"""Recall@k with several relevant items per query."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from benchmark.metrics._ranks import HitRanks, hit_ranks
from benchmark.metrics._validate import check_k


def recall_from_hits(hits: HitRanks, k: int) -> np.ndarray:
    """Batched kernel: (Q,) float64 recall@k from precomputed first-occurrence ranks."""
    k = check_k("recall_at_k", k)
    return hits.found_within(k) / hits.n_relevant


def recall_at_k(
    ranked: Sequence[Iterable[Hashable]], relevant: Sequence[Iterable[Hashable]], k: int
) -> np.ndarray:
    r"""Per-query recall at cutoff k.

    .. math:: \mathrm{Recall@}k(q) = \frac{|\mathrm{rel}(q) \cap \mathrm{top}_k(q)|}{|\mathrm{rel}(q)|}

    Args:
        ranked: Q rankings, each a sequence of hashable ids (ints, or tuples for SIDs), best first.
            An id repeated in a ranking counts once, at its first position (see ``_ranks``).
        relevant: Q sets of relevant ids; an empty set is a BenchmarkError naming the query.
        k: cutoff, an int >= 1. A ranking shorter than k is scored on what it has.

    Returns:
        (Q,) float64 in [0, 1].
    """
    k = check_k("recall_at_k", k)
    return recall_from_hits(hit_ranks(ranked, relevant, owner="recall_at_k"), k)
