"""Table 1 with both readings of RAD-DPO's contrast: rows labelled "as printed" / "as cited (S-DPO form)",
S-DPO among the main rows, and a table of the printed reading alone unchanged."""

from __future__ import annotations

from pathlib import Path

from benchmark.results import load_runs
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.table1 import build_table1
from tests.tables.test_protocol2_tables import N, _store

OFFSETS = {
    "query-lookup": 0.1,
    "sft": 0.0,
    "dpo": 0.0,
    "sdpo": 0.05,
    "raddpo": 0.3,
    "raddpo-no-tlgd": 0.2,
    "raddpo-sdpo": 0.4,  # the best trained row
    "raddpo-sdpo-no-tlgd": 0.2,
}


def _table(tmp_path: Path, methods: tuple[str, ...]):
    texts = [f"query {q}" for q in range(N)]
    for method in methods:
        _store(tmp_path, method, OFFSETS[method], texts)
    return build_table1(ExperimentRuns("table1", load_runs(tmp_path / "quick"), "all"), SignificanceConfig(), None)


def test_both_readings_are_labelled(tmp_path: Path) -> None:
    table = _table(tmp_path, tuple(OFFSETS))
    labels = [(row.section, row.label) for row in table.rows]
    assert labels == [
        ("Retrieval baselines (no generative model)", "Query lookup"),
        ("", "Continued SFT"),
        ("", "DPO"),
        ("", "S-DPO"),
        ("", "RAD-DPO, as printed"),
        ("", "RAD-DPO, as cited (S-DPO form)"),
        ("Ablation studies", "w/o TLGD, as printed"),
        ("Ablation studies", "w/o TLGD, as cited (S-DPO form)"),
    ]
    assert table.notes[0].startswith("Read first: on Target HR@10 the best trained row "
                                     "(RAD-DPO, as cited (S-DPO form), 0.6500)")
    assert any(note.startswith("RAD-DPO is shown in two readings") for note in table.notes)


def test_the_printed_reading_alone_keeps_its_labels(tmp_path: Path) -> None:
    table = _table(tmp_path, ("query-lookup", "sft", "dpo", "raddpo", "raddpo-no-tlgd"))
    assert [row.label for row in table.rows] == ["Query lookup", "Continued SFT", "DPO", "RAD-DPO", "w/o TLGD"]
    assert not any("two readings" in note for note in table.notes)
