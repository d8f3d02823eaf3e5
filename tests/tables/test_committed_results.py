"""Regression: the committed tables and leaderboard are exactly what the committed results render to.

Every number in results/<profile>/tables/ and results/leaderboard.md must trace back to the stored run
files; re-rendering them from results/ alone must reproduce the committed files byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.leaderboard import write_leaderboard
from benchmark.tables import render_all

RESULTS = Path(__file__).resolve().parents[2] / "results"
# results/<profile>/ and the result sets inside one (results/quick/tuned/: the tuned configurations' runs)
PROFILES = sorted(p for p in (*RESULTS.glob("*"), *RESULTS.glob("*/*")) if (p / "runs").is_dir() and (p / "tables").is_dir())


@pytest.mark.parametrize("profile", PROFILES or [None], ids=[p.relative_to(RESULTS).as_posix() for p in PROFILES] or ["none"])
def test_committed_tables_reproduce_byte_for_byte(profile: Path | None, tmp_path: Path) -> None:
    if profile is None:
        pytest.skip("no committed results with rendered tables under results/")
    out = tmp_path / "tables"
    render_all(profile, out)
    committed = sorted(p.name for p in (profile / "tables").iterdir())
    assert sorted(p.name for p in out.iterdir()) == committed
    for name in committed:
        assert (out / name).read_bytes() == (profile / "tables" / name).read_bytes(), f"{profile.name}/{name}"


def test_committed_leaderboard_reproduces(tmp_path: Path) -> None:
    if not (RESULTS / "leaderboard.md").exists():
        pytest.skip("no committed leaderboard")
    markdown, csv = write_leaderboard(tmp_path / "leaderboard.md", RESULTS / "submissions", RESULTS)
    assert markdown.read_bytes() == (RESULTS / "leaderboard.md").read_bytes()
    assert csv.read_bytes() == (RESULTS / "leaderboard.csv").read_bytes()
