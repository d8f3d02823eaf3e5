"""Games: the Table 1 layout on the ``games`` dataset; ``games.methods: all`` means Table 1's methods."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.experiments.registry import Experiment, register_experiment
from benchmark.suite.matrix import RunSpec, spec_for

if TYPE_CHECKING:
    from benchmark.suite.profiles import Profile
    from benchmark.tables.collect import ExperimentRuns
    from benchmark.tables.markers import SignificanceConfig
    from benchmark.tables.render import Table


def runs(profile: Profile, seed: int) -> list[RunSpec]:
    methods = profile.table1.methods if profile.games.methods == "all" else tuple(profile.games.methods)
    methods = (*profile.table1.baselines, *methods)
    dataset = profile.datasets.get("games", profile.datasets["primary"])
    return [spec_for(profile, "games", method, seed, dataset=dataset) for method in methods]


def build_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    from benchmark.tables.games import build_games

    return build_games(experiment, significance)


register_experiment(Experiment("games", "Table 1 layout on a second catalog", runs, build_table, query_subsets=True))
