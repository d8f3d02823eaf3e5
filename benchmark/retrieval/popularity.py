"""``popularity``: every query gets the same ranking, the most clicked training items first.

Items are ordered by ``dataset.item_popularity`` (training clicks) descending, ties by item id, mapped to
their SIDs in that order; each SID is kept at its first occurrence and the list is cut at ``beam_width``.
A SID's score is the popularity of the item that put it there.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchmark.retrieval.ranking import (
    check_fit_args,
    check_rank_args,
    extend_ranking,
    item_sids,
    popularity_order,
)
from benchmark.retrieval.registry import Retriever, register_retriever

if TYPE_CHECKING:  # benchmark.inference imports torch: only the suite's evaluation needs it
    from benchmark.inference import Rankings


class PopularityRanker:
    def __init__(self, popularity: np.ndarray, sid_of: list[tuple[int, ...]]) -> None:
        self.order = popularity_order(popularity)
        self.popularity = np.asarray(popularity, dtype=np.float64)
        self.sid_of = sid_of

    def ranking(self, beam_width: int) -> tuple[list[tuple[int, ...]], list[float]]:
        sids: list[tuple[int, ...]] = []
        scores: list[float] = []
        extend_ranking(sids, scores, set(), self.order, self.popularity[self.order], self.sid_of, beam_width)
        return sids, scores

    def rank(self, frame: pd.DataFrame, beam_width: int) -> Rankings:
        from benchmark.inference import Rankings

        check_rank_args("PopularityRanker", frame, beam_width)
        start = time.perf_counter()
        sids, scores = self.ranking(beam_width)
        # one list per query, each its own copy so that a caller editing one ranking edits no other
        return Rankings(
            frame["query_id"].to_numpy(),
            [list(sids) for _ in range(len(frame))],
            [list(scores) for _ in range(len(frame))],
            time.perf_counter() - start,
        )


def fit_popularity(dataset: Any, catalog: Any, sid_config: Any = None) -> PopularityRanker:
    """The popularity ranker of ``dataset``'s training clicks; ``sid_config`` is unused."""
    n_items = check_fit_args("popularity", dataset, catalog)
    return PopularityRanker(dataset.item_popularity, item_sids(catalog, n_items))


register_retriever(Retriever(
    name="popularity",
    label="Popularity",
    description="the most clicked training items, the same ranking for every query",
    fit=fit_popularity,
))
