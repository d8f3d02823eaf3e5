"""Emphasis ranks and Holm-corrected significance marks."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import ConfigError
from benchmark.results import load_runs
from benchmark.stats import holm, paired_permutation_test
from benchmark.tables.collect import ExperimentRuns, paired
from benchmark.tables.markers import (
    BASELINE_MARK,
    SFT_MARK,
    Comparison,
    SignificanceConfig,
    rank_emphasis,
    run_comparisons,
)
from tests.tables.tiny_results import write_table1


@pytest.mark.parametrize(
    "values, lower, expected",
    [
        ([0.1, 0.3, 0.2], False, ["", "best", "second"]),
        ([0.1, 0.3, 0.2], True, ["best", "", "second"]),
        ([0.30004, 0.30001, 0.2, None], False, ["best", "best", "second", ""]),  # equal as printed: tie
        ([0.3, 0.3], False, ["best", "best"]),  # no distinct second value
        ([0.3, None], False, ["", ""]),  # a single value is not "best" of anything
    ],
)
def test_rank_emphasis(values, lower, expected) -> None:
    assert rank_emphasis(values, 4, lower) == expected


def test_significance_config_validation_names_parameter() -> None:
    with pytest.raises(ConfigError, match=r"The 'alpha' parameter of SignificanceConfig must be a float in the "
                                          r"range \(0, 1\)\. Got 1\.5 instead\."):
        SignificanceConfig(alpha=1.5)
    with pytest.raises(ConfigError, match="'n_resamples'"):
        SignificanceConfig(n_resamples=0)


@pytest.fixture(scope="module")
def table1_runs(tmp_path_factory) -> ExperimentRuns:
    root = tmp_path_factory.mktemp("markers")
    write_table1(root)
    return ExperimentRuns("table1", load_runs(root / "smoke", "table1"))


def test_seed_averaged_pairing(table1_runs) -> None:
    sft, raddpo = table1_runs.get("sft"), table1_runs.get("raddpo")
    a, b = paired(raddpo, sft, "sid_mrr")
    # seeds 0 and 1 averaged: BASE + offset + 0.01
    np.testing.assert_allclose(a - b, np.full(16, 0.3))
    np.testing.assert_allclose(b, np.array([0.1, 0.2, 0.3, 0.4] * 4) + 0.01)


def test_holm_over_the_table_and_marks(table1_runs) -> None:
    sft, dpo, raddpo, orpo = (table1_runs.get(m) for m in ("sft", "dpo", "raddpo", "orpo"))
    comparisons = [
        Comparison("dpo", "sid_mrr", SFT_MARK, dpo, sft, "sid_mrr"),  # zero difference
        Comparison("raddpo", "sid_mrr", SFT_MARK, raddpo, sft, "sid_mrr"),
        Comparison("raddpo", "sid_mrr", BASELINE_MARK, raddpo, orpo, "sid_mrr"),
    ]
    config = SignificanceConfig(n_resamples=2000, seed=3)
    result = run_comparisons(comparisons, config)
    raw = [paired_permutation_test(*paired(c.treatment, c.control, c.metric), n_resamples=2000, seed=3).pvalue
           for c in comparisons]
    assert raw[0] == 1.0
    np.testing.assert_array_equal([result.adjusted[(c.row, c.column, c.mark)] for c in comparisons], holm(raw))
    assert result.cell("dpo", "sid_mrr") == ("", (("†", 1.0),))
    marks, pvalues = result.cell("raddpo", "sid_mrr")
    assert marks == "†‡" and [m for m, _ in pvalues] == ["†", "‡"]
    assert all(p < 0.05 for _, p in pvalues)
    assert run_comparisons(comparisons, config) == result  # same inputs and seed, same p-values


def test_groups_on_different_test_splits_are_not_tested(tmp_path) -> None:
    from benchmark.results import Hashes
    from tests.results.factory import HASHES, make_record, store_run
    from tests.tables.tiny_results import per_query

    store_run(tmp_path, make_record(method="sft"), per_query(0.0, 0))
    other = Hashes(**{**HASHES.__dict__, "test_hash": "d" * 16})
    store_run(tmp_path, make_record(method="raddpo", hashes=other), per_query(0.3, 0))
    runs = ExperimentRuns("table1", load_runs(tmp_path / "smoke"))
    result = run_comparisons(
        [Comparison("raddpo", "sid_mrr", SFT_MARK, runs.get("raddpo"), runs.get("sft"), "sid_mrr")],
        SignificanceConfig(),
    )
    assert len(result) == 0
    assert result.skipped == ("raddpo vs sft on sid_mrr (different test splits)",)
