"""``dense-dualtower``: the trained dual tower (``benchmark.sids.dualtower``) as a retrieval baseline.

The same search as ``dense-zeroshot`` (``DenseRanker``: faiss ``IndexFlatIP``, top-N grown until
``beam_width`` distinct SIDs, SIDs kept at first occurrence), with both sides passed through the trained
heads: items are indexed by the item tower ``I(e_i)``, a query is encoded by the frozen text encoder and then
the query tower ``Q(e_q)``. The tower is trained on the training split's (query, clicked item) pairs only,
with ``sid_config.tower`` and ``sid_config.encoder``, and cached (the same tower the ``dualtower`` SID builder
quantises), so fitting after a ``dualtower`` SID build costs no training.

A built-in retriever (``registry.BUILTIN_RETRIEVER_MODULES``): a row of every table that carries
``table1.baselines`` and of the data card. Unlike the other three it is trained (the heads, on training clicks
only), so the tables call the section "retrieval baselines", not "non-learned".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.retrieval.dense import DenseRanker
from benchmark.retrieval.ranking import check_fit_args, item_sids
from benchmark.retrieval.registry import Retriever, register_retriever
from benchmark.sids.config import SidConfig


class TowerQueryEncoder:
    """``encode(texts, batch_size, progress) -> (Q, D)``: the frozen text encoder, then the query tower."""

    def __init__(self, text_encoder: Any, tower: Any) -> None:
        self.text_encoder, self.tower = text_encoder, tower

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
        frozen = self.text_encoder.encode(texts, batch_size, progress=progress)
        return self.tower.encode_queries(frozen)


def fit_dualtower(dataset: Any, catalog: Any, sid_config: SidConfig | None = None) -> DenseRanker:
    """The cached dual tower of ``sid_config`` (``None``: ``SidConfig()``) in a flat inner-product index."""
    from benchmark.sids.dualtower import check_text_encoder, trained_tower
    from benchmark.sids.embed import TextEncoder

    sid_config = SidConfig() if sid_config is None else sid_config
    check_text_encoder(sid_config)
    n_items = check_fit_args("dense-dualtower", dataset, catalog)
    tower = trained_tower(dataset, sid_config, symmetric=False)
    encoder = TowerQueryEncoder(TextEncoder(sid_config.encoder, sid_config.pooling, sid_config.max_length), tower)
    return DenseRanker(encoder, tower.item_vectors, item_sids(catalog, n_items), sid_config.batch_size)


RETRIEVER = Retriever(
    name="dense-dualtower",
    label="Dual tower (MiniLM + trained heads)",
    description="query tower vs item tower trained on training clicks (in-batch softmax), faiss top-K",
    fit=fit_dualtower,
)
register_retriever(RETRIEVER)
