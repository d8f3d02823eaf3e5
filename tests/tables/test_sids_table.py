"""The sids table (benchmark.tables.sids) on hand-made runs: builders x methods, the catalog's collision rate from
run.json, HR@10 per popularity bucket of the ordered item from the stored ``target_bucket``, † against the
rqkmeans row of the same method.

30 test queries: 0-9 head, 10-19 torso, 20-29 tail. target_hit@10 per query (both seeds unless said):

    rqkmeans, sft-start   head 1 x10, torso 1 x5 + 0 x5, tail 0 x10
    sci,      sft-start   the same
    rqkmeans, raddpo      the same
    sci,      raddpo      seed 0: head 1 x10, torso 1 x5 + 0 x5, tail 1 x10
                          seed 1: the same, but tail 1 x8 + 0 x2

By hand: rqkmeans raddpo = 15/30 = 0.5 overall, head 1, torso 0.5, tail 0 (std 0 over the two seeds).
sci raddpo overall: seed 0 25/30 = 0.8333, seed 1 23/30 = 0.7667 -> 0.8000 ± 0.0471 (|0.8333 - 0.7667| / sqrt 2);
tail: seeds 1.0 and 0.8 -> 0.9000 ± 0.1414; head 1.0000 ± 0 and torso 0.5000 ± 0 as rqkmeans.
Significance: sci raddpo differs from rqkmeans raddpo on 10 queries, all in its favour (the tail), and on no
head or torso query: overall and tail get † (exact p = 2/1024 before Holm), head and torso none; sft-start rows
are identical (no mark).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from benchmark.results import Budget, load_runs, run_dir, write_run
from benchmark.tables import render_all
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.sids import BEAM, COLLISION, bucket_key, build_sids_table
from tests.results.factory import make_record

BUCKETS = ["head"] * 10 + ["torso"] * 10 + ["tail"] * 10
BASE = np.array([1.0] * 10 + [1.0] * 5 + [0.0] * 5 + [0.0] * 10)
SCI_RADDPO = {0: np.array([1.0] * 10 + [1.0] * 5 + [0.0] * 5 + [1.0] * 10),
              1: np.array([1.0] * 10 + [1.0] * 5 + [0.0] * 5 + [1.0] * 8 + [0.0] * 2)}
COLLISIONS = {"rqkmeans": 0.1, "sci": 0.25}
UNTRAINED = Budget(optimizer_steps=0, batch_size=0, examples_seen=0, tokens=0, flops=0.0, train_seconds=0.0,
                   eval_seconds=0.5)


def _write(root: Path, builder: str, method: str, seed: int, hits: np.ndarray, *, buckets: bool = True,
           catalog: bool = True) -> None:
    changes = {"budget": UNTRAINED} if method == "sft-start" else {}
    if catalog:
        changes["catalog"] = {"collision_rate": COLLISIONS[builder], "distinct_sids": 100, "n_items": 110}
    record = make_record(method=method, seed=seed, experiment="sids", variant={"builder": builder}, **changes)
    queries = {"query": [f"q{i}" for i in range(len(hits))]}
    if buckets:
        queries["target_bucket"] = BUCKETS
    per_query = {"target_hit@10": hits, "target_mrr": hits / 2, "target_ndcg@10": hits * 0.6,
                 "halluc@1": np.zeros(len(hits))}
    write_run(run_dir(root, record.profile, record.run_id), record, np.arange(len(hits)), per_query,
              queries=queries)


def _write_all(root: Path, **options) -> None:
    for seed in (0, 1):
        for builder in ("rqkmeans", "sci"):
            _write(root, builder, "sft-start", seed, BASE, **options)
        _write(root, "rqkmeans", "raddpo", seed, BASE, **options)
        _write(root, "sci", "raddpo", seed, SCI_RADDPO[seed], **options)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    _write_all(root)
    return build_sids_table(ExperimentRuns("sids", load_runs(root / "smoke")), SignificanceConfig())


def _cells(table) -> dict[str, dict[str, object]]:
    return {row.key: {c.key: cell for c, cell in zip(table.columns, row.cells)} for row in table.rows}


def test_rows_are_builders_by_method_untrained_first(table) -> None:
    assert [(row.section, row.label, row.key) for row in table.rows] == [
        ("RQ-KMeans", "SFT checkpoint (start)", "rqkmeans/sft-start"), ("RQ-KMeans", "RAD-DPO", "rqkmeans/raddpo"),
        ("SCI", "SFT checkpoint (start)", "sci/sft-start"), ("SCI", "RAD-DPO", "sci/raddpo")]
    assert [c.key for c in table.columns] == ["target_hit@10", "target_mrr", "target_ndcg@10", "halluc@1", COLLISION,
                                              BEAM, "target_hit@10:head", "target_hit@10:torso", "target_hit@10:tail",
                                              "target_hit@10:cold"]  # no cold query here: tests/tables/test_sids_cold.py


def test_golden_overall_and_per_bucket_values(table) -> None:
    cells = _cells(table)
    rq, sci = cells["rqkmeans/raddpo"], cells["sci/raddpo"]
    assert rq["target_hit@10"].value == pytest.approx(0.5) and rq["target_hit@10"].std == 0.0
    assert (rq[bucket_key("head")].value, rq[bucket_key("torso")].value, rq[bucket_key("tail")].value) == (1, 0.5, 0)
    assert sci["target_hit@10"].value == pytest.approx(0.8)
    assert sci["target_hit@10"].std == pytest.approx(math.sqrt(2) * (25 / 30 - 0.8))  # 0.0471
    assert sci[bucket_key("tail")].value == pytest.approx(0.9)
    assert sci[bucket_key("tail")].std == pytest.approx(0.1 * math.sqrt(2))  # 0.1414
    assert sci[bucket_key("head")].value == 1.0 and sci[bucket_key("torso")].value == 0.5
    assert sci["target_mrr"].value == pytest.approx(0.4) and sci["target_ndcg@10"].value == pytest.approx(0.48)
    assert sci[bucket_key("tail")].n_seeds == 2


def test_collision_rate_comes_from_the_run_record(table) -> None:
    cells = _cells(table)
    assert cells["rqkmeans/raddpo"][COLLISION].value == 0.1 and cells["sci/sft-start"][COLLISION].value == 0.25
    assert cells["sci/raddpo"][COLLISION].marks == ""  # a catalog property: never tested
    assert cells["rqkmeans/raddpo"][COLLISION].emphasis == "best"  # lower is better


def test_marks_against_rqkmeans_of_the_same_method(table) -> None:
    cells = _cells(table)
    sci = cells["sci/raddpo"]
    assert sci["target_hit@10"].marks == "†" and sci[bucket_key("tail")].marks == "†"
    assert sci[bucket_key("head")].marks == "" and sci[bucket_key("torso")].marks == ""
    assert dict(sci[bucket_key("head")].pvalues)["†"] == 1.0  # tested, no query differs
    assert all(cell.marks == "" for cell in cells["sci/sft-start"].values())
    assert all(cell.pvalues == () for row in ("rqkmeans/raddpo", "rqkmeans/sft-start")
               for cell in cells[row].values())  # the reference rows are not tested
    assert any("Test queries per bucket: head 10, torso 10, tail 10, cold 0." in note for note in table.notes)


def test_runs_stored_without_buckets_or_catalog_render_empty_cells(tmp_path) -> None:
    _write_all(tmp_path, buckets=False, catalog=False)
    table = build_sids_table(ExperimentRuns("sids", load_runs(tmp_path / "smoke")), SignificanceConfig())
    cells = _cells(table)
    assert cells["sci/raddpo"]["target_hit@10"].value == pytest.approx(0.8)
    assert cells["sci/raddpo"][bucket_key("tail")].value is None and cells["sci/raddpo"][COLLISION].value is None
    assert any("No run stored them" in note for note in table.notes)


def test_render_all_writes_the_table_and_the_figure(tmp_path) -> None:
    _write_all(tmp_path)
    render_all(tmp_path / "smoke", tmp_path / "out")
    markdown = (tmp_path / "out" / "sids.md").read_text(encoding="utf-8")
    assert "| *SCI* |" in markdown and "| **0.9000 ± 0.1414**† |" in markdown
    png = (tmp_path / "out" / "sids.png").read_bytes()
    assert png.startswith(b"\x89PNG") and b"Software" not in png
    render_all(tmp_path / "smoke", tmp_path / "again")
    assert (tmp_path / "again" / "sids.png").read_bytes() == png  # byte-identical on a rerun


def test_retrieval_baselines_are_the_first_section_read_beside_every_builder(tmp_path) -> None:
    """A retriever run of the experiment (no builder variant) is a row of its own section before the builders,
    labelled by the registry, with its per-bucket values; it has no RQ-KMeans row, so it is never tested."""
    _write_all(tmp_path)
    # the dual tower finds every tail item and no torso item: head 1, torso 0, tail 1 -> 20/30 overall
    hits = np.array([1.0] * 10 + [0.0] * 10 + [1.0] * 10)
    for seed in (0, 1):
        record = make_record(method="dense-dualtower", seed=seed, experiment="sids", budget=UNTRAINED,
                             catalog={"collision_rate": 0.1, "distinct_sids": 100, "n_items": 110})
        per_query = {"target_hit@10": hits, "target_mrr": hits / 2, "target_ndcg@10": hits * 0.6,
                     "halluc@1": np.zeros(len(hits))}
        write_run(run_dir(tmp_path, record.profile, record.run_id), record, np.arange(len(hits)), per_query,
                  queries={"query": [f"q{i}" for i in range(len(hits))], "target_bucket": BUCKETS})
    table = build_sids_table(ExperimentRuns("sids", load_runs(tmp_path / "smoke")), SignificanceConfig())
    first = table.rows[0]
    assert (first.key, first.label, first.section) == (
        "retrieval/dense-dualtower", "Dual tower (MiniLM + trained heads)", "Retrieval baselines (no generative model)")
    assert [row.key for row in table.rows[1:]] == ["rqkmeans/sft-start", "rqkmeans/raddpo", "sci/sft-start",
                                                   "sci/raddpo"]
    tower = _cells(table)["retrieval/dense-dualtower"]
    assert tower["target_hit@10"].value == pytest.approx(20 / 30)
    assert (tower[bucket_key("head")].value, tower[bucket_key("torso")].value, tower[bucket_key("tail")].value) == (
        1.0, 0.0, 1.0)
    assert tower[bucket_key("tail")].emphasis == "best"  # 1.0 beats SCI's 0.9: ranked with every row
    assert all(cell.marks == "" and cell.pvalues == () for cell in tower.values())
    assert tower[BEAM].value is None and tower[COLLISION].value == 0.1
    assert any(note.startswith("Retrieval baselines (no generative model): fitted on the same training split")
               for note in table.notes)
    # the sci rows are still marked against rqkmeans exactly as without the retriever
    assert _cells(table)["sci/raddpo"][bucket_key("tail")].marks == "†"
    render_all(tmp_path / "smoke", tmp_path / "out")
    assert (tmp_path / "out" / "sids.png").read_bytes().startswith(b"\x89PNG")
