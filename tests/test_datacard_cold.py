"""The data card's popularity buckets and cold-start counts (benchmark.datacard.bucket_counts): by hand on the
tiny split of tests/sids/test_coldstart.py, and in the card written by `grbench data card` on synthetic data."""

from __future__ import annotations

from pathlib import Path

from benchmark.cli import main
from benchmark.datacard import bucket_counts
from tests.sids.test_coldstart import _tiny


def test_bucket_counts_by_hand() -> None:
    """Full split: clicks [1, 1, 2, 1, 2, 1]: items 2 and 4 tie at mean rank 0.5 of 6 (head), the other four at
    3.5 (floor(3 * 3.5 / 6) = 1: torso). Cold start 1/3 (items 2, 3; data seed 1): clicks [1, 1, 0, 0, 2, 1]
    over warm items 0, 1, 4, 5: item 4 head, the tie of three torso. Test targets 2, 4, 3, 1."""
    dataset = _tiny()
    counts = bucket_counts(dataset, dataset.test, 1 / 3)
    assert counts.items == {"head": 2, "torso": 4, "tail": 0}
    assert counts.test_rows == {"head": 2, "torso": 2, "tail": 0}
    assert counts.cold_items == {"head": 1, "torso": 3, "tail": 0, "cold": 2}
    assert counts.cold_test_rows == {"head": 1, "torso": 1, "tail": 0, "cold": 2}
    assert counts.removed["train_rows_dropped"] == 1 and counts.removed["test_rows"] == 2


def test_the_card_reports_buckets_and_cold_start(tmp_path: Path) -> None:
    out = tmp_path / "data"
    assert main(["data", "card", "synthetic", "--profile", "smoke", "--out", str(out)]) == 0
    lines = (out / "synthetic.md").read_text().splitlines()
    start = lines.index("## Popularity buckets and cold start")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in lines[start:start + 12] if line.startswith("| ") and not line.startswith("| bucket")}
    assert list(rows) == ["head", "torso", "tail", "cold"]
    n_items = sum(int(rows[b][0].replace(",", "")) for b in ("head", "torso", "tail"))
    cold_items = int(rows["cold"][2].replace(",", ""))
    assert cold_items == round(0.05 * n_items) > 0  # the smoke profile's sid_builders.cold_start
    assert n_items == sum(int(rows[b][2].replace(",", "")) for b in rows)
    assert rows["cold"][:2] == ["–", "–"]
    evaluated = sum(int(rows[b][1].split()[0].replace(",", "")) for b in ("head", "torso", "tail"))
    assert evaluated == sum(int(rows[b][3].split()[0].replace(",", "")) for b in rows) == 100  # eval.max_queries
    assert any(line.startswith("Cold start removes from training:") for line in lines)
