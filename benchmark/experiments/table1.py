"""Table 1: every method and the RAD-DPO ablations on the primary dataset, one run per method and seed.

The methods are the profile's ``table1.methods`` (default: the paper's eight rows; the built-in profiles add
S-DPO and RAD-DPO as cited, in the S-DPO form, with its ablations), so a method is added to Table 1 from a
profile, without editing code; ``table1.baselines`` adds the rows that train nothing (the
non-learned baselines and the SFT start, ``benchmark.suite.untrained``).
"""

from __future__ import annotations

import dataclasses
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
    # The baselines (non-learned retrieval, the SFT start) first: every trained row is read beside them.
    # With curves.report = best, each trained row reports its best-validation checkpoint (labelled in the table).
    from benchmark.suite.untrained import is_untrained

    best = profile.curves.report == "best"
    specs = [spec_for(profile, "table1", method, seed) for method in profile.table1.baselines]
    for method in profile.table1.methods:
        spec = spec_for(profile, "table1", method, seed)
        if best and not is_untrained(method):
            spec = dataclasses.replace(spec, checkpoint="best")  # one variant: the run's config says "best"
        specs.append(spec)
    return specs


def build_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    from benchmark.tables.paper import paper_table1
    from benchmark.tables.table1 import build_table1

    return build_table1(experiment, significance, paper_table1(paper_dir))


register_experiment(Experiment("table1", "methods + RAD-DPO ablations, with the paper's Table 1", runs, build_table,
                               query_subsets=True))
