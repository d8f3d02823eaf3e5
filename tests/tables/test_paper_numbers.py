"""The paper's numbers (benchmark/tables/paper_numbers/*.csv, published as results/paper/*.csv) hold exactly
the numbers printed in the paper's Tables 1 and 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmark.tables.paper import PAPER_DIR, paper_table1, paper_table2

PAPER_TEXT = Path(__file__).resolve().parents[2].parent / "shared" / "papers" / "rad-dpo-paper.txt"
TABLE1_COLUMNS = ("halluc", "item_recall@10", "item_recall@100", "item_recall@500", "item_mrr",
                  "sid_recall@8", "sid_recall@64", "sid_recall@128", "sid_mrr")
TABLE2_COLUMNS = ("sid_recall@8", "sid_recall@64", "sid_recall@128", "sid_mrr")
NUMBER = re.compile(r"^(?:<u>)?([0-9.]+)(?:</u>)?$")


def _numbers(cells: list[str]) -> list[float]:
    return [float(NUMBER.match(c.strip()).group(1)) for c in cells]


@pytest.fixture(scope="module")
def paper_lines() -> list[str]:
    if not PAPER_TEXT.is_file():
        pytest.skip(f"the paper text {PAPER_TEXT} is not beside this checkout")
    return PAPER_TEXT.read_text(encoding="utf-8").splitlines()


def test_table1_matches_the_paper_text(paper_lines) -> None:
    start = next(i for i, line in enumerate(paper_lines) if line.startswith("Table 1:"))
    printed = {}
    for line in paper_lines[start : start + 16]:
        cells = line.split("\t")
        if len(cells) == 10 and NUMBER.match(cells[1].strip()):
            printed[cells[0].strip()] = _numbers(cells[1:])
    stored = paper_table1(PAPER_DIR)
    assert len(printed) == 8 and len(stored) == 8
    for row in stored.values():
        assert [row.values[c] for c in TABLE1_COLUMNS] == printed[row.label], row.label


def test_table2_matches_the_paper_text(paper_lines) -> None:
    start = next(i for i, line in enumerate(paper_lines) if line.startswith("Table 2:"))
    printed = {}
    model = ""
    for line in paper_lines[start : start + 20]:
        cells = line.split("\t")
        if len(cells) == 6 and NUMBER.match(cells[2].strip()):
            model = cells[0].strip() or model
            printed[(model, cells[1].strip())] = _numbers(cells[2:])
    stored = paper_table2(PAPER_DIR)
    assert len(printed) == 12 and len(stored) == 12
    for row in stored.values():
        assert [row.values[c] for c in TABLE2_COLUMNS] == printed[(row.paper_model, row.label)]
    assert {(r.paper_model, r.model_size) for r in stored.values()} == {
        ("0.6B", "xs"), ("1.7B", "s"), ("4B", "m"), ("8B", "l")}


def test_missing_paper_dir_renders_without_paper(tmp_path) -> None:
    assert paper_table1(tmp_path) is None and paper_table2(tmp_path) is None
