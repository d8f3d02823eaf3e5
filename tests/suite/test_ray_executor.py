"""The Ray executor computes exactly what the in-process runner computes.

A few smoke runs (DPO aligned from an SFT checkpoint, that checkpoint evaluated as is, and a non-learned
baseline) run in process, then on a local Ray instance from a cache without their checkpoints, so
that the SFT task and the method tasks after it train again in Ray workers: every per-query file must be
byte-identical, and a second Ray suite must find every run finished.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.results import load_runs
from benchmark.suite.executors import executor_names, get_executor
from benchmark.suite.profiles import load_profile
from benchmark.suite.runner import run_suite

# Tiny budgets, and SIDs from item co-occurrence instead of the text encoder: seconds per run on 2 cores.
OVERRIDES = ["seeds=[0]", "sids.encoder=cooccurrence", "sft.steps=8", "sft.batch_size=8", "sft.warmup_steps=1",
             "sft.checkpoint_every=4", "preference.steps=2", "preference.batch_size=4", "preference.warmup_steps=0",
             "preference.checkpoint_every=2", "eval.max_queries=8", "eval.beam_width=4", "eval.batch_size=8",
             "curves.points=0"]
METHODS = ("sft-start", "dpo", "popularity")


def test_executor_registry_answers_unknown_names() -> None:
    assert executor_names() == ["local", "ray"]
    with pytest.raises(BenchmarkError, match="Did you mean 'ray'"):
        get_executor("rays")


@pytest.mark.slow
def test_ray_suite_writes_byte_identical_per_query_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'grbench[ray]')")
    import torch

    profile = load_profile("smoke", OVERRIDES)
    local_cache, ray_cache = tmp_path / "cache-local", tmp_path / "cache-ray"
    monkeypatch.setenv("GRBENCH_CACHE", str(local_cache))
    local = run_suite(profile, tmp_path / "local", only=("table1",), methods=METHODS)
    assert local.planned == local.executed == len(METHODS)

    # The prepared split and SIDs carry over (built once: the slow part); checkpoints are trained again in Ray.
    shutil.copytree(local_cache, ray_cache, ignore=shutil.ignore_patterns("checkpoints", ".locks"))
    monkeypatch.setenv("GRBENCH_CACHE", str(ray_cache))
    # The tasks take the in-process thread count of CPUs: give the local instance at least that many. A short
    # temp dir: Ray's socket paths must fit in 107 characters, which a pytest tmp_path may not leave.
    ray_temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    ray.init(num_cpus=max(2, torch.get_num_threads()), include_dashboard=False, _temp_dir=ray_temp,
             log_to_driver=False)
    try:
        remote = run_suite(profile, tmp_path / "ray", only=("table1",), methods=METHODS, executor="ray")
        again = run_suite(profile, tmp_path / "ray", only=("table1",), methods=METHODS, executor="ray")
    finally:
        ray.shutdown()
        shutil.rmtree(ray_temp, ignore_errors=True)
    assert (remote.planned, remote.executed) == (len(METHODS), len(METHODS))
    assert (again.executed, again.skipped) == (0, len(METHODS))
    assert (ray_cache / "checkpoints" / "sft").is_dir(), "the SFT checkpoint was trained by a Ray task"

    local_dirs = sorted(p for p in local.runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    ray_dirs = sorted(p for p in remote.runs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [p.name for p in ray_dirs] == [p.name for p in local_dirs]
    for here, there in zip(local_dirs, ray_dirs):
        assert (there / "per_query.parquet").read_bytes() == (here / "per_query.parquet").read_bytes(), here.name
    runs = {r.result.run_id: r.result for r in load_runs(remote.runs_dir.parent)}
    threads = {run.environment["threads"] for run in runs.values() if run.method != "popularity"}
    assert threads == {torch.get_num_threads()}, "each task ran with the in-process thread count"
