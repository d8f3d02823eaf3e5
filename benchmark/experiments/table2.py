"""Table 2: the model-size ladder (``table2.sizes``) x ``table2.methods``."""

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
    specs = []
    # The non-learned baselines of table1.baselines do not depend on the model size: they run once, in the
    # block of the first size (seconds per run).
    anchors = tuple(m for m in profile.table1.baselines if is_retriever(m))
    for i, size in enumerate(profile.table2.sizes):
        for method in (*(anchors if i == 0 else ()), *profile.table2.methods):
            base = spec_for(profile, "table2", method, seed)
            specs.append(spec_for(profile, "table2", method, seed, model=merge(base.model, {"size": size}),
                                  variant={"model_size": size}))
    return specs


def build_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    from benchmark.tables.paper import paper_table2
    from benchmark.tables.table2 import build_table2

    return build_table2(experiment, significance, paper_table2(paper_dir))


register_experiment(Experiment("table2", "model-size ladder, with the paper's Table 2", runs, build_table))
