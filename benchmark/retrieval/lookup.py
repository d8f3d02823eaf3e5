"""``query-lookup``: a parameter-free table from query string to the items bought or clicked under it.

For a query string q, every training row whose ``query`` is exactly q votes for items::

    score(q, i) = 2 * orders(q, i) + clicks(q, i)

where ``orders`` counts rows with ``target == i`` and ``clicks`` counts rows where i was exposed with click 1
(an ordered item is usually clicked as well, so it collects both). Items with a positive score are ranked by
score descending, ties by global training popularity descending, then by item id; their SIDs are kept at
first occurrence. The ranking is then completed from the global popularity order (score 0) so it holds
``beam_width`` SIDs whenever the catalog has that many. A query never seen in training gets the global
popularity ranking only: that is all a lookup table can do for it.
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

ORDER_WEIGHT = 2  # an order counts as two clicks: the strongest evidence a training row has
CLICK_WEIGHT = 1

if TYPE_CHECKING:  # benchmark.inference imports torch: only the suite's evaluation needs it
    from benchmark.inference import Rankings


def query_item_scores(train: pd.DataFrame) -> pd.DataFrame:
    """Columns query, item, score (= 2*orders + clicks > 0), one row per (query, item) seen in training."""
    orders = train.groupby(["query", "target"]).size().rename_axis(["query", "item"]) * ORDER_WEIGHT
    exposed = train[["query", "exposed", "clicks"]].explode(["exposed", "clicks"]).dropna()
    clicked = exposed[exposed["clicks"].astype(np.int64) == 1]
    clicks = clicked.groupby(["query", "exposed"]).size().rename_axis(["query", "item"]) * CLICK_WEIGHT
    scores = orders.add(clicks, fill_value=0).rename("score").reset_index()
    scores["item"] = scores["item"].astype(np.int64)
    scores["score"] = scores["score"].astype(np.float64)
    return scores[scores["score"] > 0]


class QueryLookupRanker:
    def __init__(self, table: pd.DataFrame, popularity: np.ndarray, sid_of: list[tuple[int, ...]]) -> None:
        self.popularity = np.asarray(popularity, dtype=np.float64)
        self.order = popularity_order(self.popularity)
        self.sid_of = sid_of
        table = table.assign(pop=self.popularity[table["item"].to_numpy()])
        # score desc, popularity desc, item id asc
        table = table.sort_values(["query", "score", "pop", "item"], ascending=[True, False, False, True])
        self.table: dict[str, tuple[np.ndarray, np.ndarray]] = {
            str(query): (group["item"].to_numpy(), group["score"].to_numpy())
            for query, group in table.groupby("query", sort=False)
        }

    def ranking(self, query: str, beam_width: int) -> tuple[list[tuple[int, ...]], list[float]]:
        sids: list[tuple[int, ...]] = []
        scores: list[float] = []
        seen: set[tuple[int, ...]] = set()
        items, item_scores = self.table.get(query, ((), ()))
        extend_ranking(sids, scores, seen, items, item_scores, self.sid_of, beam_width)
        extend_ranking(sids, scores, seen, self.order, np.zeros(len(self.order)), self.sid_of, beam_width)
        return sids, scores

    def rank(self, frame: pd.DataFrame, beam_width: int) -> Rankings:
        from benchmark.inference import Rankings

        check_rank_args("QueryLookupRanker", frame, beam_width)
        start = time.perf_counter()
        cache: dict[str, tuple[list[tuple[int, ...]], list[float]]] = {}
        all_sids, all_scores = [], []
        for query in frame["query"]:
            query = str(query)
            if query not in cache:
                cache[query] = self.ranking(query, beam_width)
            sids, scores = cache[query]
            all_sids.append(list(sids))
            all_scores.append(list(scores))
        return Rankings(frame["query_id"].to_numpy(), all_sids, all_scores, time.perf_counter() - start)


def fit_query_lookup(dataset: Any, catalog: Any, sid_config: Any = None) -> QueryLookupRanker:
    """The lookup table of ``dataset.train``; ``sid_config`` is unused."""
    n_items = check_fit_args("query-lookup", dataset, catalog)
    return QueryLookupRanker(query_item_scores(dataset.train), dataset.item_popularity, item_sids(catalog, n_items))


register_retriever(Retriever(
    name="query-lookup",
    label="Query lookup",
    description="items ordered (x2) or clicked under the exact query string in training, then popularity",
    fit=fit_query_lookup,
))
