"""Graded NDCG@k of the ordered item: the target has grade 2, the other relevant items grade 1."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from benchmark.metrics._ranks import HitRanks, hit_ranks
from benchmark.metrics._validate import check_k
from benchmark.metrics.target import check_targets, target_hit_ranks

TARGET_GRADE = 2  # the item the user ordered
OTHER_GRADE = 1  # another item of the query's category: a sensible, but not the chosen, answer


def _gain(grade: int) -> float:
    return 2.0**grade - 1.0


def ndcg_from_hits(hits: HitRanks, target: HitRanks, k: int) -> np.ndarray:
    """Batched kernel: (Q,) float64 graded NDCG@k.

    hits: first-occurrence ranks of every relevant item (the target included, so ``hits.n_relevant`` counts it).
    target: the target's rank (``target_hit_ranks``; ``first_rank`` 0 when absent).
    """
    k = check_k("target_ndcg_at_k", k)
    n_queries = hits.n_queries
    within = hits.ranks <= k
    # every found relevant item first earns the grade-1 gain; the target then adds the difference to grade 2
    dcg = np.bincount(hits.query[within], weights=_gain(OTHER_GRADE) / np.log2(hits.ranks[within] + 1.0),
                      minlength=n_queries).astype(np.float64)
    t = target.first_rank
    t_in = (t >= 1) & (t <= k)
    dcg[t_in] += (_gain(TARGET_GRADE) - _gain(OTHER_GRADE)) / np.log2(t[t_in] + 1.0)
    # ideal: the target at rank 1, the other relevant items at ranks 2..min(k, |rel|), so by the same split
    # IDCG = (gain2 - gain1) / log2(2) + sum_{r=1}^{min(k,|rel|)} gain1 / log2(r+1)
    n_ideal = np.minimum(hits.n_relevant, k)
    ranks = np.arange(1, int(n_ideal.max(initial=0)) + 1, dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(_gain(OTHER_GRADE) / np.log2(ranks + 1.0))])
    idcg = (_gain(TARGET_GRADE) - _gain(OTHER_GRADE)) + cum[n_ideal]
    return dcg / idcg


def target_ndcg_at_k(
    ranked: Sequence[Iterable[int]], relevant: Sequence[Iterable[int]], targets: Sequence[int], k: int
) -> np.ndarray:
    r"""Per-query graded NDCG at cutoff k of the ordered item.

    .. math:: \mathrm{DCG@}k(q) = \sum_{r \le k} \frac{2^{g_q(\mathrm{ranked}_r)} - 1}{\log_2(r + 1)},\quad
              g_q(i) = 2 \text{ if } i = t_q,\ 1 \text{ if } i \in \mathrm{rel}(q) \setminus \{t_q\},\ 0 \text{ else}

    .. math:: \mathrm{NDCG@}k(q) = \mathrm{DCG@}k(q) / \mathrm{IDCG@}k(q), \quad
              \mathrm{IDCG@}k(q) = 3 + \sum_{r=2}^{\min(k, |\mathrm{rel}(q)|)} \frac{1}{\log_2(r + 1)}

    Args:
        ranked: Q item rankings, best first (duplicates count once, at their first position).
        relevant: Q non-empty sets of relevant item ids.
        targets: Q ordered item ids, each in its query's relevant set.
        k: cutoff, an int >= 1.

    Returns:
        (Q,) float64 in [0, 1]; 1 exactly when the target is first and the next ranks hold the other relevant items.
    """
    k = check_k("target_ndcg_at_k", k)
    hits = hit_ranks(ranked, relevant, owner="target_ndcg_at_k")
    targets = check_targets("target_ndcg_at_k", targets, [frozenset(r) for r in relevant])
    return ndcg_from_hits(hits, target_hit_ranks(ranked, targets.tolist(), owner="target_ndcg_at_k"), k)
