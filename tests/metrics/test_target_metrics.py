"""Protocol 2: the held-out ordered item is the target. Hand-computed values on a tiny catalog, invariants,
and the protocol-1 result left exactly as it was when no targets are given."""

from __future__ import annotations

from math import log2

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import BenchmarkError
from benchmark.evaluation import EvalConfig, expand_sids_to_items, score_rankings
from benchmark.metrics import hit_ranks, hit_rate_at_k, mrr, target_ndcg_at_k
from benchmark.metrics.registry import (
    FAMILY_GROUPS,
    TARGET_METRICS,
    EvalInputs,
    compute_metric,
    get_metric,
    metric_names,
)
from tests import test_evaluation


class Catalog:
    """Items 0..5 on five SIDs, one collision; (9, 9) maps to nothing (a hallucination).

    A (0,0) -> [1, 0]  collision, item 1 is more popular
    B (0,1) -> [2]
    C (1,0) -> [3]
    D (1,1) -> [4]
    E (2,0) -> [5]
    """

    ITEMS = {(0, 0): [1, 0], (0, 1): [2], (1, 0): [3], (1, 1): [4], (2, 0): [5]}
    SIDS = {item: sid for sid, items in ITEMS.items() for item in items}

    def items_for(self, sid):
        return list(self.ITEMS.get(tuple(sid), []))

    def sid_of(self, item_id):
        return self.SIDS[item_id]


