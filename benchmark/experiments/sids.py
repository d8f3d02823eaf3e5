"""How items get their IDs (issue #16): each SID builder of ``sid_builders.builders`` -> its own SFT checkpoint
(the same SFT budget for every builder) -> each method of ``sid_builders.methods`` on top, plus the rows that
train nothing (``sid_builders.baselines``, ``sft-start`` by default: what SFT alone does with each ID scheme).

Every run carries the variant {"builder": NAME}; only the profile's ``sids.builder`` changes between builders,
so the runs of one builder share one split, one catalog and one SFT checkpoint. A ``rqkmeans`` run resolves to
the same configuration as the other experiments' runs (the default builder is left out of every key), so the
suite reuses them instead of training again.
"""

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
    settings = profile.sid_builders
    return [
        spec_for(profile, "sids", method, seed, sids={**profile.sids, "builder": builder}, variant={"builder": builder})
        for builder in settings.builders
        for method in (*settings.baselines, *settings.methods)
    ]


def build_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    from benchmark.tables.sids import build_sids_table

    return build_sids_table(experiment, significance)


def figure(table: Table) -> bytes:
    from benchmark.tables.sids import render_sids_png  # matplotlib: only when a figure is rendered

    return render_sids_png(table)


register_experiment(Experiment("sids", "SID builders (RQ-KMeans, dual tower, SCI) under the same SFT budget, "
                               "overall and per popularity bucket, beyond the paper", runs, build_table, figure,
                               "HR@10 per popularity bucket per SID builder"))
