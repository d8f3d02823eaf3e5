"""Argument helpers shared by several command groups.

Commands import these from here, never from ``benchmark.cli``: the CLI imports the commands, not the reverse.
"""

from __future__ import annotations

import argparse


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
