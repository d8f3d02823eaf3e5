"""``grbench reproduce``: rerun stored runs here and check that the tables' conclusions still hold."""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
from pathlib import Path

from benchmark.commands.options import add_data_options, experiment_and_method_names
from benchmark.errors import ConfigError

HELP = """\
Rerun the stored runs of a profile (or a seeded sample of them) in this environment, from a fresh cache, and
compare each with its stored twin (same run id = same resolved configuration):

  per run     how many per-query rows are bitwise identical; per metric the stored value, the rerun value,
              the difference, and whether it lies within the seed spread of that cell (with one seed the
              report says it cannot tell)
  per table   every significance mark recomputed with the reruns in place of the stored runs

Exit status: 0 when every significance mark of every table is unchanged (the conclusions hold here), 1 when
some changed, 2 on bad input. The reruns stay in --rerun-dir (resumable: a second call reuses finished ones).

Example, on a fresh clone:
  grbench reproduce quick --compare results/quick
  grbench reproduce quick --set data.protocol=1 --compare results/quick-protocol1 --sample 3
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce", help="rerun stored runs here; do the tables' conclusions still hold?", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("profile", help="smoke, quick, full, or a profile YAML path")
    parser.add_argument("--compare", default=None,
                        help="the stored profile directory (holding runs/), or a results root holding "
                             "<profile>/runs (default: results/<profile>)")
    parser.add_argument("--rerun-dir", default="runs/reproduce",
                        help="results root for the reruns (default: runs/reproduce); its cache/ is the "
                             "reruns' fresh cache unless --cache-dir is given")
    parser.add_argument("--only", default="", help="comma-separated experiments to rerun (default: all stored)")
    parser.add_argument("--methods", default="", help="comma-separated methods to rerun (default: all stored)")
    parser.add_argument("--sample", type=int, default=None, metavar="N",
                        help="rerun a seeded sample of N stored runs instead of all of them")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="dotted profile override the stored runs were made with, e.g. data.protocol=1")
    parser.add_argument("--report", default=None, metavar="CSV",
                        help="also write one row per (run, metric) to this CSV file")
    add_data_options(parser)
    parser.set_defaults(func=reproduce_command)


def stored_profile_dir(compare: str | None, profile_name: str) -> Path:
    """The directory holding the stored ``runs/``: DIR itself, or DIR/<profile>."""
    base = Path(compare) if compare else Path("results") / profile_name
    for candidate in (base, base / profile_name):
        if (candidate / "runs").is_dir():
            return candidate
    raise ConfigError(f"--compare {base}: no runs/ directory there or in {base / profile_name}; expected the "
                      f"stored results of profile {profile_name!r} (e.g. results/{profile_name}).")


def reproduce_command(args: argparse.Namespace) -> int:
    from benchmark.artifacts import atomic_write_text
    from benchmark.reproduce import compare, format_report, report_rows, sample_ids
    from benchmark.results import load_runs
    from benchmark.suite.matrix import expand
    from benchmark.suite.profiles import load_profile
    from benchmark.suite.runner import run_suite
    from benchmark.tuning.apply import tuned_specs

    if args.sample is not None and args.sample < 1:
        raise ConfigError(f"--sample must be an int >= 1. Got {args.sample}.")
    profile = load_profile(args.profile, args.set)
    stored_dir = stored_profile_dir(args.compare, profile.name)
    stored = load_runs(stored_dir)
    rerun_root = Path(args.rerun_dir)
    if (stored_dir / "tuning").is_dir():  # tuned runs are rerun with the stored study's choices
        shutil.copytree(stored_dir / "tuning", rerun_root / profile.name / "tuning", dirs_exist_ok=True)
    specs = tuned_specs(expand(profile, *experiment_and_method_names(args.only, args.methods)), profile, rerun_root)
    planned = {spec.run_id for spec in specs}
    candidates = [r.result.run_id for r in stored if r.result.run_id in planned]
    if not candidates:
        raise ConfigError(
            f"None of the {len(stored)} runs stored in {stored_dir} is in the plan of profile {profile.name!r} "
            f"(with --only/--methods/--set as given): were they made with other overrides (e.g. "
            f"--set data.protocol=1)? `grbench run --profile {args.profile} --dry-run` lists the plan's run ids.")
    chosen = sample_ids(candidates, args.sample, args.sample_seed)
    print(f"rerunning {len(chosen)} of {len(stored)} stored runs of {stored_dir} (profile {profile.name}) "
          f"into {args.rerun_dir}")

    if not args.cache_dir:  # a fresh cache: reusing the stored runs' checkpoints would reproduce nothing
        os.environ["GRBENCH_CACHE"] = str(rerun_root / "cache")
    run_suite(profile, rerun_root, run_ids=set(chosen), data_dir=args.data_dir)
    reruns = [r for r in load_runs(rerun_root / profile.name) if r.result.run_id in set(chosen)]
    report = compare(stored, reruns)
    print(format_report(report))
    if args.report:
        rows = report_rows(report)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["run_id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(Path(args.report), buffer.getvalue())
        print(f"report: {args.report}")
    return 0 if report.conclusions_hold else 1
