"""The kill campaign's bookkeeping (benchmark.faultcampaign) on hand-made traces and a tiny results tree;
the campaign itself runs as ``grbench perf faults``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from benchmark.faultcampaign import (
    compare_to_reference,
    draw_kill,
    incomplete_runs,
    rewritten,
    run_stamps,
    temp_entries,
)
from tests.results.factory import make_record, store_run

# the shape of a smoke trace: training steps with periodic checkpoints, then evaluation and the record
TRACE = (["train_step"] * 6 + ["checkpoint"] + ["train_step"] * 6 + ["train_done"]
         + ["beam_batch"] * 3 + ["result_file"] * 2 + ["run_recorded"]) * 3


def _draw_all(seed: int, kills: int) -> list:
    rng = np.random.default_rng(seed)
    points, start = [], 0
    for index in range(kills):
        point = draw_kill(TRACE, start, kills - index, rng)
        points.append(point)
        start = point.position + 1
    return points


@pytest.mark.parametrize("seed", range(20))
def test_every_drawn_kill_fires_in_any_resumed_process(seed: int) -> None:
    points = _draw_all(seed, kills=12)
    positions = [p.position for p in points]
    assert positions == sorted(set(positions)) and positions[-1] < len(TRACE)
    start = 0
    for point in points:
        assert TRACE[point.position] == point.event
        # a resumed process replays the reference from its last durable point d <= start: the N-th exists
        for durable in range(0, start + 1):
            assert TRACE[durable:].count(point.event) >= point.n
        assert TRACE[start : point.position + 1].count(point.event) == point.n
        start = point.position + 1


def test_kill_points_are_seeded_and_spread_over_the_suite() -> None:
    assert _draw_all(3, 12) == _draw_all(3, 12)
    assert _draw_all(3, 12) != _draw_all(4, 12)
    points = _draw_all(0, 12)
    assert {p.event for p in points} - {"train_step"}, "rare events are drawn too"
    assert points[-1].position >= len(TRACE) // 3, "the kills reach past the first run"


def test_draw_kill_refuses_when_nothing_is_left() -> None:
    with pytest.raises(ValueError, match="no event left"):
        draw_kill(TRACE, len(TRACE), 1, np.random.default_rng(0))


def _tree(root: Path) -> Path:
    for seed in (0, 1):
        rankings = None
        if seed == 0:
            import pandas as pd

            rankings = pd.DataFrame({"query_id": [0, 1], "rank": [1, 1], "sid": ["1-2-3", "4-5-6"],
                                     "score": [-0.5, -1.0]})
        store_run(root, make_record(seed=seed), {"sid_recall@8": [0.0, 1.0]}, rankings=rankings)
    return root / "smoke" / "runs"


def test_checks_find_temporaries_incomplete_runs_and_rewrites(tmp_path: Path) -> None:
    runs = _tree(tmp_path / "results")
    assert temp_entries(tmp_path) == [] and incomplete_runs(runs) == []
    before = run_stamps(runs)
    assert len(before) == 2

    (runs / ".table1-x.abc.tmp").mkdir()  # an atomic_dir a SIGKILL interrupted
    (tmp_path / "cache" / "checkpoints").mkdir(parents=True)
    (tmp_path / "cache" / "checkpoints" / ".loss_curve.csv.x1.tmp").write_text("")
    (runs / "table1-half").mkdir()  # visible and incomplete: what must never happen
    assert [p.name for p in temp_entries(tmp_path / "results", tmp_path / "cache")] == [
        ".loss_curve.csv.x1.tmp", ".table1-x.abc.tmp"]
    assert [p.name for p in incomplete_runs(runs)] == ["table1-half"]

    first = sorted(before)[0]
    assert rewritten(before, run_stamps(runs)) == set()
    data = (runs / first / "run.json").read_bytes()
    (runs / first / "run.json").unlink()
    (runs / first / "run.json").write_bytes(data)  # same bytes, new file: still a rewrite
    os.utime(runs / first / "run.json", ns=(1, 1))
    assert rewritten(before, run_stamps(runs)) == {first}


def test_comparison_counts_missing_runs_and_differing_bytes(tmp_path: Path) -> None:
    reference = _tree(tmp_path / "reference")
    same = _tree(tmp_path / "same")
    assert compare_to_reference(reference, same) == {
        "reference_runs": 2, "missing": [], "files_compared": 3, "files_differing": []}

    other = tmp_path / "other" / "smoke" / "runs"
    store_run(tmp_path / "other", make_record(seed=0), {"sid_recall@8": [1.0, 1.0]})
    result = compare_to_reference(reference, other)
    seed0 = make_record(seed=0).run_id
    assert result["missing"] == [make_record(seed=1).run_id]
    assert result["files_differing"] == [f"{seed0}/per_query.parquet", f"{seed0}/rankings.parquet"]
