"""The sids table's "Beam for RQ SID HR" column, by hand.

Four test queries, one seed. Target-SID ranks in the stored beam (per-query SID MRR = 1 / rank, 0 = missed):

    rqkmeans, raddpo   1, 1, 2, missed  -> the full beam finds 3 of 4 SIDs (0.75); it needs K = 2 for that
    sci,      raddpo   1, 5, 3, missed  -> 3 of 4 needs K = 5
    sarq,     raddpo   missed x3, 1     -> never reaches 3 of 4: empty cell
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.results import load_runs, run_dir, write_run
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.sids import BEAM, beam_to_match, build_sids_table
from tests.results.factory import make_record

INF = np.inf
RANKS = {"rqkmeans": [1, 1, 2, INF], "sci": [1, 5, 3, INF], "sarq": [INF, INF, INF, 1]}


def _write(root: Path, builder: str, ranks: list[float]) -> None:
    record = make_record(method="raddpo", seed=0, experiment="sids", variant={"builder": builder})
    sid_mrr = np.array([0.0 if r == INF else 1.0 / r for r in ranks])
    per_query = {"target_hit@10": np.ones(4), "target_mrr": np.ones(4), "target_ndcg@10": np.ones(4),
                 "halluc@1": np.zeros(4), "target_sid_mrr": sid_mrr}
    write_run(run_dir(root, record.profile, record.run_id), record, np.arange(4), per_query,
              queries={"query": [f"q{i}" for i in range(4)], "target_bucket": ["head", "torso", "tail", "head"]})


def test_beam_to_match_by_hand() -> None:
    ranks = np.array([1, 3, INF, 2])
    assert beam_to_match(ranks, 0.5) == 2.0
    assert beam_to_match(ranks, 0.75) == 3.0
    assert beam_to_match(ranks, 1.0) is None
    assert beam_to_match(ranks, 0.0) == 1.0


@pytest.fixture(scope="module")
def beams(tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("results")
    for builder, ranks in RANKS.items():
        _write(root, builder, ranks)
    table = build_sids_table(ExperimentRuns("sids", load_runs(root / "smoke")), SignificanceConfig())
    index = [c.key for c in table.columns].index(BEAM)
    return {row.key.split("/")[0]: row.cells[index] for row in table.rows}


def test_beam_column_is_the_width_each_builder_needs_for_the_reference_recall(beams) -> None:
    assert beams["rqkmeans"].value == 2.0
    assert beams["sci"].value == 5.0
    assert beams["sarq"].value is None
    assert all(cell.marks == "" for cell in beams.values())  # a property of the beam, not tested
