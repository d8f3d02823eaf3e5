"""Argument helpers shared by several command groups.

Commands import these from here, never from ``benchmark.cli``: the CLI imports the commands, not the reverse.
"""

from __future__ import annotations

import argparse

from benchmark.errors import BenchmarkError, ConfigError


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Options every command that reads public data accepts."""
    parser.add_argument(
        "--data-dir",
        default=None,
        help="directory holding the public data files (default: $GRBENCH_DATA, then the user cache, "
        "then download from the pinned URLs)",
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="where built splits, SIDs, checkpoints are cached (default: $GRBENCH_CACHE or ~/.cache/grbench)",
    )


def names(text: str) -> tuple[str, ...]:
    """The names of a comma-separated option value ("" gives none)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def experiment_and_method_names(only: str, methods: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``--only`` experiments and ``--methods`` of a suite command, each checked against its registry
    (an unknown name fails with suggestions before anything runs). ``--methods`` also takes the rows that
    train nothing (``table1.baselines``: a retrieval baseline or ``sft-start``), so one new baseline can be
    added to stored results without listing every method."""
    from benchmark.experiments import get_experiment
    from benchmark.methods import get_method
    from benchmark.registry import UnknownNameError
    from benchmark.suite.untrained import is_untrained, untrained_names

    experiments, chosen = names(only), names(methods)
    for name in experiments:
        try:
            get_experiment(name)
        except BenchmarkError as exc:
            raise ConfigError(f"--only: {exc}") from exc
    for name in chosen:
        if is_untrained(name):
            continue
        try:
            get_method(name)
        except UnknownNameError as exc:
            raise UnknownNameError(f"{exc} Rows that train nothing: {', '.join(untrained_names())}.") from exc
    return experiments, chosen