A, B, C, D, E, H = (0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (9, 9)
CONFIG = EvalConfig(sid_ks=(1, 2), item_ks=(1, 2, 4), beam_width=4)
BEAMS = [
    [A, B, C],        # q0: items [1, 0, 2, 3]; the target's SID is first, but its collision partner 1 outranks it
    [H, D, None, C],  # q1: items [4, 3]; SIDs [H, D, C] (the hallucinated SID keeps its slot, None does not)
    [B],              # q2: items [2]; the target is never generated, another relevant item is
    [E, B],           # q3: items [5, 2]; the ideal ranking
]
RELEVANT = [{0, 1, 3}, {3, 4}, {2, 5}, {2, 5}]
TARGETS = [0, 3, 5, 5]

L3 = log2(3)  # the discount denominator at rank 2; rank 1's is log2(2) = 1, rank 3's log2(4) = 2, rank 4's log2(5)
# Gains: 2^2 - 1 = 3 for the target, 2^1 - 1 = 1 for another relevant item. Ideal: the target, then the others.
# q0: ranks: item 1 (g1) 1, target 0 (g2) 2, item 3 (g1) 4; |rel| = 3
#     DCG@1 = 1/1 = 1                          IDCG@1 = 3/1 = 3
#     DCG@2 = 1 + 3/log2(3)                    IDCG@2 = 3 + 1/log2(3)
#     DCG@4 = 1 + 3/log2(3) + 1/log2(5)        IDCG@4 = 3 + 1/log2(3) + 1/log2(4)   (only 3 relevant items)
# q1: ranks: item 4 (g1) 1, target 3 (g2) 2; |rel| = 2
#     DCG@1 = 1, DCG@2 = DCG@4 = 1 + 3/log2(3)  IDCG@1 = 3, IDCG@2 = IDCG@4 = 3 + 1/log2(3)
# q2: ranks: item 2 (g1) 1; the target 5 absent; |rel| = 2
#     DCG@1 = DCG@2 = DCG@4 = 1                 IDCG as q1
# q3: ranks: target 5 (g2) 1, item 2 (g1) 2: DCG = IDCG at every cutoff, NDCG = 1
EXPECTED = {
    # target item ranks: q0 2, q1 2, q2 absent, q3 1
    "target_hit@1": [0.0, 0.0, 0.0, 1.0],
    "target_hit@2": [1.0, 1.0, 0.0, 1.0],
    "target_hit@4": [1.0, 1.0, 0.0, 1.0],
    "target_ndcg@1": [1 / 3, 1 / 3, 1 / 3, 1.0],
    "target_ndcg@2": [(1 + 3 / L3) / (3 + 1 / L3), (1 + 3 / L3) / (3 + 1 / L3), 1 / (3 + 1 / L3), 1.0],
    "target_ndcg@4": [(1 + 3 / L3 + 1 / log2(5)) / (3 + 1 / L3 + 1 / 2), (1 + 3 / L3) / (3 + 1 / L3),
                      1 / (3 + 1 / L3), 1.0],
    "target_mrr": [1 / 2, 1 / 2, 0.0, 1.0],
    # target SID ranks: q0 A at 1; q1 C at 3 (after H and D); q2 E absent; q3 E at 1
    "target_sid_hit@1": [1.0, 0.0, 0.0, 1.0],
    "target_sid_hit@2": [1.0, 0.0, 0.0, 1.0],
    "target_sid_mrr": [1.0, 1 / 3, 0.0, 1.0],
    # the relevant-set (category-level) metrics for contrast: q2's category is hit even though the target is not
    "item_hit@1": [1.0, 1.0, 1.0, 1.0],
    "item_mrr": [1.0, 1.0, 1.0, 1.0],
    "sid_mrr": [1.0, 1 / 2, 1.0, 1.0],
}


def test_target_metrics_golden() -> None:
    scores = score_rankings(BEAMS, RELEVANT, Catalog(), CONFIG, targets=TARGETS)
    assert list(scores) == CONFIG.metric_names(targets=True)
    for name, expected in EXPECTED.items():
        assert scores[name].shape == (4,) and scores[name].dtype == np.float64, name
        np.testing.assert_allclose(scores[name], expected, rtol=0, atol=1e-15, err_msg=name)


def test_standalone_ndcg_agrees_with_the_evaluator() -> None:
    items = [expand_sids_to_items(b, Catalog()) for b in BEAMS]
    assert items == [[1, 0, 2, 3], [4, 3], [2], [5, 2]]
    for k in (1, 2, 4):
        np.testing.assert_allclose(target_ndcg_at_k(items, RELEVANT, TARGETS, k), EXPECTED[f"target_ndcg@{k}"],
                                   rtol=0, atol=1e-15)


def test_without_targets_the_protocol_1_result_is_unchanged() -> None:
    # tests/test_evaluation.py's golden values were computed before protocol 2 existed
    t = test_evaluation
    plain = score_rankings(t.BEAMS, t.RELEVANT, t.TinyCatalog(), t.CONFIG)
    assert list(plain) == list(t.EXPECTED) == t.CONFIG.metric_names(targets=False)
    assert not any(get_metric(name).needs_target for name in plain)
    # targets add the ordered-item columns and change none of the others
    with_targets = score_rankings(t.BEAMS, t.RELEVANT, t.TinyCatalog(), t.CONFIG,
                                  targets=[min(r) for r in t.RELEVANT])
    assert [name for name in with_targets if not get_metric(name).needs_target] == list(plain)
    for name, values in plain.items():
        np.testing.assert_array_equal(with_targets[name], values, err_msg=name)


def test_target_outside_the_relevant_set_is_an_error() -> None:
    with pytest.raises(BenchmarkError, match=r"query 1: target item 2 is not one of its relevant items"):
        score_rankings(BEAMS, RELEVANT, Catalog(), CONFIG, targets=[0, 2, 5, 5])
    with pytest.raises(BenchmarkError, match=r"'targets' must hold one item id per query \(4\)"):
        score_rankings(BEAMS, RELEVANT, Catalog(), CONFIG, targets=[0, 3])
    with pytest.raises(BenchmarkError, match=r"'targets' must be integer item ids"):
        score_rankings(BEAMS, RELEVANT, Catalog(), CONFIG, targets=[0.0, 3.0, 5.0, 5.0])


def test_target_kernels_without_targets_say_what_is_missing() -> None:
    hits = hit_ranks([[1]], [{1}])
    inputs = EvalInputs(beam_valid=[[True]], item_hits=hits, sid_hits=hits)
    with pytest.raises(BenchmarkError, match=r"family 'target' score the ordered item: pass 'targets'"):
        compute_metric("target_ndcg@10", inputs)
    np.testing.assert_array_equal(compute_metric("item_mrr", inputs), [1.0])


def test_registry_entries_and_metric_set() -> None:
    ndcg = get_metric("target_ndcg@10")
    assert (ndcg.family, ndcg.label, ndcg.long_label, ndcg.needs_target) == (
        "target", "gNDCG@10", "Target graded NDCG@10", True)
    assert (get_metric("target_hit@20").label, get_metric("target_sid_hit@16").long_label) == (
        "HR@20", "Target SID HR@16")  # any cutoff, like the relevant-set stems
    assert get_metric("target_mrr").long_label == "Target MRR" and not get_metric("item_hit@10").needs_target
    assert FAMILY_GROUPS["target"] == "Ordered item (item level)"
    assert TARGET_METRICS[-1] == "item_hit@10" and all(name in metric_names() for name in TARGET_METRICS)


# ------------------------------------------------------------------------------------------ invariants
ID_SPACE = 10
ids = st.integers(min_value=0, max_value=ID_SPACE - 1)


@st.composite
def queries(draw):
    """(ranking, relevant set, target in it); small id space so rankings hold duplicates and hits."""
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        relevant = draw(st.sets(ids, min_size=1, max_size=5))
        out.append((draw(st.lists(ids, max_size=12)), relevant, draw(st.sampled_from(sorted(relevant)))))
    return out


def split(batch):
    return [r for r, _, _ in batch], [s for _, s, _ in batch], [t for _, _, t in batch]


@settings(max_examples=150, deadline=None)
@given(queries(), st.integers(min_value=1, max_value=15))
def test_ndcg_bounds_and_target_metrics_below_relevant_set_metrics(batch, k) -> None:
    ranked, relevant, targets = split(batch)
    ndcg = target_ndcg_at_k(ranked, relevant, targets, k)
    assert np.all((ndcg >= 0.0) & (ndcg <= 1.0 + 1e-12))
    single = [{t} for t in targets]
    target_hit = hit_rate_at_k(ranked, single, k)
    assert np.all(target_hit <= hit_rate_at_k(ranked, single, k + 1))  # monotone in K
    assert np.all(target_hit <= hit_rate_at_k(ranked, relevant, k))    # the target is one relevant item
    assert np.all(mrr(ranked, single) <= mrr(ranked, relevant))


@settings(max_examples=100, deadline=None)
@given(queries(), st.integers(min_value=1, max_value=15), st.lists(ids, max_size=5))
def test_ndcg_is_one_for_the_ideal_ranking(batch, k, tail) -> None:
    _, relevant, targets = split(batch)
    # the target first, the other relevant items next (any order: they share a grade), anything after
    ideal = [[t, *sorted(r - {t}), *tail] for r, t in zip(relevant, targets)]
    np.testing.assert_allclose(target_ndcg_at_k(ideal, relevant, targets, k), 1.0, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from([A, B, C, D, E, H, None]), max_size=4),
                          st.sets(st.integers(0, 5), min_size=1, max_size=3), st.integers(0, 2)),
                min_size=1, max_size=5))
def test_evaluator_target_metrics_below_relevant_set_metrics(batch) -> None:
    beams = [b for b, _, _ in batch]
    relevant = [r for _, r, _ in batch]
    targets = [sorted(r)[i % len(r)] for _, r, i in batch]
    scores = score_rankings(beams, relevant, Catalog(), CONFIG, targets=targets)
    for k in CONFIG.item_ks:
        assert np.all(scores[f"target_hit@{k}"] <= scores[f"item_hit@{k}"])
    for k in CONFIG.sid_ks:
        assert np.all(scores[f"target_sid_hit@{k}"] <= scores[f"sid_hit@{k}"])
    assert np.all(scores["target_mrr"] <= scores["item_mrr"]) and np.all(scores["target_sid_mrr"] <= scores["sid_mrr"])
    # no ordering between target_hit@K and target_sid_hit@K: a collision puts the item below its SID's rank,
    # a hallucinated SID takes a SID slot but no item slot (q0 and q1 of the golden test)
