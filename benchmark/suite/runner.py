"""The resumable suite runner: expand a profile, skip what is finished, run the rest, file the results.

Resumability rests on two facts: every result directory is written atomically by the one results writer
(it either exists complete or not at all), and every stage below it (split, SIDs, SFT checkpoint, method
checkpoint with its periodic training checkpoints) is cached under a key of its inputs. Killing the suite at
any point therefore loses at most the unfinished part of one training stage.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from tqdm.auto import tqdm

from benchmark.config import from_dict, to_dict
from benchmark.evaluation import EvalConfig, select_queries
from benchmark.inference import rank_queries, score_frame
from benchmark.leaderboard.references import REFERENCE_EXPERIMENTS
from benchmark.results import RunRecord, copy_run_as, finished_runs, provenance, write_run
from benchmark.suite.matrix import RunSpec, expand, shard
from benchmark.suite.profiles import Profile
from benchmark.suite.stages import method_checkpoint, prepare, sft_checkpoint
from benchmark.training import load_checkpoint

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SuiteSummary:
    planned: int
    executed: int
    reused: int
    skipped: int
    runs_dir: Path
    seconds: float


def run_suite(
    profile: Profile,
    results_root: Path,
    *,
    only: tuple[str, ...] = (),
    methods: tuple[str, ...] = (),
    shard_spec: tuple[int, int] = (1, 1),
    data_dir: str | None = None,
) -> SuiteSummary:
    """Run every unfinished spec of ``profile`` (optionally one shard of it); return what was done."""
    start = time.perf_counter()
    provenance.code_revision()  # pin the revision this process runs with before anything is committed
    specs = shard(expand(profile, only, methods), *shard_spec)
    runs_dir = Path(results_root) / profile.name / "runs"
    finished = finished_runs(runs_dir)  # run_id -> compute_key
    by_key = {key: run_id for run_id, key in finished.items()}
    executed = reused = skipped = 0
    with tqdm(specs, desc=f"suite {profile.name}", unit="run", dynamic_ncols=True) as bar:
        for spec in bar:
            bar.set_postfix_str(f"{spec.experiment} {spec.method} seed {spec.seed}")
            if spec.run_id in finished:
                skipped += 1
                continue
            if spec.compute_key in by_key:
                copy_run_as(runs_dir / by_key[spec.compute_key], runs_dir / spec.run_id, spec.experiment,
                            spec.variant, spec.run_id)
                reused += 1
            else:
                execute_run(spec, runs_dir, data_dir, profile.name)
                executed += 1
                by_key[spec.compute_key] = spec.run_id
            finished[spec.run_id] = spec.compute_key
    return SuiteSummary(len(specs), executed, reused, skipped, runs_dir, time.perf_counter() - start)


def execute_run(spec: RunSpec, runs_dir: Path, data_dir: str | None, profile: str) -> Path:
    """Train and evaluate one spec and write its result directory (atomically, via the results writer)."""
    prepared = prepare(spec, data_dir)
    sft_dir = sft_checkpoint(spec, prepared)
    trained = method_checkpoint(spec, prepared, sft_dir)
    eval_config = from_dict(EvalConfig, spec.eval)
    frame = select_queries(prepared.dataset.test, eval_config.max_queries)
    model = load_checkpoint(trained.checkpoint_dir)
    rankings = rank_queries(model, prepared.tokenizer, prepared.catalog, frame, eval_config)
    per_query = score_frame(rankings, frame, prepared.catalog, eval_config)
    record = RunRecord(
        run_id=spec.run_id,
        compute_key=spec.compute_key,
        experiment=spec.experiment,
        profile=profile,
        method=spec.method,
        seed=spec.seed,
        dataset=spec.dataset,
        model_size=spec.model_size,
        variant=spec.variant,
        config={
            **spec.compute_config(),
            "eval": to_dict(eval_config),
        },
        hashes={**prepared.hashes, "sft_checkpoint_hash": sft_dir.parent.name},
        budget={
            "optimizer_steps": trained.steps,
            "batch_size": int(spec.preference["batch_size"]),
            "examples_seen": trained.examples_seen,
            "tokens": trained.tokens,
            "flops": trained.flops,
            "train_seconds": trained.wall_seconds,
            "eval_seconds": rankings.seconds,
        },
    )
    # Rankings are what leaderboard submissions are exported from; other experiments keep per-query metrics
    # only, so the committed results stay small (a full-test-set ranking is ~8 MB per run).
    stored_rankings = rankings.to_frame() if spec.experiment in REFERENCE_EXPERIMENTS else None
    return write_run(runs_dir / spec.run_id, record, frame["query_id"].to_numpy(), per_query, stored_rankings)
