"""``grbench leaderboard``: render results/leaderboard.md and .csv from accepted submissions + references."""

from __future__ import annotations

import argparse
import logging

from benchmark.config import ConfigError

log = logging.getLogger(__name__)

HELP = """\
Render the leaderboard from accepted submissions (each with a validated.json whose file fingerprints still
match, whose fields still match the content hashes grbench validate sealed it with, and which agrees with the
submission's card.yaml; any other is listed under "Not shown" with the reason) plus the reference systems of
the stored suite runs, one table per track (dataset, test split, SID catalog, beam width, evaluated queries),
sorted by the primary metric, with significance markers vs SFT. Text from submissions is escaped (Markdown)
and neutralised against spreadsheet formulas (CSV). Deterministic: identical inputs give byte-identical files.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from benchmark.leaderboard.board import BOARD_METRICS, PRIMARY_METRIC

    parser = subparsers.add_parser(
        "leaderboard", help="render the leaderboard (Markdown + CSV)", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--submissions", default="results/submissions", help="submissions root")
    parser.add_argument("--results", default="results", help="results root with the reference runs")
    parser.add_argument("--out", default="results/leaderboard.md", help="Markdown output; CSV beside it")
    parser.add_argument("--primary", default=PRIMARY_METRIC, choices=BOARD_METRICS,
                        help=f"sort metric (default: {PRIMARY_METRIC})")
    parser.add_argument("--reference-experiments", default="table1,games",
                        help="suite experiments whose runs are reference rows (default: table1,games)")
    parser.set_defaults(func=leaderboard_command)


def leaderboard_command(args: argparse.Namespace) -> int:
    from benchmark.leaderboard.board import write_leaderboard
    from benchmark.registry import unknown_name_message
    from benchmark.results import experiment_names

    experiments = tuple(e.strip() for e in args.reference_experiments.split(",") if e.strip())
    for name in experiments:
        if name not in experiment_names():
            raise ConfigError("--reference-experiments: "
                              + unknown_name_message("experiment", name, list(experiment_names())))
    md, csv = write_leaderboard(args.out, args.submissions, args.results, args.primary, experiments)
    print(f"wrote {md} and {csv}")
    return 0
