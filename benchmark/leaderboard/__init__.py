"""Leaderboard: run cards, per-query ranking submissions, a validator that recomputes, the rendered board.

    from benchmark.leaderboard import export_submission, validate_submission, write_leaderboard
    export_submission(find_runs("results", "table1", "raddpo", "quick"), "results/submissions/raddpo")
    record = validate_submission("results/submissions/raddpo", results_root="results")   # -> validated.json
    write_leaderboard("results/leaderboard.md", "results/submissions", "results")       # + leaderboard.csv

Submitted content is data only: the validator reads YAML (safe loader), CSV and parquet with declared
schemas and bounded sizes, never unpickles or executes anything, and recomputes every metric itself with
``benchmark.evaluation.score_rankings`` against the benchmark's own test split and SID catalog.
"""

from benchmark.leaderboard.board import (
    PRIMARY_METRIC,
    build_leaderboard,
    render_csv,
    render_markdown,
    write_leaderboard,
)
from benchmark.leaderboard.card import RunCard, card_from_dict, dump_card, load_card, parse_card
from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.export import (
    card_for_runs,
    export_submission,
    find_runs,
    load_run_dirs,
    methods_in,
)
from benchmark.leaderboard.references import REFERENCE_EXPERIMENTS, Track, load_references
from benchmark.leaderboard.submission import (
    CARD_FILE,
    RECORD_FILE,
    Limits,
    read_rankings,
    read_submission,
    scan_submission,
    write_rankings,
)
from benchmark.leaderboard.target import BenchmarkSource, EvaluationTarget, TargetSource, resolve_target
from benchmark.leaderboard.validate import ValidationOptions, validate_submission

__all__ = [
    "CARD_FILE",
    "PRIMARY_METRIC",
    "RECORD_FILE",
    "REFERENCE_EXPERIMENTS",
    "BenchmarkSource",
    "EvaluationTarget",
    "Limits",
    "RunCard",
    "SubmissionError",
    "TargetSource",
    "Track",
    "ValidationOptions",
    "build_leaderboard",
    "card_for_runs",
    "card_from_dict",
    "dump_card",
    "export_submission",
    "find_runs",
    "load_card",
    "load_references",
    "load_run_dirs",
    "methods_in",
    "parse_card",
    "read_rankings",
    "read_submission",
    "render_csv",
    "render_markdown",
    "resolve_target",
    "scan_submission",
    "validate_submission",
    "write_leaderboard",
    "write_rankings",
]
