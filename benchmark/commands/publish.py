"""``grbench publish``: copy finished runs from a working results tree into the committed one."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.errors import ConfigError

HELP = """\
Copy every finished run of SOURCE (a profile directory holding runs/, e.g. runs/full) that TARGET (e.g.
results/full) does not have yet, re-validating each through the one results writer with its provenance
unchanged. Use it while a long suite is still running: publish, render with `grbench tables`, commit; publish
again later and only the new runs are copied. Unfinished runs are never copied (a run exists only once its
run.json is written).

--no-rankings leaves out each run's rankings.parquet: on a full test set it is ~6 MB per run, while tables
need only the per-query metrics. Keep rankings where a leaderboard track needs them.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish", help="copy finished runs into the committed results tree", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", help="profile directory with the finished runs (holding runs/)")
    parser.add_argument("target", help="profile directory to copy them into (holding or to hold runs/)")
    parser.add_argument("--no-rankings", action="store_true", help="leave out rankings.parquet")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="publish runs computed from uncommitted code (+dirty revision) into a git-tracked "
                             "directory; the tables mark them")
    parser.set_defaults(func=publish_command)


def publish_command(args: argparse.Namespace) -> int:
    from benchmark.results import publish_runs

    source, target = Path(args.source) / "runs", Path(args.target) / "runs"
    if not source.is_dir():
        raise ConfigError(f"{args.source}: no runs/ directory here (expected a profile directory such as runs/full).")
    if source.resolve() == target.resolve():
        raise ConfigError(f"source and target are the same directory: {source}.")
    _refuse_dirty_runs(source, Path(args.target), args.allow_dirty)
    copied = publish_runs(source, target, keep_rankings=not args.no_rankings)
    for run_id in copied:
        print(f"copied {run_id}")
    print(f"{len(copied)} run(s) copied to {target}" + (" without rankings" if args.no_rankings else ""))
    return 0


def _refuse_dirty_runs(source: Path, target: Path, allow: bool) -> None:
    """Runs computed from uncommitted code stay out of the history unless ``--allow-dirty``."""
    from benchmark.results import load_run, provenance, run_dirs_in

    if allow or not provenance.tracked_by_checkout(target):
        return
    dirty = [p.name for p in run_dirs_in(source) if provenance.is_dirty(load_run(p).result.code_revision)]
    if dirty:
        raise ConfigError(
            f"{len(dirty)} run(s) under {source} were computed from uncommitted code (+dirty revision), e.g. "
            f"{dirty[0]}; {target} is tracked by git. Rerun them from a commit, or pass --allow-dirty (the "
            "tables then mark them)."
        )
