"""The shared per-query kernel: where in a ranking do the relevant ids first appear?

Recall, hit rate and MRR are all functions of the 1-based ranks at which relevant ids first occur in a
ranking. Computing those ranks once (the only Python loop, O(total ranking length)) and storing them flat
(CSR style: one entry per found relevant id, with its query index) lets every metric be a vectorised numpy
expression, and lets evaluation derive all cutoffs from a single pass.

Duplicates: a ranking is taken as given, positions are list positions (1-based), and an id that occurs
several times counts once, at its first position; a later duplicate still occupies its slot but
contributes nothing. So a ranking [a, a, b] with relevant {b} has b at rank 3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics._validate import check_same_length, relevant_set


@dataclasses.dataclass(frozen=True)
class HitRanks:
    """First-occurrence ranks of the relevant ids found in each ranking.

    ranks:       (H,) int64, 1-based rank of each found relevant id (H = found ids over all queries)
    query:       (H,) int64, the query index of each entry in ``ranks``
    first_rank:  (Q,) int64, rank of the first relevant id of each query, 0 when none was found
    n_relevant:  (Q,) int64, |relevant| per query (always >= 1)
    """

    ranks: np.ndarray
    query: np.ndarray
    first_rank: np.ndarray
    n_relevant: np.ndarray

    @property
    def n_queries(self) -> int:
        return int(self.n_relevant.shape[0])

    def found_within(self, k: int) -> np.ndarray:
        """(Q,) int64: number of distinct relevant ids at ranks 1..k."""
        return np.bincount(self.query[self.ranks <= k], minlength=self.n_queries).astype(np.int64)


def query_hit_ranks(ranking: Iterable[Hashable], relevant: frozenset[Hashable]) -> list[int]:
    """Per-query kernel: ascending 1-based ranks at which relevant ids first occur in ``ranking``."""
    seen: set[Hashable] = set()
    ranks: list[int] = []
    for position, item in enumerate(ranking, start=1):
        if item in relevant and item not in seen:
            seen.add(item)
            ranks.append(position)
            if len(seen) == len(relevant):  # nothing left to find: skip the tail of long rankings
                break
    return ranks


def hit_ranks(
    ranked: Sequence[Iterable[Hashable]], relevant: Sequence[Iterable[Hashable]], *, owner: str = "hit_ranks"
) -> HitRanks:
    """Validate the inputs and run the per-query kernel over every query."""
    check_same_length(owner, ranked, relevant)
    n_queries = len(ranked)
    n_relevant = np.empty(n_queries, dtype=np.int64)
    first_rank = np.zeros(n_queries, dtype=np.int64)
    ranks: list[int] = []
    query: list[int] = []
    for q in range(n_queries):
        rel = relevant_set(owner, q, relevant[q])
        ranking = ranked[q]
        if isinstance(ranking, (str, bytes)) or ranking is None:
            raise BenchmarkError(f"{owner}: ranked[{q}] must be a sequence of ids, got {ranking!r}.")
        try:
            found = query_hit_ranks(ranking, rel)
        except TypeError as exc:  # unhashable id, or a ranking that is not iterable
            raise BenchmarkError(
                f"{owner}: ranked[{q}] must be an iterable of hashable ids (ints or tuples). {exc}"
            ) from exc
        n_relevant[q] = len(rel)
        if found:
            first_rank[q] = found[0]
            ranks.extend(found)
            query.extend([q] * len(found))
    return HitRanks(
        ranks=np.asarray(ranks, dtype=np.int64),
        query=np.asarray(query, dtype=np.int64),
        first_rank=first_rank,
        n_relevant=n_relevant,
    )
