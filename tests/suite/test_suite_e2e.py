"""Tiny end-to-end runs of the whole pipeline: the smoke profile renders every table, and a suite killed,
interrupted or terminated in the middle resumes to exactly the results of an uninterrupted run.

Interruptions are driven by fault points (``benchmark.faults``), not by watching the filesystem against a
clock: the suite signals itself at an exact event, however loaded the machine is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import faults
from benchmark.faultcampaign import incomplete_runs, temp_entries
from benchmark.results import load_runs
from benchmark.suite.matrix import expand
from benchmark.suite.profiles import TABLE1_BASELINES, load_profile
from benchmark.suite.untrained import is_retriever, is_untrained
from benchmark.tables import render_all

pytestmark = pytest.mark.slow

RESUME_ARGS = ["--profile", "smoke", "--only", "table1", "--methods", "sft,dpo,raddpo", "--set", "seeds=[0]",
               "--no-tables"]


def test_smoke_suite_runs_every_method_and_renders_every_table(smoke_results: Path, tmp_path: Path) -> None:
    profile = load_profile("smoke")
    runs = load_runs(smoke_results)
    assert {r.result.run_id for r in runs} == {s.run_id for s in expand(profile)}
    table1 = [r for r in runs if r.result.experiment == "table1"]
    assert {r.result.method for r in table1} >= {"sft", "dpo", "simpo", "orpo", "raddpo", "raddpo-no-tlgd",
                                                 "raddpo-no-rdrw", "raddpo-no-mlsft"}
    assert {r.result.method for r in table1} >= set(TABLE1_BASELINES)  # every table carries its anchors
    for run in table1:
        # identical budgets: every method of a seed took the same steps over the same number of examples; the
        # rows that train nothing record zero preference steps
        untrained = is_untrained(run.result.method)
        assert run.result.budget.optimizer_steps == (0 if untrained else profile.preference["steps"])
        assert run.result.n_queries == profile.eval["max_queries"]
        assert 0.0 <= run.result.metrics["halluc"] <= 1.0
        assert "target_hit@10" in run.result.metrics  # protocol 2 scores the ordered item
    sft_hashes = {r.result.hashes.sft_checkpoint_hash for r in table1
                  if r.result.seed == 0 and not is_retriever(r.result.method)}
    assert len(sft_hashes) == 1, "every method of a seed starts from the same SFT checkpoint"
    out = tmp_path / "tables"
    render_all(smoke_results, out)
    for name in ("table1", "table1-seen", "table1-unseen", "table2", "fig2", "noise", "games", "games-unseen"):
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


def test_sids_retrieval_baselines_fit_on_the_cold_start_split(smoke_results: Path) -> None:
    """The sids experiment's retrieval baselines train on what its generative rows train on: the same held-out
    cold items (one cold-start setting for every run), so their cold column is comparable with the builders'."""
    sids = [r for r in load_runs(smoke_results) if r.result.experiment == "sids"]
    retrievers = {r.result.method: r for r in sids if is_retriever(r.result.method)}
    assert sorted(retrievers) == sorted(load_profile("smoke").sid_builders.retrievers)
    settings = {str(r.result.config.get("cold_start")) for r in sids}
    assert len(settings) == 1 and settings != {"None"}
    for run in retrievers.values():
        assert run.result.variant == {} and run.result.budget.optimizer_steps == 0
        frame = run.per_query()
        assert (frame["target_bucket"] == "cold").any()  # the cold-start subset is scored


