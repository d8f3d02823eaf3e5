"""``grbench eval`` (decode + score a checkpoint) and ``grbench compare`` (paired tests between two runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.commands.options import add_data_options
from benchmark.config import apply_overrides, from_dict
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.metrics.registry import COMPARE_METRICS, TARGET_COMPARE_METRICS

if TYPE_CHECKING:
    from benchmark.results.reader import StoredRun

EVAL_HELP = """\
Beam-search a checkpoint over a split's queries and write per-query rankings and metrics.

The checkpoint must come from `grbench train` (or the suite) on the same data split and SID catalog: the
hashes stored beside it are checked against the dataset rebuilt here, and a mismatch is refused.
Output: RESULTS/eval/runs/<run_id>/ with run.json, per_query.parquet (one column per metric) and
rankings.parquet (query_id, rank, sid, score). Decoding is unconstrained by default, so hallucinated SIDs
are measurable; --constrained restricts beams to valid SIDs with the catalog's prefix trie (hallucination 0).
"""

COMPARE_HELP = """\
Paired significance tests between two evaluated runs on their common queries: a seeded two-sided
paired permutation (sign-flip) test, a paired t-test and a Wilcoxon signed-rank test per metric, with Holm
correction across the metrics compared, and a bootstrap 95% confidence interval of the mean difference.
Without --metrics, the metrics follow the runs' data protocol: the ordered item's HR@10, NDCG@10 and MRR and
both hallucination rates under protocol 2; SID R@64, SID MRR, item R@100, item MRR and hallucination under
protocol 1. Two runs of different protocols need --metrics (their target metrics measure different things).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="decode and score a checkpoint on the test split",
                                   description=EVAL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="a training output directory or a save_pretrained directory")
    parser.add_argument("--dataset", required=True, help="dataset the checkpoint was trained on")
    parser.add_argument("--split", choices=("test", "valid"), default="test", help="split to evaluate (default test)")
    parser.add_argument("--constrained", action="store_true", help="trie-constrained beam search (only valid SIDs)")
    parser.add_argument("--beam-width", type=int, default=128, help="beams per query (default 128, the paper's)")
    parser.add_argument("--max-queries", type=int, default=None, help="evaluate the first N queries of the split")
    parser.add_argument("--batch-size", type=int, default=8, help="queries decoded together (default 8)")
    parser.add_argument("--results", default="runs", help="results root (default ./runs); writes RESULTS/eval/runs/")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="data/SID settings the checkpoint was built with, e.g. data.clicks.eta=2")
    add_data_options(parser)
    parser.set_defaults(func=run_eval)

    compare = subparsers.add_parser("compare", help="paired significance tests between two evaluated runs",
                                    description=COMPARE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    compare.add_argument("run_a", help="run directory (holding run.json and per_query.parquet)")
    compare.add_argument("run_b", help="run directory to compare against")
    compare.add_argument("--metrics", default=None,
                         help="comma-separated metrics to test (default: the runs' protocol's headline metrics)")
    compare.add_argument("--resamples", type=int, default=10000, help="permutation / bootstrap resamples")
    compare.add_argument("--seed", type=int, default=0, help="seed of the permutation and bootstrap generators")
    compare.set_defaults(func=run_compare)


def run_eval(args: argparse.Namespace) -> int:
    from benchmark.artifacts import hash_json
    from benchmark.config import to_dict
    from benchmark.data import DataConfig
    from benchmark.evaluation import EvalConfig
    from benchmark.model import SidTokenizer
    from benchmark.results import RunRecord
    from benchmark.sids import SidConfig
    from benchmark.suite.stages import evaluate, prepare_data, record
    from benchmark.training import check_metadata, resolve_model_dir

    # Every setting is validated before the dataset and SIDs are built.
    sections = apply_overrides({}, args.overrides)
    unknown = [k for k in sections if k not in ("data", "sids")]
    if unknown:
        raise ConfigError(f"--set {unknown[0]}...: only data.* and sids.* settings apply to eval.")
    data, sids = sections.get("data") or {}, sections.get("sids") or {}
    from_dict(DataConfig, data, "data.")  # built below by the prepare stage
    from_dict(SidConfig, sids, "sids.")
    config = EvalConfig(beam_width=args.beam_width, constrained=args.constrained, max_queries=args.max_queries,
                        batch_size=args.batch_size)
    model_dir = resolve_model_dir(args.checkpoint)
    # The suite's prepare -> evaluate -> record stages, on a checkpoint of the same split and catalog.
    prepared = prepare_data(args.dataset, data, sids, args.data_dir)
    metadata = check_metadata(model_dir, prepared.checked_hashes)
    training = metadata.get("training", {})
    train_config = training.get("train_config", {})
    evaluation = evaluate(model_dir, prepared, config, split=args.split,
                          tokenizer=SidTokenizer.from_pretrained(model_dir))
    rankings = evaluation.rankings

    identity = {"checkpoint": str(model_dir.resolve()), "split": args.split, "dataset": args.dataset,
                "data": data, "sids": sids, "eval": to_dict(config)}
    mode = "constrained" if config.constrained else "unconstrained"
    run_id = f"eval-{training.get('method', 'model')}-{mode}-{hash_json(identity, 10)}"
    run = RunRecord(
        run_id=run_id, compute_key=hash_json(identity), experiment="custom", profile="eval",
        method=str(training.get("method", "unknown")), seed=int(train_config.get("seed", 0)),
        dataset=args.dataset, model_size=str(metadata.get("model_size", "unknown")),
        variant={"decoding": mode, "split": args.split},
        config=identity, hashes={**prepared.hashes, "sft_checkpoint_hash": None},
        budget={"optimizer_steps": int(training.get("step", 0)), "batch_size": int(train_config.get("batch_size", 0)),
                "examples_seen": int(training.get("examples_seen", 0)), "tokens": int(training.get("tokens", 0)),
                "flops": 0.0, "train_seconds": 0.0, "eval_seconds": rankings.seconds},
    )
    out = record(Path(args.results) / "eval" / "runs" / run_id, run, evaluation, overwrite=True)
    sys.stdout.write(f"{len(evaluation.frame)} queries, beam {config.beam_width}, {mode}, {rankings.seconds:.1f} s "
                     f"-> {out}\n")
    for name in sorted(evaluation.per_query):
        sys.stdout.write(f"  {name:<18} {float(evaluation.per_query[name].mean()):.4f}\n")
    return 0


def default_compare_metrics(runs: Sequence[StoredRun], paths: Sequence[str]) -> tuple[str, ...]:
    """The metrics `grbench compare` tests when none are named: those of the runs' data protocol."""
    protocols = [run.result.protocol for run in runs]
    if len(set(protocols)) > 1:
        raise BenchmarkError(f"{paths[0]} is data protocol {protocols[0]} and {paths[1]} is protocol {protocols[1]}: "
                             "their metrics measure different targets; name the metrics to compare with --metrics.")
    return TARGET_COMPARE_METRICS if protocols[0] >= 2 else COMPARE_METRICS


def run_compare(args: argparse.Namespace) -> int:
    import numpy as np

    from benchmark.metrics.registry import get_metric
    from benchmark.results import load_run
    from benchmark.stats import (
        align_labels,
        bootstrap_ci,
        compare_family,
        pair_by_query,
        paired_t_test,
        wilcoxon_test,
    )

    runs = [load_run(path) for path in (args.run_a, args.run_b)]
    frames = [run.per_query() for run in runs]
    common = np.intersect1d(frames[0]["query_id"], frames[1]["query_id"])
    if common.size == 0:
        raise BenchmarkError(f"{args.run_a} and {args.run_b} share no query ids: they were not evaluated on the same split.")
    metrics = ([m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics is not None
               else list(default_compare_metrics(runs, (args.run_a, args.run_b))))
    for metric in metrics:
        get_metric(metric)   # an unknown name is answered with "did you mean"
        for frame, path in zip(frames, (args.run_a, args.run_b)):
            if metric not in frame.columns:
                raise BenchmarkError(f"{path} has no metric {metric!r}. Available: {', '.join(frame.columns)}.")
    paired = [pair_by_query(frames[0]["query_id"], frames[0][m], frames[1]["query_id"], frames[1][m])
              for m in metrics]
    pairs = [p[1:] for p in paired]
    # Rows sharing a query string are not independent: flip signs per query when both runs stored the text.
    clustered = all("query" in f.columns for f in frames)
    clusters = ([align_labels(p[0], frames[0]["query_id"], frames[0]["query"]) for p in paired]
                if clustered else None)
    tested = compare_family(pairs, n_resamples=args.resamples, seed=args.seed, clusters=clusters)
    names = [f"{r.result.method} ({Path(p).name})" for r, p in zip(runs, (args.run_a, args.run_b))]
    flips = "signs flipped per query cluster" if clustered else "signs flipped per row (no query texts stored)"
    sys.stdout.write(f"A = {names[0]}\nB = {names[1]}\n{common.size} paired queries, seed {args.seed}, {flips}\n")
    sys.stdout.write(f"{'metric':<16} {'A':>8} {'B':>8} {'perm p':>9} {'Holm p':>9} {'t p':>9} {'Wilcoxon p':>11}  95% CI (A-B)\n")
    for metric, (a, b), test in zip(metrics, pairs, tested):
        ci = bootstrap_ci(a, b, n_resamples=args.resamples, seed=args.seed)
        sys.stdout.write(f"{metric:<16} {a.mean():8.4f} {b.mean():8.4f} {test.test.pvalue:9.4g} {test.pvalue_holm:9.4g} "
                         f"{paired_t_test(a, b).pvalue:9.4g} {wilcoxon_test(a, b).pvalue:11.4g}  "
                         f"[{ci.low:+.4f}, {ci.high:+.4f}]\n")
    return 0
