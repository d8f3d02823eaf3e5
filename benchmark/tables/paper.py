"""The paper's reported numbers (``benchmark/tables/paper_numbers/*.csv``), for side-by-side columns and rows.

They ship inside the package and are read through ``importlib.resources``, so an installed wheel has them too;
``results/paper/*.csv`` is the published copy (a test keeps it byte-identical), and ``results/paper/README.md``
says where each number comes from. Figure 2's values are not printed in the paper, so there is nothing to load
for it.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.resources
import logging
from typing import TYPE_CHECKING

from benchmark.errors import DataError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

log = logging.getLogger(__name__)

PAPER_DIR: Traversable = importlib.resources.files("benchmark.tables") / "paper_numbers"


@dataclasses.dataclass(frozen=True)
class PaperRow:
    method: str
    label: str
    values: dict[str, float]
    model_size: str = ""  # Table 2: this benchmark's rung shown beside the paper's backbone
    paper_model: str = ""


def _read(path: Traversable, key_columns: tuple[str, ...]) -> list[PaperRow] | None:
    if not path.is_file():
        log.info("paper numbers %s not found; tables are rendered without them", path)
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = []
        for line, record in enumerate(reader, start=2):
            try:
                values = {k: float(v) for k, v in record.items() if k not in key_columns}
            except (TypeError, ValueError) as exc:
                raise DataError(f"{path}, line {line}: a metric value is not a number ({exc}).") from exc
            rows.append(
                PaperRow(
                    method=record["method"],
                    label=record["paper_label"],
                    values=values,
                    model_size=record.get("model_size", "") or "",
                    paper_model=record.get("paper_model", "") or "",
                )
            )
    return rows


def paper_table1(paper_dir: Traversable | None = None) -> dict[str, PaperRow] | None:
    """method -> the paper's Table 1 row, or None when the file is absent."""
    rows = _read((paper_dir or PAPER_DIR) / "table1.csv", ("method", "paper_label"))
    return None if rows is None else {r.method: r for r in rows}


def paper_table2(paper_dir: Traversable | None = None) -> dict[tuple[str, str], PaperRow] | None:
    """(model_size, method) -> the paper's Table 2 row, or None when the file is absent."""
    rows = _read((paper_dir or PAPER_DIR) / "table2.csv", ("paper_model", "model_size", "method", "paper_label"))
    return None if rows is None else {(r.model_size, r.method): r for r in rows}
