"""Reward-guided alignment (issue #15): GRPO, EG-GRPO, AdaGRPO and fixed NLL-GRPO mixtures beside continued SFT and
RAD-DPO, every run from the same SFT checkpoint with the same preference budget (steps, batch, examples)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.experiments.registry import Experiment, register_experiment
from benchmark.suite.matrix import RunSpec, merge, spec_for

if TYPE_CHECKING:
    from benchmark.suite.profiles import Profile
    from benchmark.tables.collect import ExperimentRuns
    from benchmark.tables.markers import SignificanceConfig
    from benchmark.tables.render import Table

MIXTURE_METHOD = "nll-grpo"  # NLL + lam * GRPO: one run per ``rl.mixtures`` value (variant {"lam": lam})


def runs(profile: Profile, seed: int) -> list[RunSpec]:
    """The non-learned rows (Table 1's ``baselines``, shared with it: run once), every method of ``rl.methods``
    and one ``nll-grpo`` run per mixture weight; with a validation curve (``curves.points`` > 0), each trained
    run also at its best-validation checkpoint (variant {"checkpoint": "best"}; the training is shared)."""
    from benchmark.suite.untrained import is_untrained

    specs = [spec_for(profile, "rl", method, seed) for method in (*profile.table1.baselines, *profile.rl.methods)]
    for lam in profile.rl.mixtures:
        base = spec_for(profile, "rl", MIXTURE_METHOD, seed)
        specs.append(dataclasses.replace(base, method_config=merge(base.method_config, {"lam": float(lam)}),
                                         variant={"lam": float(lam)}))
    if profile.curves.points:
        specs += [dataclasses.replace(s, checkpoint="best", variant={**s.variant, "checkpoint": "best"})
                  for s in specs if not is_untrained(s.method)]
    return specs


def build_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    from benchmark.tables.rl import build_rl

    return build_rl(experiment, significance)


register_experiment(Experiment("rl", "reward-guided alignment (GRPO family) vs SFT and RAD-DPO, beyond the paper",
                               runs, build_table))
