"""Adding a metric is one kernel module plus one registration: a toy metric, registered once, is computed by
the evaluator, accepted by the results writer and rendered as a table column."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.evaluation import score_rankings
from benchmark.metrics.registry import (
    TABLE1_METRICS,
    EvalInputs,
    Metric,
    is_metric_name,
    register_metric,
    unregister_metric,
)
from benchmark.results import RunValidationError, load_runs
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.render import to_markdown
from benchmark.tables.table1 import build_methods_table
from tests.results.factory import make_record, store_run
from tests.tables.tiny_results import TABLE1_OFFSETS, TABLE_METRICS, per_query
from tests.test_evaluation import BEAMS, CONFIG, RELEVANT, TinyCatalog

TOY = "item_found@2"


def items_found(inputs: EvalInputs, metric: Metric) -> np.ndarray:
    """The toy metric's kernel: (Q,) number of relevant items within the first ``metric.cutoff`` items."""
    return inputs.item_hits.found_within(metric.cutoff).astype(np.float64)


@pytest.fixture
def toy_metric():
    """A registered toy metric, unregistered afterwards so that no other test sees it."""
    register_metric(Metric(TOY, "item", True, "Found@2", "Item found@2", cutoff=2, kernel=items_found))
    yield TOY
    unregister_metric(TOY)


def test_registered_metric_is_computed_by_the_evaluator(toy_metric) -> None:
    scores = score_rankings(BEAMS, RELEVANT, TinyCatalog(), CONFIG)
    assert list(scores)[-1] == toy_metric
    # relevant item ranks (tests/test_evaluation.py): q0 {2, 4}, q1 none, q2 {1, 2, 4}, q3 {1, 2}
    np.testing.assert_array_equal(scores[toy_metric], [1.0, 0.0, 2.0, 2.0])


def test_registered_metric_becomes_a_table_column(toy_metric, tmp_path) -> None:
    for method in ("sft", "orpo", "raddpo"):
        for seed in (0, 1):
            store_run(tmp_path, make_record(method=method, seed=seed),
                      per_query(TABLE1_OFFSETS[method], seed, (*TABLE_METRICS, toy_metric)))
    experiment = ExperimentRuns("table1", load_runs(tmp_path / "smoke", "table1"))
    table = build_methods_table(experiment, name="toy", title="Toy", significance=SignificanceConfig(n_resamples=999),
                                metrics=(*TABLE1_METRICS, toy_metric))
    lines = to_markdown(table).splitlines()
    header = next(line for line in lines if line.startswith("| Method"))
    assert header.rstrip(" |").endswith("| Category level (SID) MRR | Category level (item) Found@2")
    raddpo = next(line for line in lines if line.startswith("| RAD-DPO"))
    # per-run means 0.25 + 0.3 (+ 0.02 for seed 1): best of the ranked rows, † against SFT, ‡ against ORPO
    assert raddpo.rstrip(" |").endswith("**0.5600 ± 0.0141**†‡")


def test_unregistered_metric_is_refused_by_the_writer(tmp_path) -> None:
    assert not is_metric_name(TOY)
    with pytest.raises(RunValidationError, match=f"Unknown metric name '{TOY}'"):
        store_run(tmp_path, make_record(), {TOY: [0.5, 0.5]})
