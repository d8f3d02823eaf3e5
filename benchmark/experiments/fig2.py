"""Figure 2: preference-data fraction (``fig2.fractions``) -> relative improvement over SFT; table + PNG."""

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
    """Each method at each fraction under each budget of ``fig2.budgets``. A fixed-steps run carries the variant
    {"budget": "steps"}; at 100% data the two budgets are one run, filed once (as the fixed-epochs point)."""
    specs = []
    for budget in profile.fig2.budgets:
        for f in profile.fig2.fractions:
            if budget == "steps" and float(f) == 1.0 and "epochs" in profile.fig2.budgets:
                continue
            variant = {"preference_fraction": float(f), **({"budget": "steps"} if budget == "steps" else {})}
            specs += [spec_for(profile, "fig2", method, seed, preference_fraction=float(f), fraction_budget=budget,
                               variant=variant) for method in profile.fig2.methods]
    return specs


def build_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    from benchmark.tables.fig2 import build_fig2

    return build_fig2(experiment, significance)


def figure(table: Table) -> bytes:
    from benchmark.tables.fig2 import render_fig2_png  # matplotlib: only when a figure is rendered

    return render_fig2_png(table)


register_experiment(
    Experiment("fig2", "preference-data fraction -> improvement over SFT", runs, build_table, figure, "Figure 2")
)
