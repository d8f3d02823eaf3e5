"""No result enters the history from uncommitted code: `grbench run` and `grbench publish` refuse to write
runs with a +dirty revision into a git-tracked directory unless --allow-dirty, and tables mark such runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.commands.run import refuse_dirty_results
from benchmark.config import ConfigError
from benchmark.results import load_runs, provenance
from benchmark.tables.collect import ExperimentRuns, describe_runs
from tests.results.factory import make_record, store_run

ROOT = Path(__file__).resolve().parents[2]


def test_tracked_directories_are_those_git_would_commit(tmp_path: Path) -> None:
    if provenance.source_checkout() is None:
        pytest.skip("not running from a git checkout")
    assert provenance.tracked_by_checkout(ROOT / "results")
    assert not provenance.tracked_by_checkout(ROOT / "runs")  # the default --results is ignored
    assert not provenance.tracked_by_checkout(tmp_path)


def test_run_refuses_a_dirty_tree_only_for_tracked_results(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(provenance, "code_revision", lambda: "abc1234+dirty")
    monkeypatch.setattr(provenance, "tracked_by_checkout", lambda path: Path(path).name == "results")
    with pytest.raises(ConfigError, match=r"uncommitted changes \(abc1234\+dirty\).*--allow-dirty"):
        refuse_dirty_results(tmp_path / "results", False, "grbench run")
    refuse_dirty_results(tmp_path / "results", True, "grbench run")  # allowed, and then marked
    refuse_dirty_results(tmp_path / "runs", False, "grbench run")  # an ignored directory is fine
    monkeypatch.setattr(provenance, "code_revision", lambda: "abc1234")
    refuse_dirty_results(tmp_path / "results", False, "grbench run")


def test_publish_refuses_dirty_runs_and_tables_mark_them(monkeypatch, tmp_path: Path, capsys) -> None:
    store_run(tmp_path / "src", make_record(method="sft", code_revision="abc1234+dirty"), {"sid_mrr": [0.1, 0.2]})
    monkeypatch.setattr(provenance, "tracked_by_checkout", lambda path: True)
    source, target = tmp_path / "src" / "smoke", tmp_path / "target"
    assert main(["publish", str(source), str(target)]) == 2
    assert "computed from uncommitted code" in capsys.readouterr().err
    assert not (target / "runs").exists()
    assert main(["publish", str(source), str(target), "--allow-dirty"]) == 0
    line = describe_runs(ExperimentRuns("table1", load_runs(target)))
    assert "1 run(s) were computed from uncommitted code (abc1234+dirty)" in line
