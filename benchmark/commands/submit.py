"""``grbench submit``: export the suite's own runs as a leaderboard submission."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmark.errors import BenchmarkError

log = logging.getLogger(__name__)

HELP = """\
Export stored runs as a leaderboard submission directory: their rankings as rankings-seed<N>.parquet and a
run card (card.yaml) filled from run.json, with the stored means as claimed metrics.

  grbench submit --run-dir results/quick/runs/table1-raddpo-seed0-... --out results/submissions/raddpo
  grbench submit --results results --profile quick --experiment table1 --method raddpo --out DIR
  grbench submit --results results --profile quick --experiment table1 --method all --out results/submissions

With --method all, --out is a parent directory and each method goes to OUT/<profile>-<experiment>-<method>.
Then check it with `grbench validate DIR`.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "submit", help="export stored runs as a leaderboard submission", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", action="append", metavar="DIR",
                        help="a run directory (or a profile directory); repeat for more seeds")
    source.add_argument("--results", metavar="DIR", help="results root holding <profile>/runs/")
    parser.add_argument("--experiment", default="table1", help="with --results: the experiment (default: table1)")
    parser.add_argument("--method", help="with --results: the method name, or 'all'")
    parser.add_argument("--profile", default=None, help="with --results: the profile (needed if several match)")
    parser.add_argument("--out", required=True, help="the submission directory to write")
    parser.add_argument("--name", default=None, help="method name on the card (default: the run's method)")
    parser.add_argument("--description", default=None, help="method description on the card")
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out directory")
    parser.set_defaults(func=submit_command)


def submit_command(args: argparse.Namespace) -> int:
    from benchmark.leaderboard.export import export_submission, find_runs, load_run_dirs, methods_in

    out = Path(args.out)
    if args.run_dir:
        written = [export_submission(load_run_dirs(args.run_dir), out, name=args.name,
                                     description=args.description, overwrite=args.force)]
    else:
        if not args.method:
            raise BenchmarkError("--results needs --method NAME (or --method all).")
        if args.method == "all":
            if not args.profile:
                raise BenchmarkError("--method all needs --profile.")
            written = [
                export_submission(find_runs(args.results, args.experiment, method, args.profile),
                                  out / f"{args.profile}-{args.experiment}-{method}", overwrite=args.force)
                for method in methods_in(args.results, args.experiment, args.profile)
            ]
        else:
            runs = find_runs(args.results, args.experiment, args.method, args.profile)
            written = [export_submission(runs, out, name=args.name, description=args.description,
                                         overwrite=args.force)]
    for path in written:
        print(f"wrote submission {path}")
    return 0
