"""``benchmark.reproduce``: reruns beside their stored twins, and the tables' marks with the reruns in place.

Built on the hand-made results of tests/tables/tiny_results.py (per-query values BASE + offset + 0.02 * seed,
so every cell of two seeds has a sample std of 0.02 / sqrt(2) = 0.01414 and RAD-DPO beats SFT by 0.3 on all
16 queries).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.reproduce import (
    IDENTICAL,
    ONE_SEED,
    OUTSIDE,
    WITHIN,
    MetricDrift,
    compare,
    format_report,
    report_rows,
    sample_ids,
)
from benchmark.results import load_runs
from tests.results.factory import make_record, store_run
from tests.tables.tiny_results import BASE, TABLE1_OFFSETS, per_query, write_table1


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("stored")
    write_table1(root)
    return load_runs(root / "smoke")


def rerun_of(root, method: str, seed: int, values: np.ndarray):
    record = make_record(method=method, seed=seed)
    store_run(root, record, {m: values for m in per_query(0.0, 0)})
    return [r for r in load_runs(root / "smoke") if r.result.run_id == record.run_id][0]


def test_verdicts_by_hand() -> None:
    assert MetricDrift("m", 0.5, 0.5, None).verdict == IDENTICAL
    assert MetricDrift("m", 0.5, 0.51, None).verdict == ONE_SEED
    assert MetricDrift("m", 0.5, 0.51, 0.0141).verdict == WITHIN  # |0.01| <= 0.0141
    assert MetricDrift("m", 0.5, 0.48, 0.0141).verdict == OUTSIDE  # |-0.02| > 0.0141
    assert MetricDrift("m", 0.5, 0.48, 0.0141).diff == pytest.approx(-0.02)


def test_identical_reruns_keep_every_mark(stored, tmp_path) -> None:
    reruns = [rerun_of(tmp_path, "raddpo", seed, BASE + TABLE1_OFFSETS["raddpo"] + 0.02 * seed) for seed in (0, 1)]
    report = compare(stored, reruns)
    assert report.conclusions_hold and report.marks_compared > 0
    assert {m.verdict for r in report.runs for m in r.metrics} == {IDENTICAL}
    assert all(r.identical_rows == r.n_rows == 16 for r in report.runs)
    assert "every conclusion of the tables holds" in format_report(report)


def test_a_small_drift_is_within_the_seed_spread_and_keeps_the_marks(stored, tmp_path) -> None:
    # +0.01 on every query: the run mean moves by 0.01 < 0.0141 (the cell's seed std); half the rows moved
    values = BASE + TABLE1_OFFSETS["raddpo"] + np.where(np.arange(16) % 2 == 0, 0.02, 0.0)
    report = compare(stored, [rerun_of(tmp_path, "raddpo", 0, values)])
    (run,) = report.runs
    assert run.identical_rows == 8 and run.n_rows == 16
    drift = run.metrics[0]
    assert drift.diff == pytest.approx(0.01) and drift.seed_std == pytest.approx(0.02 / np.sqrt(2))
    assert drift.verdict == WITHIN
    assert report.conclusions_hold


def test_a_rerun_that_loses_the_effect_changes_the_marks_and_says_which(stored, tmp_path) -> None:
    # RAD-DPO rerun at SFT's level in both seeds: its † against SFT must go
    reruns = [rerun_of(tmp_path, "raddpo", seed, BASE + 0.02 * seed) for seed in (0, 1)]
    report = compare(stored, reruns)
    assert not report.conclusions_hold
    assert {m.verdict for r in report.runs for m in r.metrics} == {OUTSIDE}
    changed = {(c.table, c.row) for c in report.mark_changes}
    assert ("table1", "RAD-DPO") in changed
    change = next(c for c in report.mark_changes if c.row == "RAD-DPO")
    assert "†" in change.committed and "†" not in change.rerun
    text = format_report(report)
    assert "these conclusions do not hold" in text and "RAD-DPO" in text
    rows = report_rows(report)
    assert {r["verdict"] for r in rows} == {OUTSIDE} and rows[0]["n_rows"] == 16


def test_a_rerun_without_a_stored_twin_is_an_error(stored, tmp_path) -> None:
    orphan = rerun_of(tmp_path, "raddpo", 5, BASE)
    with pytest.raises(ValueError, match="without a stored twin"):
        compare(stored, [orphan])


def test_samples_are_seeded_and_sorted() -> None:
    ids = [f"run{i}" for i in range(10)]
    assert sample_ids(ids, None) == sorted(ids) == sample_ids(ids, 50)
    first = sample_ids(ids, 3, seed=1)
    assert first == sample_ids(list(reversed(ids)), 3, seed=1) and len(first) == 3 and first == sorted(first)


def test_a_table_only_one_side_can_render_is_listed_not_counted_as_a_change(stored, tmp_path, monkeypatch) -> None:
    import benchmark.reproduce as reproduce

    real = reproduce.table_marks
    calls = []

    def stored_side_has_an_extra_table(runs, significance):
        marks = real(runs, significance)
        calls.append(1)
        if len(calls) == 1:  # the stored side renders a table the reruns cannot (no seen flags)
            marks[("table1-seen", "RAD-DPO", "sid_mrr")] = "†"
        return marks

    monkeypatch.setattr(reproduce, "table_marks", stored_side_has_an_extra_table)
    reruns = [rerun_of(tmp_path, "raddpo", s, BASE + TABLE1_OFFSETS["raddpo"] + 0.02 * s) for s in (0, 1)]
    report = compare(stored, reruns)
    assert report.conclusions_hold and report.uncompared_tables == ("table1-seen",)
    assert "not compared (rendered from the stored runs or the reruns only): table1-seen" in format_report(report)
