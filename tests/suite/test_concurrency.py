"""Suites running side by side on one results directory and cache: every run and checkpoint is computed once,
both suites finish, nothing is corrupt; and the atomic publish they rely on survives identical concurrent
publishers."""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from benchmark.artifacts import atomic_dir
from benchmark.results import load_runs
from benchmark.suite.matrix import expand
from benchmark.suite.profiles import load_profile

CONTENT = {"config.json": b'{"a": 1}\n', "model.bin": bytes(range(256)) * 64}


def _publish(target: Path, barrier) -> None:
    with atomic_dir(target) as tmp:
        for name, data in CONTENT.items():
            (tmp / name).write_bytes(data)
        barrier.wait()  # every publisher renames at the same moment


def _assert_intact(target: Path) -> None:
    assert {p.name: p.read_bytes() for p in target.iterdir()} == CONTENT
    assert [p.name for p in target.parent.iterdir()] == [target.name], "a temporary was left behind"


@pytest.mark.parametrize("existing", [False, True], ids=["new", "replace"])
def test_atomic_dir_survives_identical_concurrent_publishers_threads(tmp_path: Path, existing: bool) -> None:
    for round_ in range(40):
        target = tmp_path / f"r{round_}" / "artifact"
        if existing:
            target.mkdir(parents=True)
            (target / "config.json").write_bytes(b"old")
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []

        def worker(target: Path = target, barrier: threading.Barrier = barrier,
                   errors: list[BaseException] = errors) -> None:
            try:
                _publish(target, barrier)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        _assert_intact(target)


def _process_worker(root: str, rounds: int, barrier) -> None:
    for round_ in range(rounds):
        _publish(Path(root) / f"r{round_}" / "artifact", barrier)


def test_atomic_dir_survives_identical_concurrent_publishers_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    workers = [context.Process(target=_process_worker, args=(str(tmp_path), 25, barrier)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    for round_ in range(25):
        _assert_intact(tmp_path / f"r{round_}" / "artifact")


# --- two suites on one results directory and cache --------------------------------------------------

ARGS = ["--profile", "smoke", "--only", "table1", "--methods", "sft,dpo,raddpo", "--set", "seeds=[0]",
        "--set", "sft.steps=100", "--no-tables"]
SUMMARY = re.compile(r"(\d+) runs planned, (\d+) executed, (\d+) reused .*, (\d+) already finished")
FINAL_STEP = re.compile(r"benchmark\.training\.trainer: (\S+) step (\d+)/(\d+) ")


@pytest.mark.slow
def test_two_suites_on_one_results_dir_compute_every_run_once(tmp_path: Path) -> None:
    env = {**os.environ, "GRBENCH_CACHE": str(tmp_path / "cache")}
    results = tmp_path / "results"
    command = [sys.executable, "-m", "benchmark", "-v", "run", *ARGS, "--results", str(results)]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=1800) for proc in procs]
    for proc, (_, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr[-3000:]

    profile = load_profile("smoke", ["seeds=[0]", "sft.steps=100"])
    specs = expand(profile, only=("table1",), methods=("sft", "dpo", "raddpo"))
    summaries = [tuple(map(int, SUMMARY.search(stdout).groups())) for stdout, _ in outputs]
    for planned, executed, reused, skipped in summaries:
        assert planned == executed + reused + skipped == len(specs)
    assert sum(s[1] for s in summaries) == len(specs), f"every run executed exactly once: {summaries}"

    # every checkpoint trained once, by one of the two processes: one final-step log line each
    lines = [m for _, stderr in outputs for m in FINAL_STEP.finditer(stderr)]
    final_steps = [m for m in lines if m.group(2) == m.group(3)]
    trained = Counter((m.group(1), int(m.group(3))) for m in final_steps)
    pref = profile.preference["steps"]
    assert trained == Counter({("sft", 100): 1, ("sft", pref): 1, ("dpo", pref): 1, ("raddpo", pref): 1})

    runs = load_runs(results / "smoke")  # validates every run.json against its per-query file
    assert sorted(r.result.run_id for r in runs) == sorted(s.run_id for s in specs)
    leftovers = [p for root in (results, tmp_path / "cache") for p in root.rglob(".*")]
    assert leftovers == [], "no temporaries and no lock files are left behind"
    assert len(list((tmp_path / "cache" / "checkpoints" / "sft").iterdir())) == 1
    assert len(list((tmp_path / "cache" / "checkpoints" / "runs").iterdir())) == len(specs)
