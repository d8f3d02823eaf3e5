"""score_rankings on a tiny duck-typed catalog: collisions, a hallucinated SID, ill-formed beams."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.config import from_dict
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.evaluation import EvalConfig, expand_sids_to_items, score_rankings
from benchmark.metrics import hit_rate_at_k, mrr, recall_at_k


class TinyCatalog:
    """Only the two methods evaluation may use. Items 0..6 with training popularity [5, 9, 1, 0, 2, 2, 7]:

    (0,0) -> [1, 0]  collision, item 1 is more popular
    (0,1) -> [2]
    (1,0) -> [3]
    (1,1) -> [4, 5]  collision, equal popularity -> item id order
    (2,2) -> [6]
    anything else -> [] (e.g. (3,3), a hallucination)
    """

    SIDS = {0: (0, 0), 1: (0, 0), 2: (0, 1), 3: (1, 0), 4: (1, 1), 5: (1, 1), 6: (2, 2)}
    ITEMS = {(0, 0): [1, 0], (0, 1): [2], (1, 0): [3], (1, 1): [4, 5], (2, 2): [6]}

    def items_for(self, sid):
        return list(self.ITEMS.get(tuple(sid), []))

    def sid_of(self, item_id):
        return self.SIDS[item_id]


CONFIG = EvalConfig(sid_ks=(1, 3), item_ks=(1, 2, 4), beam_width=5)

BEAMS = [
    # q0: a hallucinated SID at rank 2, a duplicate of rank 1 at rank 4, an ill-formed beam at rank 5
    [(0, 0), (3, 3), (1, 1), (0, 0), None],
    # q1: ill-formed rank-1 beam; the relevant item's SID (1, 0) is never generated
    [None, (2, 2), (0, 1)],
    # q2: all three relevant SIDs generated
    [(0, 1), (1, 0), (0, 0)],
    # q3: two relevant items collide on one SID
    [(0, 0)],
]
RELEVANT = [{0, 5}, {3}, {0, 2, 3}, {0, 1}]

EXPECTED = {
    "halluc@1": [0.0, 1.0, 0.0, 0.0],
    # halluc: q0 (3,3) and None of 5 beams; q1 None of 3 beams
    "halluc": [2 / 5, 1 / 3, 0.0, 0.0],
    # item rankings: q0 [1, 0, 4, 5] ((3,3) gives nothing, the duplicate (0,0) is not re-expanded)
    #                q1 [6, 2]; q2 [2, 3, 1, 0]; q3 [1, 0]
    # relevant ranks: q0 {0: 2, 5: 4}; q1 none; q2 {2: 1, 3: 2, 0: 4}; q3 {1: 1, 0: 2}
    "item_recall@1": [0.0, 0.0, 1 / 3, 1 / 2],
    "item_recall@2": [1 / 2, 0.0, 2 / 3, 1.0],
    "item_recall@4": [1.0, 0.0, 1.0, 1.0],
    "item_hit@1": [0.0, 0.0, 1.0, 1.0],
    "item_hit@2": [1.0, 0.0, 1.0, 1.0],
    "item_hit@4": [1.0, 0.0, 1.0, 1.0],
    "item_mrr": [1 / 2, 0.0, 1.0, 1.0],
    # SID rankings (distinct, first occurrence; the hallucinated SID keeps its slot, None is dropped):
    # q0 [(0,0), (3,3), (1,1)] vs {(0,0), (1,1)} -> ranks 1, 3
    # q1 [(2,2), (0,1)] vs {(1,0)} -> none
    # q2 [(0,1), (1,0), (0,0)] vs {(0,0), (0,1), (1,0)} -> ranks 1, 2, 3
    # q3 [(0,0)] vs {(0,0)} (the collision makes one relevant SID) -> rank 1
    "sid_recall@1": [1 / 2, 0.0, 1 / 3, 1.0],
    "sid_recall@3": [1.0, 0.0, 1.0, 1.0],
    "sid_hit@1": [1.0, 0.0, 1.0, 1.0],
    "sid_hit@3": [1.0, 0.0, 1.0, 1.0],
    "sid_mrr": [1.0, 0.0, 1.0, 1.0],
}


def test_score_rankings_golden() -> None:
    scores = score_rankings(BEAMS, RELEVANT, TinyCatalog(), CONFIG)
    assert list(scores) == list(EXPECTED) == CONFIG.metric_names(targets=False)
    for name, expected in EXPECTED.items():
        assert scores[name].shape == (4,) and scores[name].dtype == np.float64, name
        np.testing.assert_allclose(scores[name], expected, rtol=0, atol=1e-15, err_msg=name)


def test_default_metric_names_are_the_contract() -> None:
    assert EvalConfig().metric_names(targets=False) == [
        "halluc@1", "halluc",
        "item_recall@10", "item_recall@100", "item_recall@500",
        "item_hit@10", "item_hit@100", "item_hit@500", "item_mrr",
        "sid_recall@8", "sid_recall@64", "sid_recall@128",
        "sid_hit@8", "sid_hit@64", "sid_hit@128", "sid_mrr",
    ]  # fmt: skip
    # with targets (protocol 2) the ordered-item families come between the validity and relevant-set columns
    assert EvalConfig().metric_names() == [
        "halluc@1", "halluc",
        "target_hit@10", "target_hit@100", "target_hit@500",
        "target_ndcg@10", "target_ndcg@100", "target_ndcg@500", "target_mrr",
        "target_sid_hit@8", "target_sid_hit@64", "target_sid_hit@128", "target_sid_mrr",
        *EvalConfig().metric_names(targets=False)[2:],
    ]  # fmt: skip


def test_expand_sids_to_items() -> None:
    # (1,1) -> [4, 5]; None and (3,3) give nothing; (0,0) -> [1, 0]; the repeated (1,1) is skipped
    assert expand_sids_to_items([(1, 1), None, (3, 3), (0, 0), (1, 1)], TinyCatalog()) == [4, 5, 1, 0]
    assert expand_sids_to_items([], TinyCatalog()) == []


def test_numpy_codes_are_normalised() -> None:
    # decoders may hand back numpy integers; they must score like plain ints
    beams = [[tuple(np.array(sid, dtype=np.int64)) if sid else None for sid in q] for q in BEAMS]
    scores = score_rankings(beams, RELEVANT, TinyCatalog(), CONFIG)
    np.testing.assert_allclose(scores["sid_recall@1"], EXPECTED["sid_recall@1"])


def test_agrees_with_the_public_metrics_on_random_rankings() -> None:
    rng = np.random.default_rng(0)
    catalog = TinyCatalog()
    all_sids = [*TinyCatalog.ITEMS, (3, 3), (4, 0)]
    beams = [
        [None if rng.random() < 0.1 else all_sids[i] for i in rng.integers(0, len(all_sids), size=rng.integers(0, 6))]
        for _ in range(40)
    ]
    relevant = [set(rng.choice(7, size=rng.integers(1, 4), replace=False).tolist()) for _ in range(40)]
    scores = score_rankings(beams, relevant, catalog, CONFIG)
    items = [expand_sids_to_items(b, catalog) for b in beams]
    np.testing.assert_array_equal(scores["item_recall@2"], recall_at_k(items, relevant, 2))
    np.testing.assert_array_equal(scores["item_hit@4"], hit_rate_at_k(items, relevant, 4))
    np.testing.assert_array_equal(scores["item_mrr"], mrr(items, relevant))
    rel_sids = [{catalog.sid_of(i) for i in s} for s in relevant]
    sids = [[s for s in b if s is not None] for b in beams]   # duplicates count once at first position
    np.testing.assert_array_equal(scores["sid_recall@3"], recall_at_k([list(dict.fromkeys(s)) for s in sids], rel_sids, 3))
    for name in scores:
        assert np.all((scores[name] >= 0) & (scores[name] <= 1)), name


def test_errors() -> None:
    catalog = TinyCatalog()
    with pytest.raises(BenchmarkError, match=r"query 1 has no relevant items"):
        score_rankings([[(0, 0)], [(0, 1)]], [{0}, set()], catalog, CONFIG)
    with pytest.raises(BenchmarkError, match=r"one entry per query"):
        score_rankings([[(0, 0)]], [{0}, {1}], catalog, CONFIG)
    with pytest.raises(BenchmarkError, match=r"query 0 has 6 beams, more than beam_width=5"):
        score_rankings([[(0, 0)] * 6], [{0}], catalog, CONFIG)
    with pytest.raises(BenchmarkError, match=r"beam_sids\[0\] must be a list of SIDs"):
        score_rankings([None], [{0}], catalog, CONFIG)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sid_ks": (0, 8)}, r"'sid_ks' parameter of EvalConfig must be a non-empty list of ints >= 1"),
        ({"item_ks": ()}, r"'item_ks' parameter of EvalConfig"),
        ({"item_ks": (10, 10)}, r"'item_ks' parameter of EvalConfig must not repeat a cutoff"),
        ({"beam_width": 0}, r"'beam_width' parameter of EvalConfig must be an int in the range \[1, inf\)"),
        ({"constrained": "yes"}, r"'constrained' parameter of EvalConfig must be a bool"),
        ({"max_queries": 0}, r"'max_queries' parameter of EvalConfig"),
        ({"batch_size": 2.5}, r"'batch_size' parameter of EvalConfig"),
    ],
)
def test_config_validation(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        EvalConfig(**kwargs)


def test_config_from_yaml_style_dict() -> None:
    config = from_dict(EvalConfig, {"sid_ks": [4, 16], "constrained": True, "max_queries": 100})
    assert config.sid_ks == (4, 16) and config.constrained and config.max_queries == 100
    assert EvalConfig(item_ks=[5]).item_ks == (5,)   # lists become tuples: the config stays hashable
    hash(EvalConfig(item_ks=[5]))


def test_sid_forms_from_decoders_are_accepted_and_garbage_rejected() -> None:
    # lists and arrays are unhashable: they are normalised before the memo lookup
    beams = [[[0, 0], np.array([3, 3]), (1, 1), [0, 0], None], *BEAMS[1:]]
    scores = score_rankings(beams, RELEVANT, TinyCatalog(), CONFIG)
    for name, expected in EXPECTED.items():
        np.testing.assert_allclose(scores[name], expected, rtol=0, atol=1e-15, err_msg=name)
    with pytest.raises(BenchmarkError, match=r"A SID must be a sequence of integer codes"):
        score_rankings([["ab"]], [{0}], TinyCatalog(), CONFIG)
    with pytest.raises(BenchmarkError, match=r"A SID must be a sequence of integer codes"):
        score_rankings([[3]], [{0}], TinyCatalog(), CONFIG)
