"""How many CPU threads this process uses: its share of the machine, unless the user says.

Several grbench processes on one machine (shards, parallel jobs, an executor) each default to every core;
their OpenMP workers then spin against each other: three 2-thread ``grbench perf decode`` started together
on 2 cores ran 1.9-3.8x faster than ``generate`` instead of ~20x (1.5-3.4 s per query instead of ~25 ms).
So each process takes ``max(1, cpus // n)`` threads, where

- ``cpus`` = the CPUs it may run on (``os.sched_getaffinity``), capped by a cgroup CPU quota when one is set;
- ``n`` = the live grbench processes on the machine, counted in a small registry: a directory under the
  system temp dir with one file per process, named by its pid and holding its start time, so a file left by
  a killed process (or whose pid was reused) is recognised as stale and pruned.

Precedence (the first that is set wins): ``--threads N`` > ``GRBENCH_THREADS`` > ``OMP_NUM_THREADS`` > the
share. ``auto`` (for ``--threads`` or ``GRBENCH_THREADS``) asks for the share even when ``OMP_NUM_THREADS``
is set, e.g. by an environment (tox.ini sets it for the tests) that pins it for every process.
``OMP_NUM_THREADS`` is honoured because it is the standard knob and torch and faiss read it themselves.

The count is applied to torch (``set_num_threads``) and faiss (``omp_set_num_threads``) where they are
loaded, and exported as ``OMP_NUM_THREADS`` for libraries loaded later (a marker variable records that
grbench chose it, so a child grbench process recounts instead of taking it as the user's choice).
``OMP_WAIT_POLICY=PASSIVE`` is set unless the user set a policy: idle OpenMP workers then sleep instead of
spinning for the CPU another process needs (only effective when set before torch is imported; the CLI
does that). It also matters when the other load is not grbench's: one 2-thread decode beside other
workers' load ran 16-21x faster than ``generate`` with it, 7-12x without. torch's inter-op pool is left alone: it can be sized only before any parallel work, and its
threads sleep unless ``torch.jit.fork`` is used.

Processes that start together race (each may count before the others registered), so a process registers
before it counts, and long stages call :func:`refresh` when they start, by which time the others have.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import ConfigError

log = logging.getLogger(__name__)

ENV = "GRBENCH_THREADS"
# Set together with OMP_NUM_THREADS when grbench exported its own choice (children recount).
CHOSEN_ENV = "GRBENCH_CHOSEN_OMP_NUM_THREADS"
AUTO = "auto"


def registry_dir() -> Path:
    """The per-machine registry (shared by all users: their processes share the CPUs too)."""
    return Path(tempfile.gettempdir()) / "grbench-processes"


# ---------------------------------------------------------------------------------------------- parsing
def parse_threads(text: str | int | None, name: str) -> int | None:
    """``None`` for unset / empty / ``auto``, else an int >= 1; anything else is a ConfigError naming ``name``."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        stripped = str(text).strip()
        if stripped == "" or stripped.lower() == AUTO:
            return None
        try:
            value = int(stripped)
        except ValueError:
            value = 0
    if value < 1:
        raise ConfigError(f"{name} must be an int >= 1 or '{AUTO}'. Got {text!r} instead.")
    return value


def _omp_num_threads(environ: dict[str, str] | os._Environ) -> int | None:
    """The user's ``OMP_NUM_THREADS`` (its first level, as OpenMP reads ``4,2``), or None when it is unset,
    was exported by grbench itself, or is not a positive int (OpenMP itself ignores such a value)."""
    value = environ.get("OMP_NUM_THREADS", "").strip()
    if not value or value == environ.get(CHOSEN_ENV):
        return None
    first = value.split(",")[0].strip()
    if first.isdigit() and int(first) >= 1:
        return int(first)
    log.warning("ignoring OMP_NUM_THREADS=%r: not an int >= 1", value)
    return None


def option_type(text: str) -> int | str:
    """argparse ``type`` of ``--threads``: an int >= 1 or ``auto``."""
    try:
        value = parse_threads(text, "--threads")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"must be an int >= 1 or '{AUTO}', got {text!r}") from exc
    return AUTO if value is None else value


def add_option(parser: argparse.ArgumentParser, *, default: object = None) -> None:
    """The ``--threads`` option (sub-commands pass ``default=argparse.SUPPRESS`` so that they do not hide
    a value given before the command name)."""
    parser.add_argument(
        "--threads",
        type=option_type,
        default=default,
        metavar="N",
        help=f"CPU threads (torch, faiss), or '{AUTO}'. Default: ${ENV}, else $OMP_NUM_THREADS, else this "
        "process's share of the CPUs (available CPUs // live grbench processes on this machine)",
    )


@dataclass(frozen=True)
class Request:
    """What the user asked for: a fixed count (and where it came from) or None for the share."""

    threads: int | None
    source: str


def resolve_request(option: str | int | None, environ: dict[str, str] | os._Environ | None = None) -> Request:
    """Apply the precedence ``--threads`` > ``GRBENCH_THREADS`` > ``OMP_NUM_THREADS`` > share.

    An explicit ``auto`` at a level stops the search there (the share is used)."""
    environ = os.environ if environ is None else environ
    if option is not None and str(option).strip() != "":
        return Request(parse_threads(option, "The '--threads' option"), "--threads")
    env_value = environ.get(ENV)
    if env_value is not None and env_value.strip() != "":
        return Request(parse_threads(env_value, f"The {ENV} environment variable"), ENV)
    omp = _omp_num_threads(environ)
    if omp is not None:
        return Request(omp, "OMP_NUM_THREADS")
    return Request(None, "share")


