"""The resumable suite runner: expand a profile, skip what is finished, run the rest, file the results.

Resumability rests on two facts: every result directory is written atomically by the one results writer
(it either exists complete or not at all), and every stage below it (split, SIDs, SFT checkpoint, method
checkpoint with its periodic training checkpoints) is cached under a key of its inputs. Killing the suite at
any point therefore loses at most the unfinished part of one training stage.

Several suites may share one results directory and cache (two terminals, or shards on one machine): each run
and each cached stage is computed under an advisory lock of its key (``benchmark.locks``), so a second process
waits for the first and then reuses what it produced instead of computing it again.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from benchmark import faults
from benchmark.artifacts import cache_root, ensure_writable_dir, sweep_stale_temporaries
from benchmark.locks import acquire, lock_path, release, remove_stale_locks, try_acquire
from benchmark.results import (
    REFERENCE_EXPERIMENTS,
    RunRecord,
    copy_run_as,
    finished_runs,
    load_run,
    provenance,
    run_dirs_in,
)
from benchmark.suite.executors import SuitePlan, get_executor
from benchmark.suite.matrix import RunSpec, expand, shard
from benchmark.suite.profiles import Profile
from benchmark.suite.stages import Evaluation, catalog_summary, evaluate_trained, prepare, sft_key
from benchmark.suite.stages import record as record_run
from benchmark.suite.untrained import evaluate_untrained, is_retriever, is_untrained
from benchmark.tuning.apply import tuned_specs

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
    run_ids: Collection[str] | None = None,
    executor: str = "local",
    executor_options: Mapping[str, Any] | None = None,
) -> SuiteSummary:
    """Run every unfinished spec of ``profile`` (optionally one shard of it); return what was done.

    Several processes may run suites on one results directory and cache at once: each run is done under the
    lock of its compute key, and a run another process is working on is deferred to the end, then waited
    for and found finished (counted as skipped). Nothing is computed twice.

    ``executor`` computes the runs (``benchmark.suite.executors``: ``local`` in this process, ``ray`` as Ray
    tasks, with ``executor_options`` such as ``address``); results are filed here by the one writer either way.
    """
    run_with = get_executor(executor)  # an unknown name fails before any work
    start = time.perf_counter()
    runs_dir = Path(results_root) / profile.name / "runs"
    prepare_storage(runs_dir)  # an unusable --results or cache fails here, before any compute
    provenance.code_revision()  # pin the revision this process runs with before anything is committed
    # With tuning.use, each trained method runs with its study's chosen configuration (benchmark.tuning).
    specs = shard(tuned_specs(expand(profile, only, methods), profile, Path(results_root)), *shard_spec)
    if run_ids is not None:  # a chosen subset of the plan (``grbench reproduce`` reruns stored runs only)
        specs = [spec for spec in specs if spec.run_id in run_ids]
    finished = finished_runs(runs_dir)  # run_id -> compute_key
    by_key = {key: run_id for run_id, key in finished.items()}
    counts = run_with(SuitePlan(specs, runs_dir, finished, by_key, data_dir, profile.name),
                      **(executor_options or {}))
    return SuiteSummary(len(specs), counts["executed"], counts["reused"], counts["skipped"], runs_dir,
                        time.perf_counter() - start)


def prepare_storage(runs_dir: Path) -> None:
    """Check that the runs directory and the cache take writes, and clear what killed runs left in them.

    Raises ``StorageError`` (a clean CLI message naming the path and the OS reason) for a file in the way,
    a read-only or full filesystem, so the problem shows before hours of training rather than after. The
    sweep removes only temporaries of dead processes and unheld lock files: a concurrent run is unaffected.
    """
    ensure_writable_dir(runs_dir, "results")
    cache = cache_root()
    ensure_writable_dir(cache, "the cache (--cache-dir or $GRBENCH_CACHE)")
    for root in (runs_dir.parent, cache):
        sweep_stale_temporaries(root)
    for root in (runs_dir, cache):
        remove_stale_locks(root)


def _run_spec(spec: RunSpec, runs_dir: Path, finished: dict[str, str], by_key: dict[str, str],
              data_dir: str | None, profile: str, *, wait: bool,
              execute: Callable[[], object] | None = None) -> str | None:
    """Skip, reuse or execute ``spec`` under its compute-key lock.

    Returns the outcome ("skipped", "reused", "executed"), or None when another process holds the lock and
    ``wait`` is False. ``execute`` files the run (default: ``execute_run`` computes it in this process; the
    Ray executor files what its task returned).
    """
    if spec.run_id in finished:
        return "skipped"
    path = lock_path(runs_dir, spec.compute_key)
    fd = acquire(path) if wait else try_acquire(path)
    if fd is None:
        return None
    try:
        _refresh_finished(runs_dir, finished, by_key)  # another process may have filed it meanwhile
        if spec.run_id in finished:
            return "skipped"
        if spec.compute_key in by_key:
            copy_run_as(runs_dir / by_key[spec.compute_key], runs_dir / spec.run_id, spec.experiment,
                        spec.variant, spec.run_id)
            outcome = "reused"
        else:
            if execute is None:
                execute_run(spec, runs_dir, data_dir, profile)
            else:
                execute()
            outcome = "executed"
            by_key[spec.compute_key] = spec.run_id
        finished[spec.run_id] = spec.compute_key
        faults.reached("run_recorded")
        return outcome
    finally:
        release(path, fd)


def _refresh_finished(runs_dir: Path, finished: dict[str, str], by_key: dict[str, str]) -> None:
    """Add the runs other processes finished since the last scan (only their run.json is read)."""
    for path in run_dirs_in(runs_dir):
        if path.name not in finished:
            key = load_run(path).result.compute_key
            finished[path.name] = key
            by_key.setdefault(key, path.name)


def execute_run(spec: RunSpec, runs_dir: Path, data_dir: str | None, profile: str) -> Path:
    """Train and evaluate one spec and write its result directory (atomically, via the results writer)."""
    return file_run(runs_dir, spec, compute_run(spec, data_dir, profile))


@dataclasses.dataclass
class ComputedRun:
    """A trained and evaluated run, not yet written (what a Ray task returns to the driver)."""

    record: RunRecord
    evaluation: Evaluation
    curve: Any = None  # the validation curve (a DataFrame), when the profile asks for one


def compute_run(spec: RunSpec, data_dir: str | None, profile: str) -> ComputedRun:
    """Train and evaluate one spec; its record leaves provenance to the writer (or to the Ray task)."""
    prepared = prepare(spec, data_dir)
    config = spec.compute_config()
    curve = None
    if is_untrained(spec.method):
        evaluation, budget = evaluate_untrained(spec, prepared)
    else:
        evaluation, budget, curve = evaluate_trained(spec, prepared)
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
        config=config,  # resolved: every setting, defaults included (what compute_key hashes)
        # A non-learned baseline starts from no checkpoint: it records the split and catalog hashes only.
        hashes={**prepared.hashes,
                "sft_checkpoint_hash": None if is_retriever(spec.method) else sft_key(spec, prepared)},
        budget=budget,
        tuning=spec.tuning,  # the study a tuned configuration came from, else None
        catalog=catalog_summary(prepared.catalog),  # the ID scheme's collision statistics (table sids)
    )
    return ComputedRun(record, evaluation, curve)


def file_run(runs_dir: Path, spec: RunSpec, run: ComputedRun) -> Path:
    """Write a computed run into ``runs_dir`` through the one results writer."""
    # Rankings are what leaderboard submissions are exported from; other experiments keep per-query metrics
    # only, so the committed results stay small (a full-test-set ranking is ~8 MB per run).
    return record_run(runs_dir / spec.run_id, run.record, run.evaluation,
                      rankings=spec.experiment in REFERENCE_EXPERIMENTS, curve=run.curve)
