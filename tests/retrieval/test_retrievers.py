"""The non-learned baselines: hand-computed golden rankings on a 6-item catalog, a contract run over every
registered retriever on the synthetic dataset (real MiniLM SIDs), and an end-to-end score with the evaluator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from benchmark.data import build_dataset
from benchmark.errors import ConfigError, DataError
from benchmark.evaluation import EvalConfig, score_rankings
from benchmark.inference import Rankings
from benchmark.registry import UnknownNameError
from benchmark.retrieval import Retriever, get_retriever, is_retriever, register_retriever, retriever_names
from benchmark.sids import SidCatalog, SidConfig, build_sids

# ------------------------------------------------------------------------------- a hand-made 6-item setting
# item:        0       1       2       3       4       5
CODES = [[0, 0], [0, 1], [0, 1], [1, 0], [1, 1], [2, 0]]  # items 1 and 2 share SID (0, 1)
POPULARITY = np.array([1, 5, 5, 0, 3, 2])
# popularity order: 1, 2 (tie with 1, larger id), 4, 5, 0, 3 -> SIDs (0,1) (0,1)dup (1,1) (2,0) (0,0) (1,0)
POPULARITY_SIDS = [(0, 1), (1, 1), (2, 0), (0, 0), (1, 0)]
POPULARITY_SCORES = [5.0, 3.0, 2.0, 1.0, 0.0]


@dataclasses.dataclass
class HandDataset:
    name: str
    train: pd.DataFrame
    item_popularity: np.ndarray


def hand_setting() -> tuple[HandDataset, SidCatalog]:
    rows = [  # (query, exposed, clicks, target)
        ("solder", [3, 0], [1, 1], 3),  # item 3: 2*1 + 1 = 3
        ("solder", [0, 5], [1, 0], 0),  # item 0: 2*1 + 1 (row above) + 1 = 4; item 5: exposed, not clicked
        ("tape", [4], [1], 4),  # items 4 and 0 tie at 3 under "tape": popularity 3 > 1 puts item 4 first
        ("tape", [0], [1], 0),
    ]
    train = pd.DataFrame(rows, columns=["query", "exposed", "clicks", "target"])
    catalog = SidCatalog(np.array(CODES), (3, 2), POPULARITY, "split-hand")
    return HandDataset("hand", train, POPULARITY), catalog


def frame(*queries: str) -> pd.DataFrame:
    return pd.DataFrame({"query_id": np.arange(len(queries)) + 100, "query": list(queries)})


def test_popularity_golden_ranking() -> None:
    ranker = get_retriever("popularity").fit(*hand_setting(), None)
    rankings = ranker.rank(frame("solder", "anything"), beam_width=8)
    assert isinstance(rankings, Rankings)
    assert rankings.sids == [POPULARITY_SIDS, POPULARITY_SIDS]
    assert rankings.scores == [POPULARITY_SCORES, POPULARITY_SCORES]
    assert list(rankings.query_ids) == [100, 101]
    assert ranker.rank(frame("x"), beam_width=3).sids == [POPULARITY_SIDS[:3]]


def test_lookup_golden_ranking_ties_and_unseen_query() -> None:
    ranker = get_retriever("query-lookup").fit(*hand_setting(), None)
    rankings = ranker.rank(frame("solder", "tape", "microscope"), beam_width=8)
    solder, tape, unseen = rankings.sids
    # item 0 (score 4) then item 3 (score 3), completed with popularity at score 0
    assert solder == [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0)]
    assert rankings.scores[0] == [4.0, 3.0, 0.0, 0.0, 0.0]
    assert tape[:2] == [(1, 1), (0, 0)]  # equal scores: the more popular item 4 first
    assert unseen == POPULARITY_SIDS and rankings.scores[2] == [0.0] * 5
    assert ranker.rank(frame("solder"), beam_width=1).sids == [[(0, 0)]]


def test_rank_rejects_bad_arguments() -> None:
    ranker = get_retriever("query-lookup").fit(*hand_setting(), None)
    with pytest.raises(ConfigError, match="'beam_width' parameter of QueryLookupRanker must be an int"):
        ranker.rank(frame("solder"), beam_width=0)
    with pytest.raises(DataError, match="lacks column"):
        ranker.rank(pd.DataFrame({"query_id": [1]}), beam_width=4)
    dataset, _ = hand_setting()
    small = SidCatalog(np.array(CODES[:3]), (3, 2), POPULARITY[:3], "s")
    with pytest.raises(DataError, match="3 items but dataset 'hand' has 6"):
        get_retriever("popularity").fit(dataset, small, None)


def test_dense_needs_a_text_encoder() -> None:
    with pytest.raises(ConfigError, match="'encoder' parameter of SidConfig must be a text encoder"):
        get_retriever("dense-zeroshot").fit(*hand_setting(), SidConfig(encoder="cooccurrence"))


# ----------------------------------------------------------------------------------------------- registry
def test_registry_names_labels_and_suggestions() -> None:
    assert retriever_names() == ["dense-dualtower", "dense-zeroshot", "popularity", "query-lookup"]
    assert [get_retriever(n).label for n in retriever_names()] == [
        "Dual tower (MiniLM + trained heads)", "Zero-shot dense (MiniLM)", "Popularity", "Query lookup"
    ]
    assert is_retriever("popularity") and not is_retriever("dpo") and not is_retriever(None)
    with pytest.raises(UnknownNameError, match="Did you mean 'popularity'.*Available: dense-dualtower, dense-zeroshot"):
        get_retriever("popularty")
    with pytest.raises(ValueError, match="already registered"):
        register_retriever(get_retriever("popularity"))
    with pytest.raises(ValueError, match="Retriever.label must be a non-empty string"):
        Retriever(name="x", label="", description="d", fit=lambda *a: None)


# ------------------------------------------------------------------------ every retriever on synthetic data
@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    """The synthetic dataset, its MiniLM SID catalog and every registered retriever fitted on it, built once
    in a private cache (the autouse cache fixture is per test; the encoder load is the slow part)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRBENCH_CACHE", str(tmp_path_factory.mktemp("retrieval-cache")))
        dataset = build_dataset("synthetic")
        config = SidConfig()
        catalog = build_sids(dataset, config)
        rankers = {name: get_retriever(name).fit(dataset, catalog, config) for name in retriever_names()}
        yield dataset, catalog, rankers


