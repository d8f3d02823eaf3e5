"""Named fault points: a process can be made to signal itself at an exact, meaningful moment.

The code calls ``reached(EVENT)`` where an interruption is interesting (the events are listed in ``EVENTS``).
Normally that is a no-op costing one dict lookup. Two environment variables, read once when this module is
first imported, arm it:

``GRBENCH_FAULT=EVENT:N:SIGNAL[,EVENT:N:SIGNAL...]``
    on the N-th occurrence (1-based, counted in this process) of EVENT, send SIGNAL to this process.
    SIGNAL is KILL, INT or TERM. Example: ``GRBENCH_FAULT=checkpoint:3:KILL`` dies, without any cleanup, right
    after the third training checkpoint is on disk; ``beam_batch:2:INT`` behaves like Ctrl-C after the second
    beam-search batch.
``GRBENCH_FAULT_TRACE=PATH``
    append every event reached, one name per line, to PATH (line-buffered, so a trace survives SIGKILL up to
    the last event). ``grbench perf faults`` draws its kill points from such a trace of a complete run.

Tests drive interruptions with these instead of watching the filesystem against a clock: the fault fires at
the same point of the work however loaded the machine is.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from pathlib import Path

FAULT_ENV = "GRBENCH_FAULT"
TRACE_ENV = "GRBENCH_FAULT_TRACE"

# event -> where it is reached (after the moment it names has completed, so the state on disk is that of
# the moment: e.g. "checkpoint" fires with the checkpoint directory already renamed into place).
EVENTS = {
    "train_step": "an optimizer step finished (benchmark.training.trainer)",
    "checkpoint": "an intermediate training checkpoint written (benchmark.training.trainer)",
    "train_done": "a training run's final model and summary written (benchmark.training.trainer)",
    "beam_batch": "a beam-search batch decoded (benchmark.decoding.beam)",
    "result_file": "a run directory's file written into its temporary directory (benchmark.results.writer)",
    "run_recorded": "a run's result directory renamed into place (benchmark.suite.runner)",
}
SIGNALS = {"KILL": signal.SIGKILL, "INT": signal.SIGINT, "TERM": signal.SIGTERM}

_hooks: dict[str, Callable[[], None]] = {}


def reached(event: str) -> None:
    """Mark that ``event`` happened; fires an armed fault or records a trace line. No-op when unarmed."""
    hook = _hooks.get(event)
    if hook is not None:
        hook()


def parse_faults(text: str) -> list[tuple[str, int, signal.Signals]]:
    """``"EVENT:N:SIGNAL,..."`` -> [(event, n, signal)]; ValueError naming the bad part otherwise."""
    faults = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        fields = part.split(":")
        if len(fields) != 3:
            raise ValueError(f"{FAULT_ENV}: expected EVENT:N:SIGNAL, got {part!r}.")
        event, count, name = fields
        if event not in EVENTS:
            raise ValueError(f"{FAULT_ENV}: unknown event {event!r}. Available: {', '.join(EVENTS)}.")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{FAULT_ENV}: N must be an int >= 1, got {count!r} in {part!r}.")
        if name.upper() not in SIGNALS:
            raise ValueError(f"{FAULT_ENV}: SIGNAL must be one of {', '.join(SIGNALS)}, got {name!r}.")
        faults.append((event, int(count), SIGNALS[name.upper()]))
    return faults


def format_fault(event: str, n: int, signal_name: str = "KILL") -> str:
    """The ``GRBENCH_FAULT`` value that sends ``signal_name`` at the ``n``-th ``event``."""
    return f"{event}:{n}:{signal_name}"


def configure(fault: str | None = None, trace: str | None = None) -> None:
    """Arm (or, with both None, disarm) the fault points of this process; what import does from the env."""
    _hooks.clear()
    faults = parse_faults(fault) if fault else []
    trace_file = None
    if trace:
        Path(trace).parent.mkdir(parents=True, exist_ok=True)
        trace_file = open(trace, "a", buffering=1, encoding="utf-8")  # open for the process's life
    for event in {e for e, _, _ in faults} | (set(EVENTS) if trace_file else set()):
        _hooks[event] = _make_hook(event, [(n, s) for e, n, s in faults if e == event], trace_file)


def _make_hook(event: str, faults: Iterable[tuple[int, signal.Signals]], trace_file) -> Callable[[], None]:
    at = dict(faults)  # occurrence -> signal
    seen = 0

    def hook() -> None:
        nonlocal seen
        seen += 1
        if trace_file is not None:
            trace_file.write(event + "\n")
        sig = at.get(seen)
        if sig is not None:
            os.kill(os.getpid(), sig)

    return hook


def read_trace(path: str | os.PathLike) -> list[str]:
    """The events of a trace file, in order."""
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


configure(os.environ.get(FAULT_ENV) or None, os.environ.get(TRACE_ENV) or None)
