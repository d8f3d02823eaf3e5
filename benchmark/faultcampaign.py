"""``grbench perf faults``: a kill campaign against the resumable suite.

1. Run the suite once, uninterrupted, with a fault trace (``benchmark.faults``): the reference results and
   the ordered list of events a complete run reaches.
2. On one results directory and cache, start the suite with ``GRBENCH_FAULT=EVENT:N:KILL`` at a kill point
   drawn (seeded) from that trace, let it die, inspect the tree, start it again with the next kill point...
   After ``kills`` kills let it finish.
3. Check: no run of the reference is missing, nothing half-written was ever visible, no finished run was
   recomputed, and the final per-query files and rankings are byte-identical to the reference.

Kill points. A resumed process replays the reference's events from its last durable point (the last
checkpoint or recorded run), so its events include every event of the reference after the point where the
previous process died. Each kill is therefore drawn as a position in the reference trace after the previous
kill's position, and the N-th occurrence of its event counted from there exists in the resumed process too:
every drawn kill fires. Positions advance by about ``remaining / (kills left + 1)`` so the kills spread over
the whole suite; within the window the event is chosen uniformly among the event names present, so rare
moments (a checkpoint, a result file) are hit as often as training steps.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from benchmark import faults
from benchmark.artifacts import atomic_write_json, sha256_file
from benchmark.errors import BenchmarkError

RUN_FILE = "run.json"
COMPARED_FILES = ("per_query.parquet", "rankings.parquet")
EXPECTED_RC = {"KILL": -9, "INT": 130, "TERM": 143}


@dataclasses.dataclass(frozen=True)
class KillPoint:
    """Kill at the ``n``-th ``event`` of the next process; ``position`` is the index of that event in the
    reference trace (counted from the previous kill's position), the campaign's estimate of the progress."""

    event: str
    n: int
    position: int

    @property
    def fault(self) -> str:
        return faults.format_fault(self.event, self.n)


def draw_kill(trace: Sequence[str], start: int, kills_left: int, rng: np.random.Generator) -> KillPoint:
    """Draw the next kill point among the reference events ``trace[start:]`` (see the module docstring)."""
    remaining = len(trace) - start
    if remaining < 1 or kills_left < 1:
        raise ValueError(f"no event left to kill at: {remaining} events remain, {kills_left} kills left.")
    window = max(1, min(remaining, math.ceil(2 * remaining / (kills_left + 1))))
    events = trace[start : start + window]
    names = sorted(set(events))
    event = names[int(rng.integers(len(names)))]
    offsets = [i for i, name in enumerate(events) if name == event]
    offset = offsets[int(rng.integers(len(offsets)))]
    return KillPoint(event, events[: offset + 1].count(event), start + offset)


def temp_entries(*roots: Path) -> list[Path]:
    """Hidden temporaries of atomic writes (``.NAME.*.tmp``, ``.NAME.old.PID``) under ``roots``."""
    found = []
    for root in roots:
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                if name.startswith(".") and (name.endswith(".tmp") or ".old." in name):
                    found.append(Path(dirpath) / name)
    return sorted(found)


def incomplete_runs(runs_dir: Path) -> list[Path]:
    """Visible run directories without a complete run.json: what a reader could take for a run."""
    if not runs_dir.is_dir():
        return []
    return sorted(
        p for p in runs_dir.iterdir() if not p.name.startswith(".") and not _complete_run(p)
    )


def _complete_run(path: Path) -> bool:
    from benchmark.results import load_run

    try:
        load_run(path)
    except Exception:  # unreadable in any way: not complete
        return False
    return True


def run_stamps(runs_dir: Path) -> dict[str, tuple[int, int, str]]:
    """run_id -> (inode, mtime_ns, sha256) of every run.json: a rewritten run changes at least one."""
    stamps = {}
    if runs_dir.is_dir():
        for path in sorted(runs_dir.glob(f"*/{RUN_FILE}")):
            if path.parent.name.startswith("."):
                continue
            st = path.stat()
            stamps[path.parent.name] = (st.st_ino, st.st_mtime_ns, sha256_file(path))
    return stamps


def rewritten(before: dict[str, tuple[int, int, str]], after: dict[str, tuple[int, int, str]]) -> set[str]:
    """Runs finished before that were rewritten (or removed) after."""
    return {run_id for run_id, stamp in before.items() if after.get(run_id) != stamp}


def compare_to_reference(reference_runs: Path, runs_dir: Path) -> dict[str, Any]:
    """Runs of the reference missing from ``runs_dir``; per-query files and rankings that differ in bytes."""
    reference = sorted(p.name for p in reference_runs.iterdir() if (p / RUN_FILE).is_file())
    missing = [run_id for run_id in reference if not (runs_dir / run_id / RUN_FILE).is_file()]
    compared, differing = 0, []
    for run_id in reference:
        if run_id in missing:
            continue
        for name in COMPARED_FILES:
            want = reference_runs / run_id / name
            if not want.is_file():
                continue
            compared += 1
            got = runs_dir / run_id / name
            if not got.is_file() or got.read_bytes() != want.read_bytes():
                differing.append(f"{run_id}/{name}")
    return {"reference_runs": len(reference), "missing": missing, "files_compared": compared,
            "files_differing": differing}


@dataclasses.dataclass
class Suite:
    """One ``grbench run`` command line, on one results directory and cache."""

    suite_args: list[str]
    results: Path
    cache: Path

    @property
    def runs_dir(self) -> Path:
        return self.results / _profile_name(self.suite_args) / "runs"

    def start(self, fault: str | None = None, trace: Path | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in (faults.FAULT_ENV, faults.TRACE_ENV)}
        env["GRBENCH_CACHE"] = str(self.cache)
        if fault:
            env[faults.FAULT_ENV] = fault
        if trace:
            env[faults.TRACE_ENV] = str(trace)
        command = [sys.executable, "-m", "benchmark", "run", *self.suite_args, "--results", str(self.results),
                   "--no-tables"]
        return subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)


def _profile_name(suite_args: Sequence[str]) -> str:
    args = list(suite_args)
    name = args[args.index("--profile") + 1] if "--profile" in args else "full"
    return Path(name).stem


def suite_args_from(
    *, profile: str, only: str = "", methods: str = "", overrides: Sequence[str] = (), data_dir: str | None = None
) -> list[str]:
    """The ``grbench run`` arguments of the campaign's suite."""
    out = ["--profile", profile]
    if only:
        out += ["--only", only]
    if methods:
        out += ["--methods", methods]
    for override in overrides:
        out += ["--set", override]
    if data_dir:
        out += ["--data-dir", data_dir]
    return out


def reference_trace(root: Path, suite_args: list[str]) -> tuple[Suite, list[str]]:
    """The uninterrupted reference suite of work dir ``root`` and its event trace (run once, then reused)."""
    reference = Suite(suite_args, root / "reference" / "results", root / "reference" / "cache")
    trace_path = root / "reference" / "trace.txt"
    args_path = root / "reference" / "suite_args.json"
    if trace_path.is_file() and json.loads(args_path.read_text(encoding="utf-8")) != suite_args:
        raise BenchmarkError(f"{root / 'reference'} is the reference of another suite "
                             f"({args_path.read_text(encoding='utf-8').strip()}); use another --results.")
    if not trace_path.is_file():  # trace.txt appears when the reference is complete
        atomic_write_json(args_path, suite_args)
        partial = trace_path.with_name("trace.partial")
        partial.unlink(missing_ok=True)
        done = reference.start(trace=partial)
        if done.returncode != 0:
            raise BenchmarkError(
                f"the reference suite failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
            )
        os.replace(partial, trace_path)
    return reference, faults.read_trace(trace_path)


def run_campaign(
    *, suite_args: list[str], kills: int, seed: int, signal_name: str, results: str | Path | None = None
) -> dict[str, Any]:
    """The campaign of ``grbench perf faults`` (see the module docstring); returns its report.

    ``kills`` kill points drawn with ``seed``, each sent as ``signal_name`` (KILL, INT or TERM) to
    ``grbench run SUITE_ARGS`` (see ``suite_args_from``); ``results`` is the work dir (default: a new
    temporary directory). ``report["passed"]`` says whether every check held.
    """
    if signal_name not in EXPECTED_RC:
        raise ValueError(f"signal_name must be one of {sorted(EXPECTED_RC)}; got {signal_name!r}.")
    root = Path(results) if results else Path(tempfile.mkdtemp(prefix="grbench-faults-"))
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    reference, trace = reference_trace(root, suite_args)
    killed = root / "killed"
    if killed.exists():
        shutil.rmtree(killed)  # the campaign's own tree of a previous campaign in this work dir

    suite = Suite(suite_args, root / "killed" / "results", root / "killed" / "cache")
    kill_log: list[dict[str, Any]] = []
    recomputed: set[str] = set()
    problems: list[str] = []
    position = 0
    stamps = run_stamps(suite.runs_dir)
    for index in tqdm(range(kills), desc="kills", unit="kill", dynamic_ncols=True):
        point = draw_kill(trace, position, kills - index, rng)
        position = point.position + 1
        proc = suite.start(fault=faults.format_fault(point.event, point.n, signal_name))
        after = run_stamps(suite.runs_dir)
        recomputed |= rewritten(stamps, after)
        stamps = after
        temps = temp_entries(suite.results, suite.cache)
        incomplete = incomplete_runs(suite.runs_dir)
        kill_log.append({"fault": f"{point.event}:{point.n}", "returncode": proc.returncode, "runs": len(after),
                      "temp_entries": len(temps), "incomplete_runs": [p.name for p in incomplete]})
        if proc.returncode != EXPECTED_RC[signal_name]:
            what = "finished before its kill point" if proc.returncode == 0 else "failed"
            problems.append(f"kill {index + 1} ({point.event}:{point.n}) {what}: exit {proc.returncode}"
                            f"\n{proc.stderr[-2000:]}")
            break
        if signal_name != "KILL" and "Traceback" in proc.stderr:
            problems.append(
                f"kill {index + 1} ({point.event}:{point.n}) printed a traceback:\n{proc.stderr[-2000:]}"
            )

    final = suite.start()
    if final.returncode != 0:
        problems.append(f"the final resume failed (exit {final.returncode}):\n{final.stderr[-2000:]}")
    after = run_stamps(suite.runs_dir)
    recomputed |= rewritten(stamps, after)
    comparison = compare_to_reference(reference.runs_dir, suite.runs_dir)
    report = {
        "setup": {
            "suite_args": suite_args, "signal": signal_name, "seed": seed, "root": str(root),
            "trace_events": len(trace), "trace_counts": {e: trace.count(e) for e in sorted(set(trace))},
        },
        "kills_requested": kills,
        "kills": kill_log,
        "kills_done": sum(1 for k in kill_log if k["returncode"] == EXPECTED_RC[signal_name]),
        "runs_lost": comparison["missing"],
        "temp_entries_after_kills": sum(k["temp_entries"] for k in kill_log),
        "kills_leaving_temp_entries": sum(1 for k in kill_log if k["temp_entries"]),
        "incomplete_runs_after_kills": sum(len(k["incomplete_runs"]) for k in kill_log),
        "temp_entries_at_end": [str(p.relative_to(root)) for p in temp_entries(suite.results, suite.cache)],
        "incomplete_runs_at_end": [p.name for p in incomplete_runs(suite.runs_dir)],
        "runs_recomputed": sorted(recomputed),
        "reference_runs": comparison["reference_runs"],
        "files_compared": comparison["files_compared"],
        "files_differing": comparison["files_differing"],
        "problems": problems,
    }
    report["checks"] = {
        "all kills done": report["kills_done"] == kills and not problems,
        "no run lost": not report["runs_lost"],
        "nothing half-written visible": report["incomplete_runs_after_kills"] == 0
        and not report["incomplete_runs_at_end"],
        # SIGKILL cannot clean up, so its temporaries are only counted; INT and TERM must leave none.
        "no temporaries after clean exits": signal_name == "KILL" or report["temp_entries_after_kills"] == 0,
        "no run recomputed": not report["runs_recomputed"],
        "byte-identical to the reference": comparison["files_compared"] > 0
        and not comparison["files_differing"],
    }
    report["passed"] = all(report["checks"].values())
    return report