def _grbench(args: list[str], env: dict[str, str], fault: str | None = None) -> subprocess.CompletedProcess:
    """Run ``grbench`` to its end (``fault``: a ``GRBENCH_FAULT`` that interrupts it at an exact event)."""
    env = {k: v for k, v in env.items() if k not in (faults.FAULT_ENV, faults.TRACE_ENV)}
    if fault:
        env[faults.FAULT_ENV] = fault
    return subprocess.run([sys.executable, "-m", "benchmark", *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False, preexec_fn=_interruptible)


def _interruptible() -> None:
    # A job a non-interactive shell starts in the background inherits SIGINT ignored, and Python then installs
    # no KeyboardInterrupt handler: an INT fault would pass unnoticed. The child gets the default, as a
    # terminal's Ctrl-C would find it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _checkpoints_before_second_method() -> int:
    """The ``checkpoint`` event count at the first checkpoint of the second method's training: the SFT
    checkpoints, the first method's, then one (a checkpoint is written every ``checkpoint_every`` steps
    before the last)."""
    overrides = [value for flag, value in zip(RESUME_ARGS, RESUME_ARGS[1:]) if flag == "--set"]
    profile = load_profile("smoke", overrides)
    during = [(int(s["steps"]) - 1) // int(s["checkpoint_every"]) for s in (profile.sft, profile.preference)]
    assert during[1] >= 1, "the smoke preference stage must write an intermediate checkpoint"
    return sum(during) + 1


def _assert_nothing_half_written(results: Path, cache: Path) -> None:
    """No atomic-write temporaries anywhere, and no run directory without a complete run.json."""
    assert temp_entries(results, cache) == []
    assert incomplete_runs(results / "smoke" / "runs") == []


def _assert_identical_to_reference(results: Path, smoke_results: Path) -> None:
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


def test_killed_suite_resumes_to_identical_results(smoke_results: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GRBENCH_CACHE": str(tmp_path / "cache")}
    results = tmp_path / "results"
    args = ["run", *RESUME_ARGS, "--results", str(results)]
    # SIGKILL (no cleanup at all) right after the first checkpoint of the second method's training: the first
    # run is recorded, the second is mid-training.
    first = _grbench(args, env, fault=f"checkpoint:{_checkpoints_before_second_method()}:KILL")
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    runs_dir = results / "smoke" / "runs"
    assert len(list(runs_dir.glob("*/run.json"))) == 1
    assert list((tmp_path / "cache" / "checkpoints" / "runs").glob("*/checkpoints/step-*"))

    second = _grbench(args, env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert incomplete_runs(runs_dir) == []
    _assert_identical_to_reference(results, smoke_results)


def test_interrupted_suite_exits_cleanly_and_resumes_to_identical_results(smoke_results: Path,
                                                                          tmp_path: Path) -> None:
    """SIGINT, then SIGTERM on the same tree: each exits with its code and a message, no traceback, and
    leaves nothing half-written; the third start finishes with the reference results."""
    cache = tmp_path / "cache"
    env = {**os.environ, "GRBENCH_CACHE": str(cache)}
    results = tmp_path / "results"
    args = ["run", *RESUME_ARGS, "--results", str(results)]
    runs_dir = results / "smoke" / "runs"

    # Ctrl-C inside the first run's atomic result write (per_query.parquet is in its temporary directory).
    first = _grbench(args, env, fault="result_file:1:INT")
    assert first.returncode == 130, first.stderr[-3000:]
    assert "interrupted; finished results are kept and a rerun resumes" in first.stderr
    assert "Traceback" not in first.stderr
    _assert_nothing_half_written(results, cache)
    assert not list(runs_dir.glob("*/run.json"))

    # SIGTERM right after the first checkpoint of this process: the second method's, mid-training.
    second = _grbench(args, env, fault="checkpoint:1:TERM")
    assert second.returncode == 143, second.stderr[-3000:]
    assert "terminated (SIGTERM); finished results are kept and a rerun resumes" in second.stderr
    assert "Traceback" not in second.stderr
    _assert_nothing_half_written(results, cache)
    assert len(list(runs_dir.glob("*/run.json"))) == 1
    assert list((cache / "checkpoints" / "runs").glob("*/checkpoints/step-*"))

    third = _grbench(args, env)
    assert third.returncode == 0, third.stderr[-3000:]
    _assert_nothing_half_written(results, cache)
    _assert_identical_to_reference(results, smoke_results)
