"""The held-out ordered item (protocol 2): where does the query's target first appear in a ranking?

Protocol 2 scores the one item the user ordered (the split's ``target`` column), not the whole category
node. Its rank is a ``HitRanks`` whose relevant set is that single id, so target hit@K and target MRR are
``hit_rate_from_hits`` / ``mrr_from_hits`` on it, with no second copy of those formulas.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics._ranks import HitRanks, hit_ranks


def check_targets(owner: str, targets: Sequence[int] | np.ndarray, relevant: Sequence[Iterable[int]]) -> np.ndarray:
    """(Q,) int64 targets, one per query, each one of its query's relevant items.

    A target outside the relevant set would make graded NDCG exceed 1 and break "the target is one of the
    category's items", which every secondary metric assumes, so it is an error rather than a silent zero.
    """
    array = np.asarray(targets)
    if array.ndim != 1 or array.shape[0] != len(relevant):
        raise BenchmarkError(
            f"{owner}: 'targets' must hold one item id per query ({len(relevant)}). Got shape {array.shape}."
        )
    if array.size and array.dtype.kind not in "iu":  # floats or objects would compare equal to ids by accident
        raise BenchmarkError(f"{owner}: 'targets' must be integer item ids. Got dtype {array.dtype}.")
    array = array.astype(np.int64)
    for q, (target, rel) in enumerate(zip(array, relevant)):
        if int(target) not in rel:
            raise BenchmarkError(
                f"{owner}: query {q}: target item {int(target)} is not one of its relevant items; "
                "the ordered item must belong to the query's relevant set."
            )
    return array


def target_hit_ranks(
    ranked: Sequence[Iterable[Hashable]], targets: Sequence[Hashable], *, owner: str = "target_hit_ranks"
) -> HitRanks:
    """First-occurrence rank of each query's target (an item id, or a SID at the SID level).

    ``first_rank`` is the target's rank, 0 when it is absent; ``n_relevant`` is 1 for every query.
    """
    return hit_ranks(ranked, [(target,) for target in targets], owner=owner)
