"""Tiny end-to-end runs of the whole pipeline: the smoke profile renders every table, and a suite killed in
the middle of training resumes to exactly the results of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.results import load_runs
from benchmark.suite.matrix import expand
from benchmark.suite.profiles import load_profile
from benchmark.suite.runner import run_suite
from benchmark.tables import render_all

pytestmark = pytest.mark.slow

RESUME_ARGS = ["--profile", "smoke", "--only", "table1", "--methods", "sft,dpo,raddpo", "--set", "seeds=[0]",
               "--no-tables"]


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The complete smoke suite, run once for this module (its own cache, like a fresh machine)."""
    root = tmp_path_factory.mktemp("smoke-results")
    cache = tmp_path_factory.mktemp("smoke-cache")
    old = os.environ.get("GRBENCH_CACHE")
    os.environ["GRBENCH_CACHE"] = str(cache)
    try:
        summary = run_suite(load_profile("smoke"), root)
    finally:
        if old is None:
            os.environ.pop("GRBENCH_CACHE", None)
        else:
            os.environ["GRBENCH_CACHE"] = old
    assert summary.executed + summary.reused == summary.planned
    return root / "smoke"


def test_smoke_suite_runs_every_method_and_renders_every_table(smoke_results: Path, tmp_path: Path) -> None:
    profile = load_profile("smoke")
    runs = load_runs(smoke_results)
    assert {r.result.run_id for r in runs} == {s.run_id for s in expand(profile)}
    table1 = [r for r in runs if r.result.experiment == "table1"]
    assert {r.result.method for r in table1} >= {"sft", "dpo", "simpo", "orpo", "raddpo", "raddpo-no-tlgd",
                                                 "raddpo-no-rdrw", "raddpo-no-mlsft"}
    for run in table1:
        # identical budgets: every method of a seed took the same steps over the same number of examples
        assert run.result.budget.optimizer_steps == profile.preference["steps"]
        assert run.result.n_queries == profile.eval["max_queries"]
        assert 0.0 <= run.result.metrics["halluc"] <= 1.0
    sft_hashes = {r.result.hashes.sft_checkpoint_hash for r in table1 if r.result.seed == 0}
    assert len(sft_hashes) == 1, "every method of a seed starts from the same SFT checkpoint"
    out = tmp_path / "tables"
    render_all(smoke_results, out)
    for name in ("table1", "table2", "fig2", "noise", "games"):
        for suffix in (".md", ".tex", ".csv"):
            assert (out / f"{name}{suffix}").stat().st_size > 0, name + suffix
    assert (out / "fig2.png").stat().st_size > 0
    # pure function of stored results: a second rendering is byte-identical
    again = tmp_path / "again"
    render_all(smoke_results, again)
    for path in sorted(out.iterdir()):
        assert path.read_bytes() == (again / path.name).read_bytes(), path.name


def test_trained_models_beat_chance(smoke_results: Path) -> None:
    """The smoke models learn something real: SID-level recall well above a random well-formed SID."""
    runs = [r for r in load_runs(smoke_results) if r.result.experiment == "table1" and r.result.method == "sft"]
    assert max(r.result.metrics["sid_recall@8"] for r in runs) > 0.05


def _grbench(args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchmark", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_killed_suite_resumes_to_identical_results(smoke_results: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GRBENCH_CACHE": str(tmp_path / "cache")}
    results = tmp_path / "results"
    args = ["run", *RESUME_ARGS, "--results", str(results)]
    first = _grbench(args, env)
    # Kill the process hard while the second method is mid-training (an intermediate checkpoint exists).
    runs_dir = results / "smoke" / "runs"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and first.poll() is None:
        done = list(runs_dir.glob("*/run.json")) if runs_dir.exists() else []
        midway = list((tmp_path / "cache" / "checkpoints" / "runs").glob("*/checkpoints/step-*"))
        if done and midway:
            break
        time.sleep(0.2)
    assert first.poll() is None, "the suite finished before it could be interrupted: " + first.stderr.read()[-2000:]
    first.send_signal(signal.SIGKILL)
    first.wait()
    interrupted = {p.parent.name for p in runs_dir.glob("*/run.json")}
    assert 1 <= len(interrupted) < 3

    second = _grbench(args, env)
    _, stderr = second.communicate(timeout=900)
    assert second.returncode == 0, stderr[-3000:]

    resumed = {r.result.run_id: r for r in load_runs(results / "smoke")}
    reference = {r.result.run_id: r for r in load_runs(smoke_results)}
    assert len(resumed) == 3
    for run_id, run in resumed.items():
        expected = reference[run_id]
        assert run.result.metrics == expected.result.metrics, run_id
        pd.testing.assert_frame_equal(run.per_query(), expected.per_query())
        got, want = run.rankings(), expected.rankings()
        assert got["sid"].tolist() == want["sid"].tolist()
        np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), rtol=0, atol=1e-5)
        assert run.result.budget.tokens == expected.result.budget.tokens