# ---------------------------------------------------------------------------------------------- CPUs
def _cgroup_quota_cpus(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """CPUs allowed by a CFS quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``), rounded up; None if none."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota_us > 0 and period_us > 0:
            return max(1, math.ceil(quota_us / period_us))
    except (OSError, ValueError):
        pass
    return None


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota."""
    if hasattr(os, "sched_getaffinity"):
        cpus = len(os.sched_getaffinity(0))
    else:  # macOS, Windows
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota_cpus()
    return max(1, min(cpus, quota) if quota else cpus)


def share(cpus: int, processes: int) -> int:
    """Threads per process when ``processes`` share ``cpus``: ``max(1, cpus // processes)``."""
    return max(1, cpus // max(1, processes))


# ---------------------------------------------------------------------------------------------- registry
def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); "" where unknown.

    Together with the pid it names one process: a reused pid has a different start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # the command name (field 2) may hold spaces and parentheses: split after its closing one
    return stat[stat.rindex(")") + 2 :].split()[19]


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        pass
    except OSError:
        return False
    return not start or _start_time(pid) in ("", start)


def register(directory: Path | None = None, pid: int | None = None) -> Path | None:
    """Add a process (default: this one) to the registry; returns its file, or None if it cannot be written
    (a read-only temp dir: the count then misses this process, which is always counted by :func:`count`)."""
    directory = registry_dir() if directory is None else directory
    pid = os.getpid() if pid is None else pid
    tmp = None
    try:
        directory.mkdir(exist_ok=True)
        try:  # sticky and world-writable like /tmp: every user registers, only the owner removes a file
            if directory.stat().st_uid == getattr(os, "getuid", lambda: -1)():
                directory.chmod(0o1777)
        except OSError:
            pass
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            handle.write(_start_time(pid))
        os.chmod(tmp, 0o644)
        path = directory / str(pid)
        os.replace(tmp, path)  # atomic: a counting process never reads a half-written file
        return path
    except OSError as exc:
        log.debug("cannot register in %s: %s", directory, exc)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        return None


def unregister(directory: Path | None = None, pid: int | None = None) -> None:
    directory = registry_dir() if directory is None else directory
    try:
        (directory / str(os.getpid() if pid is None else pid)).unlink()
    except OSError:
        pass


def live_pids(directory: Path | None = None) -> set[int]:
    """Pids of the live registered processes; stale files are removed (where this user may)."""
    directory = registry_dir() if directory is None else directory
    pids = set()
    try:
        entries = list(directory.iterdir())
    except OSError:
        return pids
    for path in entries:
        if not path.name.isdigit():
            continue
        try:
            start = path.read_text().strip()
        except OSError:
            continue
        pid = int(path.name)
        if _alive(pid, start):
            pids.add(pid)
        else:
            try:
                path.unlink()
            except OSError:
                pass
    return pids


def count(directory: Path | None = None) -> int:
    """Live grbench processes on this machine, this one always included."""
    return len(live_pids(directory) | {os.getpid()})


# ---------------------------------------------------------------------------------------------- applying
_request = Request(None, "share")
_registered = False
_applied: int | None = None


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with torch on ``count`` threads and restore the previous count after it, even on error:
    for a computation whose sums must not depend on the machine's thread count (e.g. the dual tower's heads)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _loaded() -> bool:
    return "torch" in sys.modules or "faiss" in sys.modules


def _apply(threads: int) -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    faiss = sys.modules.get("faiss")
    if faiss is not None:
        faiss.omp_set_num_threads(threads)
    if not _loaded():
        # for libraries loaded later: torch reads it at import, an OpenMP runtime when it loads. Not where
        # torch is loaded already: a caller embedding main keeps its environment for its subprocesses.
        os.environ["OMP_NUM_THREADS"] = os.environ[CHOSEN_ENV] = str(threads)


def choose(request: Request, cpus: int | None = None, processes: int | None = None) -> int:
    """The thread count for ``request``: its fixed count, else the share of the CPUs."""
    if request.threads is not None:
        return request.threads
    return share(available_cpus() if cpus is None else cpus, count() if processes is None else processes)


def configure(option: str | int | None = None) -> int | None:
    """Called once at CLI start-up: register this process, set the wait policy, choose and apply the count.

    ``option`` is the ``--threads`` value (None when not given); raises ConfigError for a bad value. Returns
    the count, or None where it was left to the libraries (``OMP_NUM_THREADS``, or torch already loaded by
    a caller embedding ``main``: the caller owns its thread settings unless ``--threads`` /
    ``GRBENCH_THREADS`` say otherwise)."""
    global _request, _registered
    _request = resolve_request(option)
    if not _registered:
        _registered = True
        if register() is not None:
            atexit.register(unregister)
    if _loaded() and _request.source not in ("--threads", ENV):
        return None
    if not _loaded():
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return refresh(log_level=logging.INFO)


def refresh(log_level: int = logging.DEBUG) -> int | None:
    """Re-count and apply; cheap. Long stages call it when they start: processes started together have all
    registered by then, and processes that have finished no longer count. Returns the thread count, or None
    when ``OMP_NUM_THREADS`` decides (torch and faiss read it themselves). Logs at INFO when the count
    changes (the first call, at start-up, included), else at ``log_level``."""
    global _applied
    if _request.source == "OMP_NUM_THREADS":
        log.log(log_level, "threads: %d (OMP_NUM_THREADS)", _request.threads)
        return None
    if _request.threads is not None:
        threads, why = _request.threads, _request.source
    else:
        cpus, processes = available_cpus(), count()
        threads, why = share(cpus, processes), f"{cpus} CPUs shared by {processes} grbench processes"
    if threads != _applied:  # a change is worth INFO (processes started or finished since the last count)
        log_level = max(log_level, logging.INFO)
    log.log(log_level, "threads: %d (%s)", threads, why)
    _apply(threads)
    _applied = threads
    return threads
