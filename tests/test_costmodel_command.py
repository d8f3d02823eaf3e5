"""``grbench perf calibrate`` on a tiny setting: it measures every cost class and beam width asked for, caches
them under the machine's fingerprint, and ``--check`` compares the cached calibration with stored runs. The
numbers themselves are not checked (they are wall times)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark import costmodel
from benchmark.cli import main

TINY = ["--threads", "1", "--words", "50", "--codebook", "8", "--catalog-size", "60", "--history", "3",
        "--batch", "2", "--candidates", "4", "--steps", "1", "--decode-queries", "2", "--decode-batch-size", "2",
        "--beam-widths", "4,8"]  # fmt: skip
QUICK = Path(__file__).resolve().parents[1] / "results" / "quick"


def test_calibrate_caches_every_cost_and_check_reads_stored_runs(capsys) -> None:
    assert main(["perf", "calibrate", "--sizes", "xs,s", *TINY, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["train_seconds_per_example"]) == {"xs", "s"}
    assert set(report["train_seconds_per_example"]["s"]) == set(costmodel.COST_CLASSES)
    assert set(report["decode_seconds_per_query"]["xs"]) == {"4", "8"}
    cached = costmodel.load_calibration(report["fingerprint"])
    assert cached is not None and cached.sizes == ["xs", "s"] and cached.threads == 1
    if not (QUICK / "runs").is_dir():
        return
    assert main(["perf", "calibrate", "--threads", "1", "--check", str(QUICK)]) == 0
    out = capsys.readouterr().out.splitlines()
    n_runs = sum(1 for _ in (QUICK / "runs").glob("*/run.json"))
    assert any(line.split()[:1] == ["total"] for line in out)  # a busy-machine warning may follow it
    assert len([line for line in out if "-seed" in line]) == n_runs