@pytest.mark.parametrize("name", ["popularity", "query-lookup", "dense-zeroshot", "dense-dualtower"])
def test_contract_rankings_are_model_shaped(synthetic, name: str) -> None:
    dataset, catalog, rankers = synthetic
    test = dataset.test.head(40)
    for beam_width in (1, 16):
        rankings = rankers[name].rank(test, beam_width)
        assert np.array_equal(rankings.query_ids, test["query_id"].to_numpy())
        assert len(rankings.sids) == len(rankings.scores) == len(test) and rankings.seconds >= 0
        for sids, scores in zip(rankings.sids, rankings.scores):
            assert len(sids) == beam_width == len(scores)  # the catalog has far more than 16 SIDs
            assert len(set(sids)) == len(sids)
            assert all(isinstance(s, tuple) and catalog.is_valid(s) for s in sids)
            assert all(a >= b for a, b in zip(scores, scores[1:]))
        again = rankers[name].rank(test, beam_width)  # no randomness anywhere
        assert again.sids == rankings.sids and again.scores == rankings.scores
    assert len(rankings.to_frame()) == 16 * len(test)


def test_dense_ranks_an_items_own_text_first(synthetic) -> None:
    dataset, catalog, rankers = synthetic
    items = [0, 123, 456]
    texts = [str(dataset.items["text"][i]) for i in items]
    rankings = rankers["dense-zeroshot"].rank(frame(*texts), beam_width=8)
    assert [sids[0] for sids in rankings.sids] == [catalog.sid_of(i) for i in items]
    assert all(scores[0] == pytest.approx(1.0, abs=1e-4) for scores in rankings.scores)


def test_end_to_end_lookup_beats_popularity_on_seen_queries(synthetic) -> None:
    dataset, catalog, rankers = synthetic
    test = dataset.test[dataset.test["query"].isin(set(dataset.train["query"]))]
    assert len(test) > 100
    config = EvalConfig(beam_width=16, sid_ks=(8, 16), item_ks=(10,))
    relevant = [set(r) for r in test["relevant"]]
    hit = {}
    for name in ("popularity", "query-lookup", "dense-zeroshot"):
        metrics = score_rankings(rankers[name].rank(test, 16).sids, relevant, catalog, config)
        assert {"halluc", "item_hit@10", "item_mrr", "sid_recall@16"} <= set(metrics)
        assert metrics["halluc"].max() == 0.0  # every SID a baseline returns is a real one
        hit[name] = float(metrics["item_hit@10"].mean())
    assert hit["query-lookup"] > hit["popularity"] + 0.1, hit
