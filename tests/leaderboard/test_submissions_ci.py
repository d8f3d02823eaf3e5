"""CI gate: every submission committed under results/submissions/ validates, and its stored acceptance record
(validated.json) is intact (its content hashes match) and equals the record recomputed now from its card and
rankings: method, card, track, metrics and significance alike. The board checks the hashes without the data;
this gate is what catches a record forged together with its hashes.

Submissions are grouped by dataset so one test builds each dataset's split and SID catalog once (the cache is
per test). Public datasets need GRBENCH_DATA; without it (or with no submissions) the tests skip with a reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.submission import RECORD_FILE, read_submission
from benchmark.leaderboard.validate import (
    HASHES_FIELD,
    ValidationOptions,
    record_mismatches,
    validate_submission,
)

REPO = Path(__file__).resolve().parents[2]
SUBMISSIONS = REPO / "results" / "submissions"
RESULTS = REPO / "results"
EMBEDDED_DATASETS = ("synthetic",)      # generated in code: no data directory needed
VERSION_FIELDS = ("validator", "notes", HASHES_FIELD)


def stale_fields(stored: dict, recomputed: dict) -> list[str]:
    """Top-level fields where a stored record differs from the one recomputed now: the whole record, not only
    files / metrics / track (the board renders method, card and verdicts too); only what names the validating
    grbench version may differ."""
    return sorted(k for k in set(stored) | set(recomputed)
                  if k not in VERSION_FIELDS and stored.get(k) != recomputed.get(k))


def _by_dataset() -> tuple[dict[str, list[Path]], list[str]]:
    """Submission directories grouped by the dataset their card names; unreadable ones as messages."""
    groups: dict[str, list[Path]] = {}
    broken: list[str] = []
    if SUBMISSIONS.is_dir():
        for path in sorted(p for p in SUBMISSIONS.iterdir() if not p.name.startswith(".") and not p.is_file()):
            try:
                _, card = read_submission(path)
            except SubmissionError as exc:
                broken.append(f"{path.name}: {exc}")
                continue
            groups.setdefault(card.training_data.dataset, []).append(path)
    return groups, broken


GROUPS, BROKEN = _by_dataset()


def test_every_committed_submission_is_well_formed() -> None:
    assert not BROKEN, "\n".join(BROKEN)
PARAMS = [
    pytest.param(name, marks=() if name in EMBEDDED_DATASETS else pytest.mark.publicdata, id=name)
    for name in sorted(GROUPS)
] or [pytest.param(None, id="none")]


@pytest.mark.parametrize("dataset", PARAMS)
def test_committed_submissions_validate(dataset: str | None) -> None:
    if dataset is None:
        pytest.skip(f"no submissions under {SUBMISSIONS.relative_to(REPO)} yet")
    data_dir = os.environ.get("GRBENCH_DATA")
    if dataset not in EMBEDDED_DATASETS and not (data_dir and Path(data_dir).is_dir()):
        pytest.skip(f"submissions on {dataset} need the public data: set GRBENCH_DATA (CI sets ../shared/data)")
    for path in GROUPS[dataset]:
        stored = json.loads((path / RECORD_FILE).read_text(encoding="utf-8"))
        options = ValidationOptions(n_resamples=stored["significance"]["n_resamples"],
                                    seed=stored["significance"]["seed"])
        record = validate_submission(path, data_dir=data_dir, results_root=RESULTS, write=False, options=options)
        assert stored["files"] == record["files"], f"{path.name}: validated.json is stale; run grbench validate"
        assert record_mismatches(stored) == [], f"{path.name}: validated.json was edited after validation"
        differ = stale_fields(stored, record)
        assert not differ, f"{path.name}: validated.json differs from the recomputed record in {differ}"
