"""Audit D1: the board renders only records it re-verifies; a hand-edited validated.json never reaches it.

The audit's case: a valid submission's validated.json edited by hand (method -> a <script> tag, the verdict
vs SFT -> better, other numbers) was rendered as a better-than-SFT row. Now the record's content hashes,
its file fingerprints and its agreement with card.yaml are checked on every build, and the CI gate
(``stale_fields``) compares the whole record with one recomputed from the rankings.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from benchmark.leaderboard import board
from benchmark.leaderboard.submission import RECORD_FILE
from benchmark.leaderboard.validate import ValidationOptions, seal_record, validate_submission
from tests.leaderboard.test_submissions_ci import stale_fields
from tests.leaderboard.tiny import TinySource, store_reference, write_submission

SCRIPT = "<script>alert(1)</script>"
OPTIONS = ValidationOptions(n_resamples=500)


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """SFT and DPO reference runs (2 seeds) and one accepted submission ``mine`` as good as SFT."""
    source = TinySource()
    results = tmp_path / "results"
    for method, skill in (("sft", 0.3), ("dpo", 0.35)):
        for seed in (0, 1):
            store_reference(results, source, method, skill, seed)
    subs = tmp_path / "submissions"
    sub = write_submission(subs / "mine", source, skill=0.3)
    validate_submission(sub, source=source, results_root=results, options=OPTIONS)
    return {"source": source, "results": results, "subs": subs, "sub": sub}


def _record(sub: Path) -> dict:
    return json.loads((sub / RECORD_FILE).read_text())


def _forge(record: dict) -> dict:
    """The audit's edit: a script as the method, better than SFT, every number replaced."""
    record = json.loads(json.dumps(record))
    record["method"] = SCRIPT
    record["metrics"]["mean"] = {k: 0.9876 for k in record["metrics"]["mean"]}
    for c in record["significance"]["comparisons"]:
        if c["reference"] == "sft":
            c.update(delta=0.5, pvalue=1e-9, pvalue_holm=1e-9, verdict="better")
    return record


def _render(world: dict) -> tuple[str, str, list, list]:
    entries, skipped = board.build_leaderboard(world["subs"], world["results"])
    return board.render_markdown(entries, skipped), board.render_csv(entries), entries, skipped


def test_the_honest_record_is_rendered(world: dict) -> None:
    md, _, entries, skipped = _render(world)
    [mine] = [e for e in entries if e.kind == "submission"]
    assert skipped == [] and mine.name == "my-method" and mine.vs_sft is not None
    assert mine.vs_sft.verdict() != "better"
    assert "0.9876" not in md


def test_a_hand_edited_record_is_refused_naming_the_directory_and_the_fields(world: dict) -> None:
    (world["sub"] / RECORD_FILE).write_text(json.dumps(_forge(_record(world["sub"]))))
    md, table, entries, skipped = _render(world)
    assert [e.kind for e in entries] == ["reference", "reference"]
    [(name, reason)] = skipped
    assert name == "mine"
    assert reason.startswith("mine/validated.json does not match its content hashes (changed since validation: "
                             "method, metrics, significance)")
    rows = "".join(line for line in md.splitlines() if line.startswith("| "))
    assert "<script" not in md and "script" not in table
    assert "0.9876" not in md + table and "▲" not in rows and "better" not in table
    assert "submission" not in rows + table


def test_a_resealed_record_must_still_describe_its_card(world: dict) -> None:
    """A forger who recomputes the hashes: the name must be the card's, and the card passes its schema."""
    forged = seal_record({k: v for k, v in _forge(_record(world["sub"])).items() if k != "content_hashes"})
    (world["sub"] / RECORD_FILE).write_text(json.dumps(forged))
    md, _, entries, skipped = _render(world)
    assert [e.kind for e in entries] == ["reference", "reference"]
    assert skipped == [("mine", "mine/validated.json does not describe its card.yaml (field(s) method differ); "
                                "run `grbench validate` on it")]
    assert "<script" not in md


def test_a_resealed_record_with_forged_numbers_fails_the_ci_gate(world: dict) -> None:
    """Numbers cannot be recomputed without the dataset; the CI gate recomputes the record and compares."""
    stored = _forge(_record(world["sub"]))
    stored["method"] = "my-method"
    stored = seal_record({k: v for k, v in stored.items() if k != "content_hashes"})
    (world["sub"] / RECORD_FILE).write_text(json.dumps(stored))
    recomputed = validate_submission(world["sub"], source=world["source"], results_root=world["results"],
                                     write=False, options=OPTIONS)
    assert stale_fields(stored, recomputed) == ["metrics", "significance"]
    assert stale_fields(_record(world["sub"]), _record(world["sub"])) == []


def test_records_without_content_hashes_are_refused(world: dict) -> None:
    record = _record(world["sub"])
    del record["content_hashes"]
    record["schema_version"] = 1
    (world["sub"] / RECORD_FILE).write_text(json.dumps(record))
    assert board.build_leaderboard(world["subs"], world["results"])[1] == [
        ("mine", "mine/validated.json has record schema_version 1; this grbench renders version 2 (sealed with "
                 "content hashes): run `grbench validate` on it")]
    record["schema_version"] = 2
    (world["sub"] / RECORD_FILE).write_text(json.dumps(record))
    [(_, reason)] = board.build_leaderboard(world["subs"], world["results"])[1]
    assert "changed since validation: content_hashes" in reason


@pytest.mark.parametrize("payload", [[1, 2], {"status": "accepted", "schema_version": 2, "files": [], "track": 3}])
def test_records_of_any_shape_leave_only_that_submission_out(world: dict, payload: object) -> None:
    (world["sub"] / RECORD_FILE).write_text(json.dumps(payload))
    entries, skipped = board.build_leaderboard(world["subs"], world["results"])
    assert len(entries) == 2 and [name for name, _ in skipped] == ["mine"]


def test_the_board_takes_the_csv_fields_from_verified_data_only(world: dict) -> None:
    _, table, _, _ = _render(world)
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["method"] for r in rows if r["type"] == "submission"] == ["my-method"]
