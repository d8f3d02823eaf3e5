"""Protocol-2 tables: baselines first, the SFT start, seen/unseen subsets, clustered tests, significance-only
emphasis and the lookup verdict, on hand-made runs with known per-query values (written by the real writer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.metrics.registry import TARGET_METRICS
from benchmark.results import load_runs, run_dir, write_run
from benchmark.tables import render_all
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.table1 import build_table1, tie_emphasis
from tests.results.factory import make_record

N = 16
BASE = np.array([0.1, 0.2, 0.3, 0.4] * 4)
SEEN = np.array([1] * 12 + [0] * 4)  # the last four queries were held out of training
OFFSETS = {
    "popularity": -0.1,
    "query-lookup": 0.1,
    "dense-zeroshot": 0.0,
    "dense-dualtower": 0.05,
    "sft-start": 0.0,
    "sft": 0.0,
    "dpo": 0.0,
    "raddpo": 0.3,  # best trained row: 0.2 above the lookup on every query
}


def _store(root: Path, method: str, offset: float, texts: list[str], seen=SEEN, seed: int = 0) -> None:
    record = make_record(method=method, seed=seed, profile="quick")
    record.config["data"]["protocol"] = 2
    values = {m: BASE + offset for m in TARGET_METRICS}
    write_run(run_dir(root, record.profile, record.run_id), record, np.arange(N), values,
              queries={"query": np.array(texts, dtype=object), "query_seen": seen})


def _results(tmp_path: Path, texts: list[str] | None = None) -> Path:
    texts = texts or [f"query {q}" for q in range(N)]  # every row its own cluster
    for method, offset in OFFSETS.items():
        _store(tmp_path, method, offset, texts)
    return tmp_path / "quick"


def _table(profile_dir: Path, queries: str = "all"):
    experiment = ExperimentRuns("table1", load_runs(profile_dir), queries)
    return build_table1(experiment, SignificanceConfig(), paper=None)


def test_baselines_and_the_sft_start_lead_and_the_control_is_named_continued_sft(tmp_path: Path) -> None:
    table = _table(_results(tmp_path))
    labels = [(row.section, row.label) for row in table.rows]
    assert labels[:6] == [
        ("Retrieval baselines (no generative model)", "Popularity"),
        ("Retrieval baselines (no generative model)", "Query lookup"),
        ("Retrieval baselines (no generative model)", "Zero-shot dense (MiniLM)"),
        ("Retrieval baselines (no generative model)", "Dual tower (MiniLM + trained heads)"),
        ("", "SFT checkpoint (start)"),
        ("", "Continued SFT"),
    ]
    assert [c.key for c in table.columns] == list(TARGET_METRICS)
    assert table.columns[0].key == "halluc@1"  # rank-1 hallucination leads
    assert not any(row.key.startswith("paper:") for row in table.rows)


def test_the_first_note_says_whether_a_trained_row_beats_the_lookup(tmp_path: Path) -> None:
    table = _table(_results(tmp_path))
    first = table.notes[0]
    assert first.startswith("Read first: on Target HR@10 the best trained row (RAD-DPO, 0.5500)")
    assert "query lookup table (0.3500)" in first and "significantly better" in first


def test_a_clustered_design_with_duplicated_rows_no_longer_looks_significant(tmp_path: Path) -> None:
    # The same 16 values, but the rows come from two query strings: with 2 clusters the exact sign-flip
    # p-value cannot go below 0.5, so nothing is marked, and the verdict says the lookup ties.
    two_clusters = ["red shoes"] * 8 + ["blue shoes"] * 8
    table = _table(_results(tmp_path, two_clusters))
    assert all(not cell.marks for row in table.rows for cell in row.cells)
    assert "no significant difference" in table.notes[0]
    per_row = _table(_results(tmp_path / "per-row"))
    raddpo = next(row for row in per_row.rows if row.key == "raddpo")
    assert "§" in raddpo.cells[2].marks  # target_hit@10 against the lookup, one cluster per row


def test_seen_and_unseen_tables_are_means_over_their_queries(tmp_path: Path) -> None:
    profile = _results(tmp_path)
    seen, unseen = _table(profile, "seen"), _table(profile, "unseen")
    row = next(r for r in seen.rows if r.key == "query-lookup")
    assert row.cells[2].value == pytest.approx(BASE[:12].mean() + 0.1)
    row = next(r for r in unseen.rows if r.key == "query-lookup")
    assert row.cells[2].value == pytest.approx(BASE[12:].mean() + 0.1)
    summary = render_all(profile, tmp_path / "out")
    names = {item.name for item in summary.rendered}
    assert {"table1", "table1-seen", "table1-unseen"} <= names
    assert "test queries held out of training" in (tmp_path / "out" / "table1-unseen.md").read_text()


def test_emphasis_marks_only_significant_differences(tmp_path: Path) -> None:
    experiment = ExperimentRuns("table1", load_runs(_results(tmp_path)))
    groups = [experiment.get(m) for m in ("raddpo", "query-lookup", "sft", "dpo", "popularity")]
    marks = tie_emphasis(groups, "target_hit@10", SignificanceConfig())
    # RAD-DPO leads alone (0.2 above the next on every query); the lookup is next; SFT and DPO are identical
    # (a tie is a tie: both plain, below the underlined lookup); popularity is last.
    assert marks == ["best", "second", "", "", ""]
    identical = tie_emphasis([experiment.get("sft"), experiment.get("dpo")], "target_hit@10", SignificanceConfig())
    assert identical == ["best", "best"]


def test_with_several_seeds_a_test_over_seeds_is_reported(tmp_path: Path) -> None:
    texts = [f"query {q}" for q in range(N)]
    for seed, shift in ((0, 0.0), (1, 0.02), (2, 0.01)):
        for method, offset in (("sft", 0.0), ("raddpo", 0.1 + shift)):
            _store(tmp_path, method, offset, texts, seed=seed)
    table = _table(tmp_path / "quick")
    [note] = [n for n in table.notes if n.startswith("Over seeds (3)")]
    # per-seed differences 0.10, 0.12, 0.11: mean 0.11, sample std 0.01
    assert "RAD-DPO +0.1100 ± 0.0100" in note and "sign-flip p = 0.25" in note


def test_a_newly_registered_retriever_is_a_baseline_row_with_its_own_label(tmp_path: Path) -> None:
    """Section and label come from the retriever registry: a user's retriever needs no edit of the tables."""
    from benchmark.retrieval import Retriever, register_retriever
    from benchmark.retrieval.registry import _RETRIEVERS

    register_retriever(Retriever(name="bm25-mine", label="My BM25", description="d", fit=lambda *a: None))
    try:
        root = _results(tmp_path)
        _store(tmp_path, "bm25-mine", 0.05, [f"query {q}" for q in range(N)])
        labels = [(row.section, row.label) for row in _table(root).rows]
    finally:
        _RETRIEVERS.unregister("bm25-mine")
    baseline_rows = [label for section, label in labels if section == "Retrieval baselines (no generative model)"]
    assert baseline_rows == ["Popularity", "Query lookup", "Zero-shot dense (MiniLM)",
                             "Dual tower (MiniLM + trained heads)", "My BM25"]
    assert not any(section == "Other methods" for section, _ in labels)
