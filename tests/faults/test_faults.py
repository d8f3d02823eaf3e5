"""Fault points: parsing, tracing, firing at exactly the N-th occurrence; SIGTERM handled like Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import cli, faults


@pytest.fixture(autouse=True)
def _disarmed():
    yield
    faults.configure(None, None)


def test_parse_faults_reads_several_specs() -> None:
    assert faults.parse_faults("checkpoint:3:KILL, beam_batch:1:int") == [
        ("checkpoint", 3, signal.SIGKILL), ("beam_batch", 1, signal.SIGINT)]


@pytest.mark.parametrize("text, message", [
    ("checkpoint:3", "expected EVENT:N:SIGNAL"),
    ("chekpoint:3:KILL", "unknown event 'chekpoint'. Available: train_step, checkpoint"),
    ("checkpoint:0:KILL", "N must be an int >= 1"),
    ("checkpoint:x:KILL", "N must be an int >= 1"),
    ("checkpoint:1:HUP", "SIGNAL must be one of KILL, INT, TERM"),
])
def test_parse_faults_names_the_bad_part(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        faults.parse_faults(text)


def test_unarmed_points_do_nothing() -> None:
    faults.configure(None, None)
    assert faults._hooks == {}
    faults.reached("checkpoint")


def test_trace_records_every_event_in_order(tmp_path: Path) -> None:
    trace = tmp_path / "sub" / "trace.txt"
    faults.configure(None, str(trace))
    for event in ("train_step", "train_step", "checkpoint", "run_recorded"):
        faults.reached(event)
    assert faults.read_trace(trace) == ["train_step", "train_step", "checkpoint", "run_recorded"]


class _Fired(Exception):
    pass


def test_fault_fires_on_the_nth_occurrence_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def raise_fired(signum, frame):
        raise _Fired(signum)

    previous = signal.signal(signal.SIGTERM, raise_fired)
    try:
        faults.configure("beam_batch:3:TERM", None)
        faults.reached("beam_batch")
        faults.reached("checkpoint")  # other events neither count nor fire
        faults.reached("beam_batch")
        with pytest.raises(_Fired):
            faults.reached("beam_batch")
            for _ in range(10**6):  # the handler runs at the next bytecode boundary
                pass
        faults.reached("beam_batch")  # the 4th: nothing
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_sigkill_fault_kills_the_process_at_the_point() -> None:
    code = ("from benchmark import faults\n"
            "for i in range(5):\n"
            "    print(i, flush=True)\n"
            "    faults.reached('checkpoint')\n")
    env = {**os.environ, faults.FAULT_ENV: "checkpoint:2:KILL"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    assert proc.stdout.split() == ["0", "1"]


def test_sigterm_exits_143_with_a_message_and_restores_the_handler(monkeypatch, capsys) -> None:
    cleaned = []

    def command(args: argparse.Namespace) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10**6):
                pass
            return 0
        finally:
            cleaned.append(True)

    parser = cli.build_parser()  # the real global options; the command is ours
    parser.set_defaults(func=command, command="test")
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main([]) == 143
    assert cleaned == [True]
    assert "terminated (SIGTERM)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before


def test_every_fault_point_in_the_code_names_a_known_event() -> None:
    import re

    root = Path(faults.__file__).parent
    used = {match for path in root.rglob("*.py")
            for match in re.findall(r'faults\.reached\("([^"]+)"\)', path.read_text(encoding="utf-8"))}
    assert used == set(faults.EVENTS)
