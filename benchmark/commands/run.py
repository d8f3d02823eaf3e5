"""``grbench run``: the experiment suite (DESIGN.md section 9)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmark.commands.options import add_data_options, experiment_and_method_names
from benchmark.config import ConfigError

log = logging.getLogger(__name__)

HELP = """\
Run the experiment matrix of a profile, resumably, then render its tables.

Profiles (see README for measured wall times):
  smoke  synthetic data, xs model, every method and table (a couple of minutes; part of the tests)
  quick  amazon18-scientific, size s, 1 seed, Table 1's thirteen methods, the rl and sids experiments, 1,000
         test queries (about 2.7 h from scratch on 2 cores; --dry-run prints the estimate)
  full   every experiment (Table 1, Table 2, Figure 2, noise sweep, games, rl, sids), 3 seeds (about 160 h on
         2 cores; --dry-run prints the estimate)

Every key and value of the profile and its --set overrides (every section, every method's settings, every
swept size, fraction and noise level) is validated before anything is built or trained: --dry-run checks a
profile. Every run is content-addressed by its resolved config: a finished run is never recomputed, and an
interrupted suite continues where it stopped. Results go to RESULTS/<profile>/runs/<run_id>/ and tables to
RESULTS/<profile>/tables/.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the experiment suite (smoke | quick | full)", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", default="full", help="smoke, quick, full, or a profile YAML path (default: full)")
    parser.add_argument("--only", default="", help="comma-separated experiments: table1,table2,fig2,noise,games,rl,sids")
    parser.add_argument("--methods", default="", help="comma-separated methods to keep (default: all of the profile)")
    parser.add_argument("--shard", default="1/1", help="run shard i of n (e.g. 2/4); results merge by run id")
    parser.add_argument("--executor", default="local", choices=("local", "ray"),
                        help="where runs are computed: local (in this process, the default) or ray (one Ray task "
                             "per run, each with this process's thread count of CPUs; results come back here and "
                             "are written by this process)")
    parser.add_argument("--address", default=None,
                        help="with --executor ray: the cluster to submit to (auto, HOST:6379 or ray://HOST:10001; "
                             "default: $RAY_ADDRESS, else a local Ray instance on this machine)")
    parser.add_argument("--gpus-per-run", type=float, default=0.0, metavar="G",
                        help="with --executor ray: GPUs each run asks Ray for (default 0: CPU only)")
    parser.add_argument("--results", default="runs", help="results root directory (default: ./runs)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="dotted profile override, e.g. --set sft.steps=100 --set seeds=[0]")
    parser.add_argument("--no-tables", action="store_true", help="do not render tables after the runs")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate the profile, list the runs that would execute and exit")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="write into a directory git tracks (e.g. results/) although the source tree has "
                             "uncommitted changes; the runs then record a +dirty revision and every table "
                             "says so")
    add_data_options(parser)
    parser.set_defaults(func=run_command)


def refuse_dirty_results(target: Path, allow: bool, command: str) -> None:
    """No result enters the history from code nobody can check out: writing into a git-tracked directory
    needs a clean tree (or ``--allow-dirty``, which the stored revision and the tables then show)."""
    from benchmark.results import provenance

    revision = provenance.code_revision()
    if allow or not provenance.is_dirty(revision) or not provenance.tracked_by_checkout(target):
        return
    raise ConfigError(
        f"{command}: the source tree has uncommitted changes ({revision}), and {target} is tracked by git: its "
        "results would record a revision nobody can check out. Commit first, write to an ignored directory "
        "(the default runs/), or pass --allow-dirty (the tables then mark those runs)."
    )


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like i/n with integers (e.g. 1/4). Got {text!r}.") from None
    if not 1 <= index <= count:
        raise ConfigError(f"--shard i/n needs 1 <= i <= n. Got {text!r}.")
    return index, count


def parse_executor_options(args: argparse.Namespace) -> dict:
    """The options of ``--executor`` (``benchmark.suite.executors``); Ray's only apply to it."""
    if args.gpus_per_run < 0:
        raise ConfigError(f"--gpus-per-run must be a number >= 0. Got {args.gpus_per_run}.")
    if args.executor != "ray":
        given = [name for name, value in (("--address", args.address), ("--gpus-per-run", args.gpus_per_run))
                 if value]
        if given:
            raise ConfigError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to --executor ray "
                              "only.")
        return {}
    return {"address": args.address, "gpus_per_run": args.gpus_per_run}


def run_command(args: argparse.Namespace) -> int:
    from benchmark.suite.matrix import expand, shard
    from benchmark.suite.profiles import load_profile

    profile = load_profile(args.profile, args.set)  # validates every key and value, or raises ConfigError
    only, methods = experiment_and_method_names(args.only, args.methods)
    shard_spec = parse_shard(args.shard)
    executor_options = parse_executor_options(args)
    if args.dry_run:
        from benchmark.costmodel import dry_run_report
        from benchmark.device import resolve
        from benchmark.tuning.apply import tuned_specs

        specs = shard(tuned_specs(expand(profile, only, methods), profile, Path(args.results)), *shard_spec)
        for spec in specs:
            print(f"{spec.run_id}\t{spec.dataset}\t{spec.model_size}\t{spec.variant}")
        # what is left to do and how long it takes here, on the device the runs would use, from the cached
        # per-step costs (grbench perf calibrate)
        for line in dry_run_report(specs, Path(args.results) / profile.name / "runs", Path(args.results),
                                   device=str(resolve())):
            print(line)
        return 0

    refuse_dirty_results(Path(args.results), args.allow_dirty, "grbench run")
    from benchmark.suite.runner import run_suite

    summary = run_suite(profile, Path(args.results), only=only, methods=methods, shard_spec=shard_spec,
                        data_dir=args.data_dir, executor=args.executor, executor_options=executor_options)
    print(
        f"profile {profile.name}: {summary.planned} runs planned, {summary.executed} executed, "
        f"{summary.reused} reused from identical configs, {summary.skipped} already finished "
        f"({summary.seconds:.0f} s); results in {summary.runs_dir}"
    )
    if not args.no_tables:
        from benchmark.tables import render_all

        out = Path(args.results) / profile.name / "tables"
        written = render_all(Path(args.results) / profile.name, out)
        print(f"tables: {len(written)} files in {out}")
    return 0
