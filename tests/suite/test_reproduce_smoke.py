"""``grbench reproduce`` on the smoke profile: stored runs are rerun from a fresh cache and compared.

On one machine a rerun is bitwise identical (the cross-machine drift is what the command exists to measure),
so every metric must read "identical" and every mark hold; a tampered stored run must be reported.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main

pytestmark = pytest.mark.slow

SUBSET = ["--only", "table1", "--methods", "sft,dpo", "--set", "seeds=[0]"]


@pytest.fixture(scope="module")
def rerun_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rerun directory for the module: the second test finds the reruns finished and only compares."""
    return tmp_path_factory.mktemp("reruns")


def test_reproduce_smoke_reruns_every_stored_run_identically(smoke_results: Path, rerun_dir: Path,
                                                             tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GRBENCH_CACHE", "unused")  # restored afterwards: the command points it at its own cache
    report = tmp_path / "drift.csv"
    code = main(["reproduce", "smoke", *SUBSET, "--compare", str(smoke_results), "--rerun-dir", str(rerun_dir),
                 "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "rerunning 2 of" in out
    assert "every conclusion of the tables holds" in out
    rows = pd.read_csv(report)
    assert set(rows["verdict"]) == {"identical"} and (rows["identical_rows"] == rows["n_rows"]).all()
    assert (rerun_dir / "cache").is_dir()  # a fresh cache: nothing reused from the stored runs' compute


def test_reproduce_reports_a_stored_value_that_does_not_come_back(smoke_results: Path, rerun_dir: Path,
                                                                  tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GRBENCH_CACHE", "unused")
    tampered = tmp_path / "tampered"
    shutil.copytree(smoke_results, tampered)
    # both stored seeds of the cell claim a perfect score: no seed spread, and a rerun far below it
    for run in (tampered / "runs").glob("table1-dpo-seed*"):
        frame = pd.read_parquet(run / "per_query.parquet")
        frame["target_hit@10"] = 1.0  # a stored number nobody could reproduce
        frame.to_parquet(run / "per_query.parquet", index=False)
        record = json.loads((run / "run.json").read_text())
        record["metrics"]["target_hit@10"] = 1.0
        (run / "run.json").write_text(json.dumps(record, sort_keys=True, indent=2) + "\n")
    (dpo,) = (tampered / "runs").glob("table1-dpo-seed0-*")
    main(["reproduce", "smoke", *SUBSET, "--compare", str(tampered), "--rerun-dir", str(rerun_dir)])
    out = capsys.readouterr().out
    lines = out.splitlines()
    section = next(i for i, ln in enumerate(lines) if ln.startswith(dpo.name))
    line = next(ln for ln in lines[section:] if ln.strip().startswith("target_hit@10 "))
    assert line.split()[1] == "1.0000" and float(line.split()[3]) < 0  # stored, rerun, diff
    assert line.endswith("OUTSIDE seed spread"), out  # the stored seeds agree (std 0): the rerun is outside
