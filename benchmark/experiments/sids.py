"""How items get their IDs (issue #16): each SID builder of ``sid_builders.builders`` -> its own SFT checkpoint
(the same SFT budget for every builder) -> each method of ``sid_builders.methods`` on top, plus the rows that
train nothing (``sid_builders.baselines``, ``sft-start`` by default: what SFT alone does with each ID scheme).
The retrieval baselines (``sid_builders.retrievers``) need no SIDs of their own: one run each per seed, without a
builder variant, on the same cold-start split (fitted on what the generative rows train on; cold items stay in
their index), ranked into the default catalog. Every builder's per-bucket and cold score is read beside them.

Every run carries the variant {"builder": NAME}; only the profile's ``sids.builder`` changes between builders,
so the runs of one builder share one split, one catalog and one SFT checkpoint.

Cold start (``sid_builders.cold_start``, default 5%): every run of the experiment holds the same seeded share of
items out of all training (``benchmark.sids.coldstart``: the rule, and what is removed from which row); their
test rows are the ``cold`` bucket of the per-query ``target_bucket``. The share is hashed into the key of these
runs only. With ``cold_start: 0`` a ``rqkmeans`` run resolves to the same configuration as the other
experiments' runs (the default builder is left out of every key), so the suite reuses them instead of training.
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
    if settings.max_seeds is not None and seed not in profile.seeds[: settings.max_seeds]:
        return []
    retrievers = [spec_for(profile, "sids", retriever, seed, cold_start=settings.cold_start)
                  for retriever in settings.retrievers]
    return retrievers + [
        spec_for(profile, "sids", method, seed, sids={**profile.sids, "builder": builder}, variant={"builder": builder},
                 cold_start=settings.cold_start)
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
                               "overall, per popularity bucket and on cold-start items, beside the retrieval "
                               "baselines, beyond the paper", runs, build_table, figure,
                               "HR@10 per popularity bucket and on cold-start items per SID builder"))
