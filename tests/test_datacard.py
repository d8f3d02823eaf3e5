"""The data card: overlaps, ceilings and the code-space share computed by hand on small inputs, and the
command end to end on the synthetic dataset (real split, real SIDs, the three non-learned baselines)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.datacard import ceilings, code_space, overlap, target_positions


class _Catalog:
    """Three SIDs; SID (0, 0) holds items 0 and 1 (item 0 first: more popular), the others one item each."""

    codebook_sizes = (2, 4)
    _items = {(0, 0): [0, 1], (0, 1): [2], (1, 3): [3]}

    def items_for(self, sid):
        return list(self._items.get(tuple(sid), []))

    def sid_of(self, item):
        return next(sid for sid, items in self._items.items() if item in items)

    def sids(self):
        return list(self._items)


def test_overlap_counts_queries_targets_and_pairs_seen_in_training() -> None:
    train = pd.DataFrame({"query": ["a", "a", "b"], "target": [0, 1, 2]})
    test = pd.DataFrame({"query": ["a", "b", "c", "c"], "target": [1, 0, 2, 3]})
    shared = overlap(train, test)
    assert shared.query == 0.5  # a, b seen; c twice unseen
    assert shared.target == 0.75  # 1, 0, 2 were ordered in training; 3 was not
    assert shared.pair == 0.25  # only (a, 1)
    assert (shared.unseen_rows, shared.unseen_distinct, shared.distinct) == (2, 1, 3)


def test_ceilings_account_for_sid_collisions() -> None:
    test = pd.DataFrame({"target": [0, 1, 2, 3]})
    catalog = _Catalog()
    assert target_positions(test, catalog).tolist() == [0, 1, 0, 0]  # item 1 follows item 0 inside its SID
    best = ceilings(test, catalog, (1, 10))
    assert best["target_hit@1"] == 0.75 and best["target_hit@10"] == 1.0
    assert best["target_mrr"] == pytest.approx((1 + 0.5 + 1 + 1) / 4)
    assert code_space(catalog) == {"valid_sids": 3, "code_space": 8, "valid_share": 0.375}


def test_card_command_writes_the_card(tmp_path: Path, capsys) -> None:
    out = tmp_path / "data"
    assert main(["data", "card", "synthetic", "--profile", "smoke", "--out", str(out)]) == 0
    text = (out / "synthetic.md").read_text()
    for heading in ("## Overlap of the evaluated test rows with training", "## Reachable ceilings",
                    "## Retrieval baselines", "(query, ordered item) pair occurs in training",
                    "query nodes held out of training (protocol 2)", "SID code space"):
        assert heading in text, heading
    rows = [line for line in text.splitlines() if line.startswith("| query-lookup |")]
    assert [r.split("|")[2].strip() for r in rows] == ["all", "seen", "unseen"]
    # the lookup table knows nothing about an unseen query: it ranks by popularity, like the popularity row
    lookup_unseen = rows[2].split("|")[3:-1]
    popularity_unseen = next(line for line in text.splitlines()
                             if line.startswith("| popularity |") and "| unseen |" in line).split("|")[3:-1]
    assert lookup_unseen == popularity_unseen
    assert np.isfinite([float(v) for v in rows[0].split("|")[3:-1]]).all()
    assert "wrote" in capsys.readouterr().out
