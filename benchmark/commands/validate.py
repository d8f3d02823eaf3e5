"""``grbench validate``: check a leaderboard submission and recompute its metrics."""

from __future__ import annotations

import argparse
import logging

from benchmark.commands.options import add_data_options

log = logging.getLogger(__name__)

HELP = """\
Validate a submission directory (card.yaml + rankings-seed<N>.parquet|csv): safe reads only, the test-split
and SID-catalog hashes against the benchmark's own rebuilt split and catalog, ranking ids/ranks/SIDs, every
metric recomputed from the rankings (claimed numbers must agree within 1e-6), and paired permutation tests
(Holm-corrected) against the reference runs on the same track. On success writes DIR/validated.json and
exits 0; on any problem prints it, writes nothing and exits 2.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="validate a leaderboard submission (recomputes every metric)", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submission", help="the submission directory")
    parser.add_argument("--results", default="results",
                        help="results root with the reference runs for significance tests (default: results)")
    parser.add_argument("--no-write", action="store_true", help="check only; do not write validated.json")
    parser.add_argument("--resamples", type=int, default=10_000, help="permutation-test resamples (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="permutation-test seed (default 0)")
    add_data_options(parser)
    parser.set_defaults(func=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    from benchmark.leaderboard.board import PRIMARY_METRIC
    from benchmark.leaderboard.validate import ValidationOptions, validate_submission

    record = validate_submission(
        args.submission, data_dir=args.data_dir, results_root=args.results, write=not args.no_write,
        options=ValidationOptions(n_resamples=args.resamples, seed=args.seed),
    )
    mean, std = record["metrics"]["mean"], record["metrics"]["std"]
    track = record["track"]
    print(f"accepted: {record['method']} on {track['dataset']} ({track['n_queries']} queries, "
          f"{len(record['seeds'])} seed(s))")
    for name in mean:
        spread = f" ± {std[name]:.4f}" if std.get(name) is not None else ""
        print(f"  {name:<16} {mean[name]:.4f}{spread}")
    for c in record["significance"]["comparisons"]:
        if c["metric"] == PRIMARY_METRIC:
            print(f"  vs {c['reference']:<18} {c['metric']} delta {c['delta']:+.4f}  p_holm {c['pvalue_holm']:.4g}"
                  f"  {c['verdict']}")
    for note in record["notes"]:
        print(f"  note: {note}")
    if not args.no_write:
        print(f"wrote {args.submission}/validated.json")
    return 0
