"""The suite's experiments, one module each, registered in ``benchmark.experiments.registry``.

Importing this package registers the built-in experiments in the order of ``BUILTIN_EXPERIMENTS``, which is
the order of a profile's run list and of ``grbench tables``; a new experiment's module is added there.
"""

import importlib

from benchmark.experiments.registry import (
    Experiment,
    experiment_names,
    get_experiment,
    register_experiment,
    unregister_experiment,
)

BUILTIN_EXPERIMENTS = ("table1", "table2", "fig2", "noise", "games", "rl", "sids")

for _module in BUILTIN_EXPERIMENTS:
    importlib.import_module(f"benchmark.experiments.{_module}")

__all__ = [
    "BUILTIN_EXPERIMENTS",
    "Experiment",
    "experiment_names",
    "get_experiment",
    "register_experiment",
    "unregister_experiment",
]
