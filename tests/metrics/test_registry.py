"""The metric registry: one entry per metric, duplicates refused, unknown names answered with suggestions."""

from __future__ import annotations

import pytest

from benchmark.evaluation import EvalConfig
from benchmark.metrics.registry import (
    NOISE_METRICS,
    SID_METRICS,
    TABLE1_METRICS,
    TARGET_METRICS,
    Metric,
    UnknownNameError,
    board_header,
    evaluated_names,
    get_metric,
    is_metric_name,
    lower_is_better,
    metric_names,
    metric_sort_key,
    register_metric,
)


def test_standard_set_in_report_order() -> None:
    assert metric_names() == tuple(EvalConfig().metric_names())
    assert metric_names()[:3] == ("halluc@1", "halluc", "target_hit@10")
    assert metric_names().index("target_sid_mrr") + 1 == metric_names().index("item_recall@10")
    assert {m for m in metric_names() if lower_is_better(m)} == {"halluc", "halluc@1"}
    for named_set in (TABLE1_METRICS, SID_METRICS, NOISE_METRICS, TARGET_METRICS):
        assert all(name in metric_names() for name in named_set)


def test_entries_carry_family_direction_labels_and_cutoff() -> None:
    r10 = get_metric("item_recall@10")
    assert (r10.family, r10.higher_is_better, r10.label, r10.long_label, r10.cutoff) == (
        "item", True, "R@10", "Item R@10", 10)
    assert get_metric("sid_mrr").cutoff is None and get_metric("sid_mrr").long_label == "SID MRR"
    assert board_header("halluc") == "Halluc. ↓" and board_header("sid_recall@64") == "SID R@64"


def test_any_cutoff_stems_accept_other_cutoffs() -> None:
    r20 = get_metric("item_recall@20")
    assert (r20.name, r20.cutoff, r20.label, r20.long_label) == ("item_recall@20", 20, "R@20", "Item R@20")
    assert is_metric_name("sid_hit@3")
    assert not is_metric_name("halluc@5")  # halluc@1 is a fixed name, not an open stem
    assert not is_metric_name("item_mrr@10") and not is_metric_name(7)
    # registered names first, in report order; other cutoffs after them by stem and K
    names = ["sid_hit@3", "item_recall@20", "item_recall@5", "sid_mrr", "halluc"]
    assert sorted(names, key=metric_sort_key) == ["halluc", "sid_mrr", "item_recall@5", "item_recall@20", "sid_hit@3"]


def test_unknown_name_suggests_and_lists() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown metric name 'item_recal@10'\. Did you mean "
                                               r"'item_recall@10'.*Available: .*item_recall@K"):
        get_metric("item_recal@10")


def test_duplicate_name_refused() -> None:
    with pytest.raises(ValueError, match="metric 'sid_mrr' is already registered"):
        register_metric(Metric("sid_mrr", "sid", True, "MRR", "SID MRR"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="x", family="user"), r"The 'family' parameter of Metric must be one of validity, target, "
                                        r"target_sid, item, sid\. "
                                        r"Got 'user' instead\."),
        (dict(name="x@5", family="item"), r"The 'cutoff' parameter of Metric 'x@5' must be 5"),
        (dict(name="x", family="item", any_cutoff=True), r"'any_cutoff' needs a name of the form stem@K"),
    ],
)
def test_metric_validation_names_the_parameter(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Metric(higher_is_better=True, label="X", long_label="X", **kwargs)


def test_evaluated_names_expand_open_stems_to_the_configured_cutoffs() -> None:
    # the target families take the item / SID levels' cutoffs; without targets they are left out
    assert evaluated_names({"item": (5,)}) == ["halluc@1", "halluc", "target_hit@5", "target_ndcg@5", "target_mrr",
                                                "target_sid_mrr", "item_recall@5", "item_hit@5", "item_mrr",
                                                "sid_mrr"]
    assert evaluated_names({"item": (5,), "sid": (2,)}, with_targets=False) == [
        "halluc@1", "halluc", "item_recall@5", "item_hit@5", "item_mrr", "sid_recall@2", "sid_hit@2", "sid_mrr"]
