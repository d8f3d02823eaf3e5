"""Games: the Table-1 layout on amazon18-games, a second, larger catalog (generality beyond one category).

The paper reports no results on this dataset, so there is no paper block.
"""

from __future__ import annotations

import dataclasses

from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.render import Table
from benchmark.tables.table1 import build_methods_table


def build_games(experiment: ExperimentRuns, significance: SignificanceConfig) -> Table:
    dataset = experiment.single("dataset")
    table = build_methods_table(
        experiment,
        name="games",
        title=f"Methods and ablations on {dataset} (Table 1 layout)",
        significance=significance,
    )
    return dataclasses.replace(table, notes=(*table.notes, "The paper reports no results on this dataset."))
