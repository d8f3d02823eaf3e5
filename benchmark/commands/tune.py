"""``grbench tune``: equal tuning budgets, one seeded TPE study per (dataset, profile, method) (issue 14)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.commands.options import add_data_options, experiment_and_method_names
from benchmark.config import ConfigError

HELP = """\
Tune every trained method of a profile with the same budget: tuning.trials trials of a seeded optuna TPE
study per method over the search space declared beside the method's config (DPO: beta, lr; SimPO: beta,
gamma, lr; ORPO: lam, lr; S-DPO and every RAD-DPO variant: beta, lr; continued SFT: lr). Each trial trains
the method with its full preference budget from the profile's shared SFT checkpoint (first seed) and is
scored on the VALIDATION split by tuning.metric (default target_hit@10); the test split is withheld.

The studies go to RESULTS/<profile>/tuning/<dataset>.json (every trial's parameters and score, the sampler
seed, the chosen parameters), with RESULTS/<profile>/tuning/<dataset>-sensitivity.csv and one PNG per
method. The study file is stored after every trial: an interrupted study resumes from its stored trials
(replayed through the seeded sampler, so it asks and chooses what an uninterrupted one would), and a finished
study with the same settings is reused; --dry-run says which, and estimates the hours of the trials left
from the cached cost calibration of this machine (grbench perf calibrate). With tuning.use: true in the profile (or
--set tuning.use=true), `grbench run` trains each method with its chosen configuration and records the
study in run.json.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune", help="tune every method with the same budget (optuna TPE, validation split)", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", default="full", help="smoke, quick, full, or a profile YAML path (default: full)")
    parser.add_argument("--only", default="", help="comma-separated experiments whose methods to tune (default: all)")
    parser.add_argument("--method", default="", help="comma-separated methods to tune (default: all of the profile)")
    parser.add_argument("--results", default="runs", help="results root directory (default: ./runs)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="dotted profile override, e.g. --set tuning.trials=4")
    parser.add_argument("--dry-run", action="store_true", help="validate, list the studies to run and exit")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="write into a directory git tracks although the source tree has uncommitted changes")
    add_data_options(parser)
    parser.set_defaults(func=tune_command)


def tune_command(args: argparse.Namespace) -> int:
    from benchmark.commands.run import refuse_dirty_results
    from benchmark.suite.profiles import load_profile
    from benchmark.tuning.space import search_space
    from benchmark.tuning.tune import stored_study, study_state, tune_profile, tuning_plan

    profile = load_profile(args.profile, args.set)  # validates every key and value, or raises ConfigError
    only, methods = experiment_and_method_names(args.only, args.method)
    plan = tuning_plan(profile, only, methods)
    if not plan:
        raise ConfigError(f"Nothing to tune: no trained method of profile {profile.name!r} matches "
                          f"--only {args.only!r} --method {args.method!r}.")
    for _, method in plan:
        search_space(method)  # a method without a valid search space fails before any training
    if args.dry_run:
        from benchmark.device import resolve
        from benchmark.tuning.apply import base_spec
        from benchmark.tuning.cost import tuning_report

        studies = []
        for dataset, method in plan:
            space = ", ".join(f"{k} {v}" for k, v in sorted(search_space(method).items()))
            state = study_state(profile, Path(args.results), dataset, method)
            print(f"{dataset}\t{method}\t{profile.tuning.trials} trials\t{space}\t{state}")
            stored = stored_study(profile, Path(args.results), dataset, method)
            studies.append((base_spec(profile, dataset, method), profile.tuning.trials,
                            stored["trials"] if stored else []))
        # what is left to score and how long it takes here, from the cached per-step costs (grbench perf calibrate)
        for line in tuning_report(studies, device=str(resolve())):
            print(line)
        return 0
    refuse_dirty_results(Path(args.results), args.allow_dirty, "grbench tune")
    for summary in tune_profile(profile, Path(args.results), only=only, methods=methods, data_dir=args.data_dir):
        chosen = summary["chosen"]
        params = ", ".join(f"{k}={v:.4g}" for k, v in sorted(chosen["params"].items()))
        state = "reused" if summary["reused"] else "tuned"
        print(f"{summary['dataset']}\t{summary['method']}\t{state}\t{params}\t"
              f"valid {summary['metric']} {chosen['score']:.4f} (trial {chosen['trial']})\t{summary['study']}")
    return 0
