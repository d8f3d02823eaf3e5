"""The trained dual tower and SCI: the loss by hand, seeded training, training-split-only data, the builders.

Uses the bundled all-MiniLM-L6-v2 on the 24-item tiny catalog (conftest) with queries added to its training
rows; a dataset whose valid/test splits raise on access proves the tower never reads them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.errors import ConfigError
from benchmark.sids import SidConfig, build_sids
from benchmark.sids.config import DualTowerConfig
from benchmark.sids.dualtower import (
    apply_head,
    dual_view,
    in_batch_loss,
    tower_key,
    train_heads,
    trained_tower,
    training_pairs,
)
from benchmark.sids.embed import TextEncoder, item_texts

from .conftest import TOPICS, TinyDataset, make_dataset

# batch_size > the 37 training pairs: one full batch per epoch, so the epoch loss is one fixed objective
TOWER = DualTowerConfig(epochs=6, batch_size=64, hidden=32, lr=3e-3)


@dataclasses.dataclass
class QueryDataset(TinyDataset):
    """The tiny catalog with a query per training row (the row's topic, two phrasings per topic) and
    valid/test splits of other queries."""

    valid: pd.DataFrame | None = None
    test: pd.DataFrame | None = None


@dataclasses.dataclass
class PoisonedDataset(TinyDataset):
    """valid/test exist but must never be read by anything that trains the tower or builds its SIDs."""

    @property
    def valid(self) -> pd.DataFrame:
        raise AssertionError("the validation split was read")

    @property
    def test(self) -> pd.DataFrame:
        raise AssertionError("the test split was read")


def query_dataset(cls: type = QueryDataset, **extra) -> TinyDataset:
    base = make_dataset()
    topics = list(TOPICS)
    train = base.train.copy()
    train["query"] = [f"{topics[r % 4]}{' supplies' if (r // 4) % 2 else ''}" for r in range(len(train))]
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(TinyDataset)}
    return cls(**{**fields, "train": train}, **extra)


@pytest.fixture(scope="module")
def frozen() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frozen MiniLM item and query embeddings of the tiny catalog, and its training pairs."""
    dataset = query_dataset()
    encoder = TextEncoder("all-MiniLM-L6-v2")
    queries, q_idx, items = training_pairs(dataset.train)
    return (encoder.encode(item_texts(dataset), progress=False), encoder.encode(queries, progress=False),
            q_idx, items)


def test_in_batch_loss_golden() -> None:
    eye = torch.eye(2)
    distinct = torch.tensor([0, 1])
    # s = [[1, 0], [0, 1]] / t: loss_i = -1 + log(e + 1) = log(1 + e^-1)
    loss = in_batch_loss(eye, eye, distinct, distinct, temperature=1.0)
    assert loss.tolist() == pytest.approx([math.log(1 + math.exp(-1))] * 2)
    # t = 0.5 doubles the logits: log(1 + e^-2)
    assert in_batch_loss(eye, eye, distinct, distinct, 0.5).tolist() == pytest.approx([math.log(1 + math.exp(-2))] * 2)
    # the same query (or the same item) in another column is masked, not a negative: loss 0
    same = torch.tensor([0, 0])
    assert in_batch_loss(eye, eye, same, distinct, 1.0).tolist() == pytest.approx([0.0, 0.0])
    assert in_batch_loss(eye, eye, distinct, same, 1.0).tolist() == pytest.approx([0.0, 0.0])
    # anchors swapped onto the wrong candidates: loss_i = -0 + log(1 + e) = log(1 + e)
    swapped = in_batch_loss(eye, eye.flip(0), distinct, distinct, 1.0)
    assert swapped.tolist() == pytest.approx([math.log(1 + math.e)] * 2)


def test_training_pairs_are_the_distinct_clicks() -> None:
    train = pd.DataFrame({
        "query": ["b", "a", "b"],
        "exposed": [[3, 1, 2], [1, 2], [2, 3]],
        "clicks": [[1, 0, 1], [0, 1], [1, 0]],
    })
    queries, q_idx, items = training_pairs(train)
    assert queries == ["a", "b"]
    assert q_idx.tolist() == [0, 1, 1] and items.tolist() == [2, 2, 3]  # ("b", 2) clicked twice: one pair


def test_untrained_heads_are_the_frozen_encoder(frozen) -> None:
    item_emb = frozen[0]
    for head in ("mlp", "linear"):
        config = dataclasses.replace(TOWER, epochs=1, lr=1e-12, head=head)
        weights, _ = train_heads(*frozen, config=config, symmetric=False)
        np.testing.assert_allclose(apply_head(weights, "item", item_emb, config), item_emb, atol=1e-5)


def test_training_is_seeded_and_the_loss_falls(frozen) -> None:
    weights, losses = train_heads(*frozen, config=TOWER, symmetric=False)
    again, losses_again = train_heads(*frozen, config=TOWER, symmetric=False)
    assert losses == losses_again and weights.keys() == again.keys()
    for name in weights:
        np.testing.assert_array_equal(weights[name], again[name])
    assert losses[-1] < 0.9 * losses[0]
    other, _ = train_heads(*frozen, config=dataclasses.replace(TOWER, seed=1), symmetric=False)
    assert any(not np.array_equal(weights[n], other[n]) for n in weights)
    sci, sci_losses = train_heads(*frozen, config=TOWER, symmetric=True)
    assert sci_losses != losses and sci_losses[-1] < sci_losses[0]
    assert any(not np.array_equal(weights[n], sci[n]) for n in weights)


def test_builders_read_only_the_training_split() -> None:
    dataset = query_dataset(PoisonedDataset)
    config = SidConfig(builder="dualtower", codebook_sizes=(4, 3, 2), tower=TOWER)
    catalog = build_sids(dataset, config)
    assert catalog.codes.shape == (24, 3) and catalog.build_info["builder"] == "dualtower"
    assert catalog.config["builder"] == "dualtower" and catalog.config["tower"]["epochs"] == 6
    info = catalog.build_info
    assert info["tower_loss"][-1] < info["tower_loss"][0] and set(info["seconds"]) >= {"tower", "rq_kmeans"}
    assert build_sids(dataset, config).catalog_hash == catalog.catalog_hash  # cached
    assert build_sids(dataset, config, force=True).catalog_hash == catalog.catalog_hash  # retrained: same bits

    sci_config = dataclasses.replace(config, builder="sci")
    sci = build_sids(dataset, sci_config)
    assert sci.build_info["embedding_dim"] == 2 * 384 and sci.codebooks[0].shape == (4, 768)
    tower = trained_tower(dataset, sci_config, symmetric=True)
    view = dual_view(tower)
    np.testing.assert_allclose(np.linalg.norm(view, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(view[:, :384] * math.sqrt(2), tower.item_vectors, atol=1e-6)
    np.testing.assert_allclose(view[:, 384:] * math.sqrt(2), tower.query_view, atol=1e-6)

    # The tower's key is a function of the training pairs, not of valid/test (or the split hash).
    clean = query_dataset(valid=pd.DataFrame({"query": ["x"]}), test=pd.DataFrame({"query": ["y"]}))
    assert tower_key(clean, config, False) == tower_key(dataset, config, False)
    assert tower_key(dataclasses.replace(clean, split_hash="other"), config, False) == tower_key(clean, config, False)
    assert tower_key(clean, config, True) != tower_key(clean, config, False)


def test_a_tower_needs_text() -> None:
    dataset = query_dataset()
    with pytest.raises(ConfigError, match="must be a text encoder for the dual tower"):
        build_sids(dataset, SidConfig(builder="sci", encoder="cooccurrence", codebook_sizes=(4, 3, 2)))


@pytest.fixture
def dualtower_retriever():
    """``dense-dualtower``, a built-in retriever."""
    from benchmark.retrieval import get_retriever

    return get_retriever("dense-dualtower")


def test_dualtower_retriever_ranks_with_the_trained_towers(dualtower_retriever) -> None:
    dataset = query_dataset(PoisonedDataset)
    config = SidConfig(builder="dualtower", codebook_sizes=(4, 3, 2), tower=TOWER)
    catalog = build_sids(dataset, config)
    ranker = dualtower_retriever.fit(dataset, catalog, config)
    topics = list(TOPICS)
    frame = pd.DataFrame({"query_id": [7, 8], "query": [topics[0], f"{topics[2]} supplies"]})
    rankings = ranker.rank(frame, beam_width=3)
    assert list(rankings.query_ids) == [7, 8]
    tower = trained_tower(dataset, config, symmetric=False)  # the builder's cached tower, not a new one
    encoder = TextEncoder("all-MiniLM-L6-v2")
    for row, query in enumerate(frame["query"]):
        sids, scores = rankings.sids[row], rankings.scores[row]
        assert len(sids) == 3 == len(set(sids)) and all(catalog.is_valid(s) for s in sids)
        assert scores == sorted(scores, reverse=True)
        # the best SID holds the item of highest score <Q(e_q), I(e_i)>
        q = tower.encode_queries(encoder.encode([query], progress=False))[0]
        best = int(np.argmax(tower.item_vectors @ q))
        assert sids[0] == catalog.sid_of(best)
        assert scores[0] == pytest.approx(float(tower.item_vectors[best] @ q), abs=1e-5)
    assert ranker.rank(frame, beam_width=3).sids == rankings.sids  # deterministic
