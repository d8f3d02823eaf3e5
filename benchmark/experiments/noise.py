"""Click-noise sweep (``noise.levels`` x ``noise.methods``), beyond the paper."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.experiments.registry import Experiment, register_experiment
from benchmark.suite.matrix import RunSpec, merge, spec_for
from benchmark.suite.untrained import is_retriever

if TYPE_CHECKING:
    from benchmark.suite.profiles import Profile
    from benchmark.tables.collect import ExperimentRuns
    from benchmark.tables.markers import SignificanceConfig
    from benchmark.tables.render import Table


def runs(profile: Profile, seed: int) -> list[RunSpec]:
    # The non-learned baselines of table1.baselines run at every level: the lookup table counts clicks, so
    # click noise moves it too (seconds per run).
    anchors = tuple(m for m in profile.table1.baselines if is_retriever(m))
    return [
        spec_for(profile, "noise", method, seed, data=merge(profile.data, {"clicks": dict(level)}), variant=dict(level))
        for level in profile.noise.levels
        for method in (*anchors, *profile.noise.methods)
    ]


def build_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    from benchmark.tables.noise import build_noise

    return build_noise(experiment, significance)


register_experiment(Experiment("noise", "click-noise sweep, beyond the paper", runs, build_table))
