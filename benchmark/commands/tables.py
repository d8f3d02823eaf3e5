"""``grbench tables``: re-render every table and figure from stored results (no training)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """\
Render the paper's tables and figures from stored run results alone: Table 1 (methods + ablations), Table 2
(model sizes), Figure 2 (preference-data scale, PNG), the noise sweep and the games table, each as Markdown,
LaTeX and CSV, with the paper's reported numbers alongside and Holm-corrected significance marks, plus an
index README.md. Experiments without runs are skipped with a note. A rerun on the same runs is byte-identical.

--results is a profile directory (holding runs/) or a results root holding several profiles (results/smoke,
results/quick, ...); each profile renders to <profile>/tables/, or to --out/<profile>/ when --out is given
with several profiles (--out itself for a single profile directory).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tables", help="render tables and figures from stored results", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results", default="results", help="profile directory or results root (default ./results)")
    parser.add_argument("--out", default=None, help="output directory (default: <profile>/tables)")
    parser.add_argument("--resamples", type=int, default=10000, help="permutation-test sign flips (default 10000)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm (default 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the permutation tests (default 0)")
    parser.set_defaults(func=run_tables)


def profile_dirs(results: Path) -> list[Path]:
    """``results`` itself when it holds runs/, else its subdirectories that do, sorted by name."""
    if (results / "runs").is_dir():
        return [results]
    if not results.is_dir():
        return []
    return sorted(p for p in results.iterdir() if p.is_dir() and (p / "runs").is_dir())


def run_tables(args: argparse.Namespace) -> int:
    from benchmark.errors import BenchmarkError
    from benchmark.tables import render_all
    from benchmark.tables.markers import SignificanceConfig

    significance = SignificanceConfig(alpha=args.alpha, n_resamples=args.resamples, seed=args.seed)
    results = Path(args.results)
    if not results.exists():
        raise BenchmarkError(f"--results {results} does not exist.")
    profiles = profile_dirs(results)
    if not profiles:
        sys.stdout.write(f"No run results under {results} (no runs/ directory): nothing rendered.\n")
        return 0
    single = profiles == [results]
    for profile in profiles:
        if args.out is None:
            out = profile / "tables"
        else:
            out = Path(args.out) if single else Path(args.out) / profile.name
        summary = render_all(profile, out, significance=significance)
        if not summary.rendered:
            sys.stdout.write(f"{profile}: no finished runs, nothing rendered.\n")
            continue
        sys.stdout.write(f"{profile}: {summary.n_runs} runs -> {out}\n")
        for item in summary.rendered:
            sys.stdout.write(f"  {item.name:<7} {item.runs:>4} runs  {', '.join(item.files)}\n")
        for name, reason in summary.skipped:
            sys.stdout.write(f"  {name:<7} skipped: {reason}\n")
    submissions = results / "submissions"
    if not single and submissions.is_dir() and args.out is None:
        # The leaderboard is a rendered table too: accepted submissions plus the reference runs.
        from benchmark.leaderboard import write_leaderboard

        markdown, csv = write_leaderboard(results / "leaderboard.md", submissions, results)
        sys.stdout.write(f"leaderboard -> {markdown}, {csv}\n")
    return 0
