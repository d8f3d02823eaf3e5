"""Protocol 2 query hold-out (DESIGN.md section 3 "Protocol version 2"): a seeded, size-stratified share of the
queries never enters training, so results can be reported on seen and unseen queries.

Strata are quintiles of |relevant| among the queries that occur in any split: the queries are ranked by
(|relevant|, query id) and cut into ``N_SIZE_BUCKETS`` groups of near-equal size, so ties at a common size
(many category nodes hold the same number of items) never leave a stratum empty. Each stratum holds out
``round(share * stratum size)`` queries (halves rounded up), drawn without replacement.
"""

from __future__ import annotations

import numpy as np

N_SIZE_BUCKETS = 5


def size_buckets(sizes: np.ndarray, n_buckets: int = N_SIZE_BUCKETS) -> np.ndarray:
    """Stratum (0 .. n_buckets - 1) of each query from its |relevant| ``sizes`` (N,), by rank: (N,) int64."""
    sizes = np.asarray(sizes, dtype=np.int64)
    order = np.argsort(sizes, kind="stable")  # ties keep their order: by position, i.e. by query id
    ranks = np.empty(len(sizes), dtype=np.int64)
    ranks[order] = np.arange(len(sizes), dtype=np.int64)
    return ranks * n_buckets // max(len(sizes), 1)


def stratum_quota(size: int, share: float) -> int:
    """Queries held out of a stratum of ``size``: share * size rounded half up."""
    return int(np.floor(share * size + 0.5))


def hold_out_queries(candidates: np.ndarray, sizes: np.ndarray, share: float, rng: np.random.Generator,
                     n_buckets: int = N_SIZE_BUCKETS) -> np.ndarray:
    """Sorted ids of the held-out queries among ``candidates`` (sorted distinct query ids, (N,)) with
    |relevant| ``sizes`` (N,): ``stratum_quota`` of each size stratum, drawn under ``rng`` stratum by stratum."""
    candidates = np.asarray(candidates, dtype=np.int64)
    buckets = size_buckets(sizes, n_buckets)
    held = [np.empty(0, dtype=np.int64)]
    for bucket in range(n_buckets):
        members = candidates[buckets == bucket]
        quota = stratum_quota(len(members), share)
        if quota:
            held.append(rng.choice(members, size=quota, replace=False))
    return np.sort(np.concatenate(held))
