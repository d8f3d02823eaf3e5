"""The experiment registry: each experiment of the suite is registered once, by its own module.

An ``Experiment`` says which runs it needs (``runs(profile, seed) -> [RunSpec]``, the experiment-specific
part of ``benchmark.suite.matrix.expand``) and how its table is built from those runs
(``build_table(runs, significance, paper_dir) -> Table``). The profile loader (which experiment names a
profile may list), ``matrix.expand``, the results schema (which experiment names a run may carry) and
``grbench tables`` (which tables exist, in which order) all read this registry, so adding an experiment is one
module here plus its name in ``BUILTIN_EXPERIMENTS`` (``benchmark/experiments/__init__.py``; README,
"Adding an experiment").

The registration order is the order of ``grbench tables`` and of the run list within a profile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.registry import Registry

if TYPE_CHECKING:
    from benchmark.suite.matrix import RunSpec
    from benchmark.suite.profiles import Profile
    from benchmark.tables.collect import ExperimentRuns
    from benchmark.tables.markers import SignificanceConfig
    from benchmark.tables.render import Table


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One experiment: its name (run ids, the ``experiments`` profile key, table file names), its runs for a
    profile and seed, its table, and optionally a figure rendered from that table (PNG bytes, ``<name>.png``,
    shown in the tables index under ``figure_alt``)."""

    name: str
    description: str
    runs: Callable[[Profile, int], list[RunSpec]]
    build_table: Callable[[ExperimentRuns, SignificanceConfig, Path | None], Table]
    figure: Callable[[Table], bytes] | None = None
    figure_alt: str = "figure"  # the figure's alt text in the tables index
    # Also render ``<name>-seen`` / ``<name>-unseen``: the table on the test queries seen in training and on
    # those held out of it, when the runs stored which is which (protocol 2).
    query_subsets: bool = False


_REGISTRY: Registry[Experiment] = Registry("experiment")


def register_experiment(experiment: Experiment) -> Experiment:
    """Register ``experiment``; a duplicate name is an error."""
    return _REGISTRY.register(experiment.name, experiment)


def unregister_experiment(name: str) -> None:
    """Remove a registered experiment (tests that register a temporary one)."""
    _REGISTRY.unregister(name)


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name``; an unknown name fails with "Did you mean ... / Available: ..."."""
    return _REGISTRY.get(name)


def experiment_names() -> tuple[str, ...]:
    """Every registered experiment, in registration order."""
    return tuple(_REGISTRY.names())
