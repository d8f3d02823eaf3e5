"""Export -> validate -> leaderboard, through the CLI: reference methods and submissions on one board."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.leaderboard import board
from benchmark.leaderboard.submission import RECORD_FILE
from tests.leaderboard.tiny import TinySource, store_reference, write_submission

METHODS = (("sft", 0.3), ("dpo", 0.35), ("raddpo", 0.9))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Reference runs of three methods (2 seeds) and a validate command wired to the tiny benchmark."""
    source = TinySource()
    results = tmp_path / "results"
    for method, skill in METHODS:
        for seed in (0, 1):
            store_reference(results, source, method, skill, seed)
    monkeypatch.setattr("benchmark.leaderboard.validate.BenchmarkSource", lambda data_dir=None: source)
    return {"source": source, "results": results, "subs": tmp_path / "submissions", "out": tmp_path / "lb.md"}


def _cli(*args: str) -> int:
    return main([str(a) for a in args])


def _rows(md: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()
            if line.startswith("| ") and not line.startswith("| #")]


def test_reference_methods_reach_the_board_from_exported_submissions(world: dict, capsys) -> None:
    results, subs = world["results"], world["subs"]
    assert _cli("submit", "--results", results, "--profile", "smoke", "--experiment", "table1", "--method", "all",
                "--out", subs) == 0
    names = sorted(p.name for p in subs.iterdir())
    assert names == ["smoke-table1-dpo", "smoke-table1-raddpo", "smoke-table1-sft"]
    for name in names:
        assert _cli("validate", subs / name, "--results", results, "--resamples", "2000") == 0
    assert "accepted: raddpo on tiny (30 queries, 2 seed(s))" in capsys.readouterr().out
    write_submission(subs / "zz-mine", world["source"], skill=0.97)
    assert _cli("validate", subs / "zz-mine", "--results", results, "--resamples", "2000") == 0
    write_submission(subs / "unvalidated", world["source"], skill=0.3)

    assert _cli("leaderboard", "--submissions", subs, "--results", results, "--out", world["out"]) == 0
    md = world["out"].read_text()
    rows = _rows(md)
    # 3 references + 3 exported + 1 new submission, sorted by item_recall@100 (descending)
    assert len(rows) == 7
    assert [r[1] for r in rows][0] == "my-method"
    values = [float(r[4].split(" ± ")[0]) for r in rows]
    assert values == sorted(values, reverse=True)
    by_kind = {(r[1], r[2].split(" ")[0]): r for r in rows}
    for method, _ in METHODS:
        ref, exported = by_kind[(method, "reference")], by_kind[(method, "submission")]
        assert ref[3:-1] == exported[3:-1]                    # same numbers, recomputed from the rankings
        if method != "sft":
            assert ref[-1] == exported[-1]                    # and the same verdict vs SFT (one Holm family)
    assert by_kind[("sft", "submission")][-1] == ""           # SFT's own rankings: no difference from SFT
    assert by_kind[("sft", "reference")][-1] == "baseline"
    assert by_kind[("my-method", "submission")][-1] == "▲"
    assert by_kind[("raddpo", "reference")][-1] == "▲"
    assert "`unvalidated`: not validated (no validated.json)" in md
    assert "## tiny · 30 test queries · beam width 8" in md

    table = list(csv.DictReader(io.StringIO(world["out"].with_suffix(".csv").read_text())))
    assert len(table) == 7 and table[0]["method"] == "my-method" and table[0]["vs_sft"] == "better"
    assert {r["vs_sft"] for r in table if r["method"] == "dpo"} <= {"n.s.", "worse"}

    # deterministic: a rerun gives byte-identical files
    before = (md, world["out"].with_suffix(".csv").read_text())
    assert _cli("leaderboard", "--submissions", subs, "--results", results, "--out", world["out"]) == 0
    assert (world["out"].read_text(), world["out"].with_suffix(".csv").read_text()) == before


def test_changed_or_forged_records_are_left_off_the_board(world: dict) -> None:
    subs, results = world["subs"], world["results"]
    sub = write_submission(subs / "mine", world["source"], skill=0.9)
    assert _cli("validate", sub, "--results", results, "--resamples", "500") == 0
    entries, skipped = board.build_leaderboard(subs, results)
    assert [e.name for e in entries if e.kind == "submission"] == ["my-method"] and skipped == []
    # rankings replaced after validation: the record no longer vouches for them
    write_submission(sub, world["source"], skill=0.99)
    entries, skipped = board.build_leaderboard(subs, results)
    assert [e.kind for e in entries] == ["reference"] * 3
    assert skipped == [("mine", "files changed since validation (fingerprints differ): validate it again")]
    record = json.loads((sub / RECORD_FILE).read_text())
    record["status"] = "rejected"
    (sub / RECORD_FILE).write_text(json.dumps(record))
    assert board.build_leaderboard(subs, results)[1] == [("mine", "validated.json does not record an acceptance")]


def test_failed_validation_exits_2_with_the_problem_and_writes_nothing(world: dict, capsys) -> None:
    sub = write_submission(world["subs"] / "bad", world["source"], skill=0.9,
                           hashes={"test_hash": "0123456789abcdef", "catalog_hash": "abc"})
    assert _cli("validate", sub, "--results", world["results"]) == 2
    err = capsys.readouterr().err
    assert "grbench validate: error: Test-split hash (test_hash) mismatch" in err and "0123456789abcdef" in err
    assert not (sub / RECORD_FILE).exists()


def test_empty_board_renders(tmp_path: Path) -> None:
    md, csv_path = board.write_leaderboard(tmp_path / "lb.md", tmp_path / "none", tmp_path / "none")
    assert "No accepted submissions or reference runs yet." in md.read_text()
    assert csv_path.read_text().startswith("dataset,n_queries,beam_width")


def test_submit_cli_from_run_dirs(world: dict) -> None:
    run_dirs = sorted((world["results"] / "smoke" / "runs").glob("table1-sft-*"))
    out = world["subs"] / "sft"
    assert _cli("submit", *[a for d in run_dirs for a in ("--run-dir", d)], "--out", out, "--name", "sft-copy") == 0
    assert sorted(p.name for p in out.iterdir()) == ["card.yaml", "rankings-seed0.parquet", "rankings-seed1.parquet"]
    assert "name: sft-copy" in (out / "card.yaml").read_text()
    mixed = sorted((world["results"] / "smoke" / "runs").glob("table1-*-seed0-*"))
    assert _cli("submit", *[a for d in mixed for a in ("--run-dir", d)], "--out", world["subs"] / "mixed") == 2
