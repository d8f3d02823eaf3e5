"""Thread count: the share of the CPUs (registry of live processes, affinity, cgroup quota), the precedence of
``--threads`` > ``GRBENCH_THREADS`` > ``OMP_NUM_THREADS`` > share, and clear errors for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import threads
from benchmark.errors import ConfigError


@pytest.fixture(autouse=True)
def _private_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own registry, so the grbench processes really running on the machine do not count."""
    registry = tmp_path / "registry"
    monkeypatch.setattr(threads, "registry_dir", lambda: registry)
    for name in (threads.ENV, "OMP_NUM_THREADS", threads.CHOSEN_ENV):
        monkeypatch.delenv(name, raising=False)
    return registry


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# ---------------------------------------------------------------------------------------------- share
@pytest.mark.parametrize(
    ("cpus", "processes", "expected"),
    [(2, 1, 2), (2, 2, 1), (2, 3, 1), (8, 3, 2), (16, 4, 4), (1, 5, 1), (4, 0, 4)],
)
def test_share(cpus: int, processes: int, expected: int) -> None:
    assert threads.share(cpus, processes) == expected


def test_choose_uses_the_share_unless_a_count_is_requested() -> None:
    assert threads.choose(threads.Request(None, "share"), cpus=2, processes=3) == 1
    assert threads.choose(threads.Request(None, "share"), cpus=8, processes=2) == 4
    assert threads.choose(threads.Request(3, "--threads"), cpus=2, processes=3) == 3


# ---------------------------------------------------------------------------------------------- CPUs
def test_available_cpus_is_the_affinity_capped_by_the_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(threads, "_cgroup_quota_cpus", lambda: None)
    assert threads.available_cpus() == 4
    monkeypatch.setattr(threads, "_cgroup_quota_cpus", lambda: 2)
    assert threads.available_cpus() == 2
    monkeypatch.setattr(threads, "_cgroup_quota_cpus", lambda: 16)
    assert threads.available_cpus() == 4


def test_cgroup_quota(tmp_path: Path) -> None:
    assert threads._cgroup_quota_cpus(tmp_path) is None  # no cgroup files
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads._cgroup_quota_cpus(tmp_path) is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: rounded up
    assert threads._cgroup_quota_cpus(tmp_path) == 2
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads._cgroup_quota_cpus(v1) is None
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    assert threads._cgroup_quota_cpus(v1) == 3


# ---------------------------------------------------------------------------------------------- registry
def test_registry_counts_live_processes_and_prunes_stale_ones(_private_registry: Path) -> None:
    registry = _private_registry
    assert threads.count() == 1  # empty (even missing) registry: this process alone
    assert threads.register() == registry / str(os.getpid())
    parent = os.getppid()
    threads.register(pid=parent)
    dead = _dead_pid()
    (registry / str(dead)).write_text("")  # a process killed before it could unregister
    (registry / "notes.txt").write_text("ignored")
    assert threads.live_pids() == {os.getpid(), parent}
    assert threads.count() == 2
    assert not (registry / str(dead)).exists()
    assert (registry / "notes.txt").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times come from /proc")
def test_registry_recognises_a_reused_pid(_private_registry: Path) -> None:
    registry = _private_registry
    registry.mkdir()
    # a live pid whose recorded start time is not its own: the registered process died and the pid was reused
    (registry / str(os.getppid())).write_text("1")
    assert threads.live_pids() == set()
    assert threads._start_time(os.getpid()).isdigit()


def test_register_twice_and_unregister(_private_registry: Path) -> None:
    threads.register()
    threads.register()
    assert threads.count() == 1
    threads.unregister()
    threads.unregister()  # already gone: no error
    assert threads.live_pids() == set()


def test_unwritable_registry_still_counts_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(threads, "registry_dir", lambda: blocker / "registry")  # a file where a dir should be
    assert threads.register() is None
    assert threads.count() == 1


# ---------------------------------------------------------------------------------------------- precedence
@pytest.mark.parametrize(("text", "expected"), [("4", 4), (" 2 ", 2), (3, 3), ("auto", None), ("AUTO", None),
                                                 ("", None), (None, None)])  # fmt: skip
def test_parse_threads(text: str | int | None, expected: int | None) -> None:
    assert threads.parse_threads(text, "X") == expected


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", 0])
def test_bad_env_value_is_a_clear_error(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV, str(bad))
    with pytest.raises(ConfigError) as info:
        threads.resolve_request(None)
    message = str(info.value)
    assert "GRBENCH_THREADS" in message and ">= 1" in message and repr(str(bad)) in message


def test_explicit_option_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV, "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert threads.resolve_request(1) == threads.Request(1, "--threads")
    assert threads.resolve_request("auto") == threads.Request(None, "--threads")  # auto: the share
    assert threads.resolve_request(None) == threads.Request(3, threads.ENV)
    monkeypatch.setenv(threads.ENV, "auto")  # asks for the share although OMP_NUM_THREADS is set
    assert threads.resolve_request(None) == threads.Request(None, threads.ENV)
    monkeypatch.delenv(threads.ENV)
    assert threads.resolve_request(None) == threads.Request(4, "OMP_NUM_THREADS")


@pytest.mark.parametrize(("omp", "expected"), [("4", 4), ("4,2", 4), ("", None), ("abc", None), ("0", None)])
def test_omp_num_threads(omp: str, expected: int | None) -> None:
    request = threads.resolve_request(None, {"OMP_NUM_THREADS": omp})
    assert request == (threads.Request(expected, "OMP_NUM_THREADS") if expected else threads.Request(None, "share"))


def test_omp_num_threads_exported_by_grbench_is_not_a_user_choice() -> None:
    environ = {"OMP_NUM_THREADS": "2", threads.CHOSEN_ENV: "2"}
    assert threads.resolve_request(None, environ) == threads.Request(None, "share")
    environ["OMP_NUM_THREADS"] = "3"  # changed by the user since
    assert threads.resolve_request(None, environ) == threads.Request(3, "OMP_NUM_THREADS")


# ---------------------------------------------------------------------------------------------- applying
def test_refresh_applies_the_share_to_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_request", threads.Request(None, "share"))
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    for fake in (7, 8):  # this process and other live grbench processes
        threads.register(pid=fake)
    monkeypatch.setattr(threads, "_alive", lambda pid, start: True)
    try:
        assert threads.refresh() == 1  # 2 CPUs // 3 processes
        assert torch.get_num_threads() == 1
        monkeypatch.setattr(threads, "_request", threads.Request(2, "--threads"))
        assert threads.refresh() == 2 and torch.get_num_threads() == 2
        monkeypatch.setattr(threads, "_request", threads.Request(5, "OMP_NUM_THREADS"))
        assert threads.refresh() is None and torch.get_num_threads() == 2  # left to the libraries
    finally:
        torch.set_num_threads(before)


def test_cli_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["--threads", "3", "perf", "decode"]).threads == 3  # global, kept by the command
    assert parser.parse_args(["perf", "decode", "--threads", "auto"]).threads == "auto"
    assert parser.parse_args(["perf", "decode"]).threads is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--threads", "0", "perf", "decode"])


def test_cli_reports_a_bad_env_value(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from benchmark.cli import main

    monkeypatch.setattr(threads, "_registered", True)  # keep the pytest process out of the registry
    monkeypatch.setenv(threads.ENV, "abc")
    assert main(["perf", "decode"]) == 2
    assert "GRBENCH_THREADS environment variable must be an int >= 1 or 'auto'. Got 'abc'" in capsys.readouterr().err
