"""The sids table's cold column (benchmark.tables.sids) on hand-made cold-start runs.

40 test queries: 0-9 head, 10-19 torso, 20-29 tail, 30-39 cold (``target_bucket``). target_hit@10 per query:

    rqkmeans, raddpo   head 1 x10, torso 1 x5 + 0 x5, tail 0 x10, cold 0 x10 (both seeds)
    sci,      raddpo   the same, but cold: seed 0 1 x10, seed 1 1 x6 + 0 x4

By hand: sci cold = seeds 1.0 and 0.6 -> 0.8000 ± 0.2828 (|1.0 - 0.6| / sqrt 2); rqkmeans cold 0 ± 0.
sci overall: 25/40 and 21/40 -> 0.5750. sci differs from rqkmeans on the 10 cold queries only, all in its
favour: overall and cold get † (exact p = 2/1024 before Holm), head / torso / tail none.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmark.results import load_runs, run_dir, write_run
from benchmark.tables import render_all
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.sids import bucket_key, build_sids_table
from tests.results.factory import make_record

BUCKETS = ["head"] * 10 + ["torso"] * 10 + ["tail"] * 10 + ["cold"] * 10
BASE = np.array([1.0] * 15 + [0.0] * 25)
SCI = {0: np.r_[BASE[:30], [1.0] * 10], 1: np.r_[BASE[:30], [1.0] * 6, [0.0] * 4]}
COLD = {"share": 0.05, "rule": "uniform-items-v1", "stream": 16}


def _write_all(root: Path, cold: dict | None = COLD) -> None:
    for seed in (0, 1):
        for builder, hits in (("rqkmeans", BASE), ("sci", SCI[seed])):
            record = make_record(method="raddpo", seed=seed, experiment="sids", variant={"builder": builder},
                                 catalog={"collision_rate": 0.1, "distinct_sids": 100, "n_items": 110})
            if cold is not None:
                record = type(record)(**{**record.__dict__, "config": {**record.config, "cold_start": cold}})
            per_query = {"target_hit@10": hits, "target_mrr": hits / 2, "target_ndcg@10": hits * 0.6,
                         "halluc@1": np.zeros(len(hits))}
            write_run(run_dir(root, record.profile, record.run_id), record, np.arange(len(hits)), per_query,
                      queries={"query": [f"q{i}" for i in range(len(hits))], "target_bucket": BUCKETS})


def _cells(table) -> dict[str, dict[str, object]]:
    return {row.key: {c.key: cell for c, cell in zip(table.columns, row.cells)} for row in table.rows}


def test_cold_column_values_marks_and_notes(tmp_path) -> None:
    _write_all(tmp_path)
    table = build_sids_table(ExperimentRuns("sids", load_runs(tmp_path / "smoke")), SignificanceConfig())
    cells = _cells(table)
    rq, sci = cells["rqkmeans/raddpo"], cells["sci/raddpo"]
    assert [c.key for c in table.columns][-4:] == [bucket_key(b) for b in ("head", "torso", "tail", "cold")]
    assert rq[bucket_key("cold")].value == 0.0 and rq[bucket_key("cold")].std == 0.0
    assert sci[bucket_key("cold")].value == pytest.approx(0.8)
    assert sci[bucket_key("cold")].std == pytest.approx(0.4 / math.sqrt(2))
    assert sci["target_hit@10"].value == pytest.approx((25 + 21) / 80)
    assert sci[bucket_key("tail")].value == 0.0 and sci[bucket_key("head")].value == 1.0
    assert sci[bucket_key("cold")].marks == "†" and sci["target_hit@10"].marks == "†"
    assert all(sci[bucket_key(b)].marks == "" for b in ("head", "torso", "tail"))
    assert any("Test queries per bucket: head 10, torso 10, tail 10, cold 10." in note for note in table.notes)
    assert any(note.startswith("Cold: a seeded 5% of the items") and "uniform-items-v1" in note
               for note in table.notes)
    assert not any(note.startswith("Not tested") for note in table.notes)


def test_runs_without_cold_start_say_so(tmp_path) -> None:
    _write_all(tmp_path, cold=None)
    table = build_sids_table(ExperimentRuns("sids", load_runs(tmp_path / "smoke")), SignificanceConfig())
    assert any(note.startswith("Cold: no cold-start items") for note in table.notes)


def test_the_figure_has_a_cold_group(tmp_path) -> None:
    """The cold bars are drawn: the figure of the same runs without their cold queries' values differs."""
    _write_all(tmp_path / "cold")
    render_all(tmp_path / "cold" / "smoke", tmp_path / "out")
    png = (tmp_path / "out" / "sids.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    markdown = (tmp_path / "out" / "sids.md").read_text(encoding="utf-8")
    assert "| HR@10 per target bucket Tail | HR@10 per target bucket Cold |" in markdown
    from benchmark.tables.sids import render_sids_png

    table = build_sids_table(ExperimentRuns("sids", load_runs(tmp_path / "cold" / "smoke")), SignificanceConfig())
    assert render_sids_png(table) == png
    index = [c.key for c in table.columns].index(bucket_key("cold"))
    blanked = type(table)(**{**table.__dict__, "rows": tuple(
        type(row)(**{**row.__dict__, "cells": tuple(type(c)() if i == index else c for i, c in enumerate(row.cells))})
        for row in table.rows)})
    assert render_sids_png(blanked) != png
