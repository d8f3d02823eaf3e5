"""``dense-zeroshot``: the query text embedded by the SID encoder, matched against the item embeddings.

The query is encoded by ``benchmark.sids.embed.TextEncoder`` with the SidConfig's encoder, pooling and
max_length (unit-norm, exactly as ``embed_items`` encodes item texts), and searched in a faiss
``IndexFlatIP`` over the cached item embeddings (``embed_items``), so a score is the cosine similarity.
Items come back by similarity descending (faiss breaks exact ties by item id); their SIDs are kept at first
occurrence. A query retrieves top-N items with N = 2 * beam_width first and N doubled until it has
``beam_width`` distinct SIDs or N covers the catalog (a SID may hold several items, so N > beam_width).

Query texts are encoded in one ``encode`` call over the frame's distinct queries sorted by text, so the same
frame gives the same bits on every call. Nothing is trained: the encoder is zero-shot for this catalog.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchmark.errors import ConfigError
from benchmark.retrieval.ranking import check_fit_args, check_rank_args, extend_ranking, item_sids
from benchmark.retrieval.registry import Retriever, register_retriever
from benchmark.sids.config import COOCCURRENCE_ENCODER, SidConfig

if TYPE_CHECKING:  # benchmark.inference imports torch: only the suite's evaluation needs it
    from benchmark.inference import Rankings


class DenseRanker:
    def __init__(self, encoder: Any, item_embeddings: np.ndarray, sid_of: list[tuple[int, ...]],
                 batch_size: int = 64) -> None:
        import faiss

        emb = np.ascontiguousarray(item_embeddings, dtype=np.float32)  # (N, D), unit-norm rows
        self.index = faiss.IndexFlatIP(emb.shape[1])
        self.index.add(emb)
        self.encoder = encoder
        self.sid_of = sid_of
        self.batch_size = batch_size

    def encode(self, queries: list[str]) -> np.ndarray:
        """(Q, D) float32 unit-norm query embeddings."""
        return np.ascontiguousarray(self.encoder.encode(queries, self.batch_size, progress=False), np.float32)

    def search(self, query_emb: np.ndarray, beam_width: int) -> list[tuple[list[tuple[int, ...]], list[float]]]:
        """Per query row of ``query_emb`` (Q, D): (SIDs, scores), growing top-N until beam_width SIDs."""
        n_items = self.index.ntotal
        results: list[tuple[list[tuple[int, ...]], list[float]] | None] = [None] * len(query_emb)
        pending = np.arange(len(query_emb))
        n = min(2 * beam_width, n_items)
        while len(pending):
            scores, items = self.index.search(query_emb[pending], n)  # (P, n) each, best first
            still = []
            for row, q in enumerate(pending):
                sids: list[tuple[int, ...]] = []
                sid_scores: list[float] = []
                keep = items[row] >= 0
                extend_ranking(sids, sid_scores, set(), items[row][keep], scores[row][keep], self.sid_of,
                               beam_width)
                if len(sids) < beam_width and n < n_items:
                    still.append(q)
                else:
                    results[q] = (sids, sid_scores)
            pending = np.asarray(still, dtype=np.int64)
            n = min(2 * n, n_items)
        return results  # type: ignore[return-value]

    def rank(self, frame: pd.DataFrame, beam_width: int) -> Rankings:
        from benchmark.inference import Rankings

        check_rank_args("DenseRanker", frame, beam_width)
        start = time.perf_counter()
        queries = [str(q) for q in frame["query"]]
        distinct = sorted(set(queries))
        by_query = dict(zip(distinct, self.search(self.encode(distinct), beam_width)))
        sids = [list(by_query[q][0]) for q in queries]
        scores = [list(by_query[q][1]) for q in queries]
        return Rankings(frame["query_id"].to_numpy(), sids, scores, time.perf_counter() - start)


def fit_dense(dataset: Any, catalog: Any, sid_config: SidConfig | None = None) -> DenseRanker:
    """Item embeddings of ``sid_config`` (cached by ``embed_items``) in a flat inner-product index, and the same
    encoder for queries. ``sid_config=None`` means ``SidConfig()`` (the default MiniLM)."""
    from benchmark.sids.embed import TextEncoder, embed_items

    sid_config = SidConfig() if sid_config is None else sid_config
    if sid_config.encoder == COOCCURRENCE_ENCODER:
        raise ConfigError(
            f"The 'encoder' parameter of SidConfig must be a text encoder for retriever 'dense-zeroshot'. "
            f"Got {COOCCURRENCE_ENCODER!r} instead: co-occurrence embeddings have no query encoder."
        )
    n_items = check_fit_args("dense-zeroshot", dataset, catalog)
    item_embeddings, _ = embed_items(dataset, sid_config)
    encoder = TextEncoder(sid_config.encoder, sid_config.pooling, sid_config.max_length)
    return DenseRanker(encoder, item_embeddings, item_sids(catalog, n_items), sid_config.batch_size)


register_retriever(Retriever(
    name="dense-zeroshot",
    label="Zero-shot dense (MiniLM)",
    description="cosine similarity of the query text and item texts under the SID encoder, no training",
    fit=fit_dense,
))
