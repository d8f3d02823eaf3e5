"""Validation curves (benchmark.suite.curves): where the points fall, which checkpoint is best, how a curve is
stored with its run, and the run-id rules (a final run keeps its id; a best-checkpoint run hashes the curve)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.errors import ConfigError, DataError
from benchmark.results import load_run, write_run
from benchmark.results.schema import RunValidationError
from benchmark.results.writer import copy_run_as
from benchmark.suite.curves import best_step, curve_steps
from benchmark.suite.matrix import expand
from benchmark.suite.profiles import load_profile


@pytest.mark.parametrize(("steps", "points", "expected"), [
    (60, 4, (15, 30, 45, 60)),
    (7, 3, (2, 5, 7)),  # round(7/3) = 2, round(14/3) = 5
    (3, 4, (1, 2, 3)),  # fewer steps than points: no step twice
    (1, 4, (1,)),
    (60, 0, ()),
])
def test_curve_steps_are_evenly_spaced_and_end_at_the_last_step(steps, points, expected):
    assert curve_steps(steps, points) == expected


def _curve(values, metric="valid_target_hit@10"):
    return pd.DataFrame({"step": [0, 15, 30, 45, 60][: len(values)], metric: values})


def test_best_step_ignores_the_sft_start_and_takes_the_earliest_tie():
    assert best_step(_curve([0.9, 0.3, 0.5, 0.5, 0.4]), "target_hit@10", lower_is_better=False) == 30
    assert best_step(_curve([0.0, 0.3, 0.2, 0.2, 0.4], "valid_halluc@1"), "halluc@1", lower_is_better=True) == 30
    with pytest.raises(DataError, match="without trained checkpoints"):
        best_step(_curve([0.5]), "target_hit@10", lower_is_better=False)


def test_final_runs_keep_their_ids_and_best_runs_hash_the_curve_settings():
    profile = load_profile("quick")
    final = {s.run_id for s in expand(profile, only=("table1",))}
    # every committed quick Table 1 run (computed before curves existed) is still one of the plan's run ids
    runs = Path(__file__).resolve().parents[2] / "results" / "quick" / "runs"
    committed = {p.name for p in runs.iterdir() if p.name.startswith("table1-")}
    assert committed and committed <= final
    assert final == {s.run_id for s in expand(load_profile("quick", ["curves.points=2", "curves.max_queries=50"]),
                                              only=("table1",))}
    best = [s for s in expand(load_profile("quick", ["curves.report=best"]), only=("table1",)) if s.checkpoint == "best"]
    assert best and not {s.run_id for s in best} & final
    spec = best[0]
    assert spec.compute_config()["checkpoint"] == {"report": "best", "points": 4, "max_queries": 300,
                                                    "metric": "target_hit@10"}
    assert spec.training_config() == dataclasses.replace(spec, checkpoint="final").training_config()
    other = dataclasses.replace(spec, curve={**spec.curve, "max_queries": 50})
    assert other.run_id != spec.run_id  # the settings that chose the checkpoint decide the numbers


def test_curve_settings_are_validated():
    with pytest.raises(ConfigError, match="'report' parameter of CurveSettings"):
        load_profile("smoke", ["curves.report=middle"])
    with pytest.raises(ConfigError, match="needs a validation curve"):
        load_profile("smoke", ["curves.report=best", "curves.points=0"])
    with pytest.raises(ConfigError, match="'metric' parameter of CurveSettings"):
        load_profile("smoke", ["curves.metric=target_hit@11x"])


def _record():
    from tests.results.factory import make_record  # a complete, valid record with fixed provenance

    return make_record(method="dpo")


def test_a_curve_is_stored_exactly_and_travels_with_a_copied_run(tmp_path):
    curve = pd.DataFrame({"step": [30, 0, 60], "train_loss": [0.25, np.nan, 0.125],
                          "valid_target_hit@10": [1 / 3, 0.1, 2 / 3], "reported": [0, 0, 1]})
    record = _record()
    path = write_run(tmp_path / record.run_id, record, [1, 2], {"halluc": [0.0, 1.0]}, curve=curve)
    stored = load_run(path)
    assert stored.result.files["curve"] == "curve.csv"
    expected = curve.sort_values("step").reset_index(drop=True)
    pd.testing.assert_frame_equal(stored.curve(), expected, check_exact=True)
    copied = copy_run_as(path, tmp_path / "fig2-dpo-seed0-9876543210", "fig2", {"fraction": 1.0},
                         "fig2-dpo-seed0-9876543210")
    pd.testing.assert_frame_equal(load_run(copied).curve(), expected, check_exact=True)


@pytest.mark.parametrize(("curve", "message"), [
    (pd.DataFrame({"step": [0, 0], "x": [1.0, 2.0]}), "distinct integers"),
    (pd.DataFrame({"step": [-1], "x": [1.0]}), "distinct integers"),
    (pd.DataFrame({"step": [0], "x": ["a"]}), "must be numeric"),
    (pd.DataFrame({"x": [1.0]}), "'step' column"),
])
def test_a_bad_curve_is_refused_and_nothing_is_written(tmp_path, curve, message):
    record = _record()
    with pytest.raises(RunValidationError, match=message):
        write_run(tmp_path / record.run_id, record, [1, 2], {"halluc": [0.0, 1.0]}, curve=curve)
    assert not (tmp_path / record.run_id).exists()
