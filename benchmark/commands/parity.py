"""``grbench parity``: do two result directories that differ in one setting (precision) give the same numbers?"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

HELP = """\
Pair the runs of two result directories that differ only in some settings (default: precision, i.e.
sft.precision and preference.precision) -- same experiment, variant, method, seed, data, budget, everything
else -- and test, per table cell (experiment, variant, method; seeds pooled per query) and metric, whether B
differs from A: paired permutation test (signs flipped per query-text cluster), paired t-test, Wilcoxon
signed-rank test, bootstrap 95% CI of mean(B - A). The permutation p-values of all (cell, metric) tests are
Holm-adjusted together.

Exit status: 0 when no metric differs significantly (parity), 1 when some does, 2 on bad input.

Example (is bf16 as good as fp32 on the quick Table 1?):
  grbench run --profile quick --only table1 --results runs/bf16 --set sft.precision=bf16 \\
      --set preference.precision=bf16
  grbench parity results/quick runs/bf16/quick --only table1
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "parity", help="per-cell paired tests between two result dirs differing only in precision (or a setting)",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("a", help="a profile directory holding runs/ (e.g. results/quick), or a runs/ directory")
    parser.add_argument("b", help="the directory compared with A (differences are B - A)")
    parser.add_argument("--ignore", default="sft.precision,preference.precision",
                        help="comma-separated dotted settings the twins may differ in "
                             "(default: sft.precision,preference.precision)")
    parser.add_argument("--only", default="", help="comma-separated experiments to compare (default: all)")
    parser.add_argument("--metrics", default="",
                        help="comma-separated metrics (default: every metric both sides of a cell store)")
    parser.add_argument("--alpha", type=float, default=0.05, help="level of the Holm-adjusted verdict (default 0.05)")
    parser.add_argument("--resamples", type=int, default=10000, help="permutation / bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the permutation and bootstrap generators")
    parser.add_argument("--report", default=None, metavar="CSV", help="also write one row per (cell, metric)")
    parser.add_argument("--json", action="store_true", help="print the rows and the verdict as JSON")
    parser.set_defaults(func=parity_command)


def _runs(path: str, only: tuple[str, ...]) -> list:
    from benchmark.errors import ConfigError
    from benchmark.results import load_run, run_dirs_in

    root = Path(path)
    runs_dir = root / "runs" if (root / "runs").is_dir() else root
    if not runs_dir.is_dir():
        raise ConfigError(f"{path}: not a directory; expected a profile directory holding runs/ or a runs/ directory.")
    runs = [load_run(p) for p in run_dirs_in(runs_dir)]
    runs = [r for r in runs if not only or r.result.experiment in only]
    if not runs:
        raise ConfigError(f"{runs_dir}: no stored runs" + (f" of {', '.join(only)}" if only else "") + ".")
    return runs


def parity_command(args: argparse.Namespace) -> int:
    from benchmark.artifacts import atomic_write_text
    from benchmark.commands.options import names
    from benchmark.metrics.registry import get_metric
    from benchmark.parity import format_report, parity, report_rows

    only, metrics, ignore = names(args.only), names(args.metrics), names(args.ignore)
    for metric in metrics:
        get_metric(metric)  # an unknown name is answered with "did you mean"
    report = parity(_runs(args.a, only), _runs(args.b, only), ignore=ignore, metrics=metrics or None,
                    alpha=args.alpha, n_resamples=args.resamples, seed=args.seed)
    rows = report_rows(report)
    if args.report:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["metric"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(Path(args.report), buffer.getvalue())
    if args.json:
        print(json.dumps({"parity": report.parity, "alpha": report.alpha, "pairs": report.pairs,
                          "unpaired_a": list(report.unpaired_a), "unpaired_b": list(report.unpaired_b),
                          "differing": report.differing, "rows": rows}, indent=2, sort_keys=True))
    else:
        print(format_report(report, args.a, args.b))
    return 0 if report.parity else 1
