"""End to end on the benchmark's own builders: the embedded `synthetic` dataset and a real SID catalog (the
co-occurrence encoder keeps it to seconds), validated through the CLI exactly as a submitter would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.data import DataConfig, build_dataset
from benchmark.evaluation import EvalConfig, score_rankings
from benchmark.leaderboard.card import card_from_dict, dump_card
from benchmark.leaderboard.submission import RECORD_FILE
from benchmark.sids import SidConfig, build_sids

SIDS = {"encoder": "cooccurrence"}
BEAM = 16


def _rankings(dataset, catalog, rng: np.random.Generator) -> tuple[pd.DataFrame, list]:
    """A noisy oracle: some relevant SIDs first, then random codes (some hallucinated), one ill-formed beam."""
    sizes = catalog.codebook_sizes
    rows, beams = [], []
    for qid, relevant in zip(dataset.test["query_id"], dataset.test["relevant"]):
        ranked = list(dict.fromkeys(catalog.sid_of(int(i)) for i in relevant if rng.random() < 0.5))[: BEAM - 1]
        while len(ranked) < BEAM - 1:
            sid = tuple(int(rng.integers(0, s)) for s in sizes)
            if sid not in ranked:
                ranked.append(sid)
        ranked.append(None)
        beams.append(ranked)
        rows += [(int(qid), r, "-".join(map(str, s)) if s else "") for r, s in enumerate(ranked, 1)]
    return pd.DataFrame(rows, columns=["query_id", "rank", "sid"]), beams


def test_synthetic_submission_validates_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dataset = build_dataset("synthetic", DataConfig())
    catalog = build_sids(dataset, SidConfig(**SIDS))
    frame, beams = _rankings(dataset, catalog, np.random.default_rng(0))
    expected = score_rankings(beams, [set(r) for r in dataset.test["relevant"]], catalog, EvalConfig(beam_width=BEAM))

    sub = tmp_path / "synthetic-oracle"
    sub.mkdir()
    frame.to_csv(sub / "rankings-seed0.csv", index=False)
    card = {
        "schema_version": 1, "benchmark_version": "0.1.0",
        "method": {"name": "noisy-oracle", "description": "Half of the relevant SIDs, then random codes.",
                   "code": "https://example.org/oracle"},
        "seeds": [0], "budget": {"optimizer_steps": 0, "batch_size": 1, "tokens": 0}, "hardware": "none",
        # a card names its data protocol; one that names none is a protocol-1 card (written before protocol 2)
        "training_data": {"dataset": "synthetic", "data": {"protocol": 2}, "sids": SIDS},
        "evaluation": {"beam_width": BEAM},
        "hashes": {"test_hash": dataset.test_hash, "catalog_hash": catalog.catalog_hash,
                   "split_hash": dataset.split_hash},
        "claimed_metrics": {0: {name: float(np.mean(v)) for name, v in expected.items()}},
    }
    (sub / "card.yaml").write_text(dump_card(card_from_dict(card)))
    assert main(["validate", str(sub), "--results", str(tmp_path / "no-results")]) == 0
    record = json.loads((sub / RECORD_FILE).read_text())
    assert record["track"]["n_queries"] == len(dataset.test) and record["split_hash"] == dataset.split_hash
    for name, values in expected.items():
        assert record["metrics"]["mean"][name] == pytest.approx(float(np.mean(values)), abs=1e-12)
    assert 0 < record["metrics"]["mean"]["halluc"] < 1

    # another SID config builds another catalog: its hash no longer matches the card
    (sub / RECORD_FILE).unlink()
    card["training_data"]["sids"] = {**SIDS, "seed": 1}
    (sub / "card.yaml").write_text(dump_card(card_from_dict(card)))
    capsys.readouterr()
    assert main(["validate", str(sub), "--results", str(tmp_path / "no-results")]) == 2
    err = capsys.readouterr().err
    assert f"SID catalog hash (catalog_hash) mismatch for synthetic: the card says '{catalog.catalog_hash}'" in err
    assert not (sub / RECORD_FILE).exists()
