"""Unusable results/cache directories fail before any compute with a clean message; write errors name the
place and the OS reason; temporaries and lock files left by killed processes are swept, live ones are not."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmark.artifacts import atomic_dir, ensure_writable_dir, sweep_stale_temporaries
from benchmark.cli import main
from benchmark.errors import BenchmarkError, StorageError
from benchmark.locks import LOCKS_DIR, lock_path, try_key_lock
from benchmark.results import finished_runs
from benchmark.suite import runner
from benchmark.suite.profiles import load_profile
from benchmark.training.checkpoint import save_model_dir
from tests.results.factory import make_record, store_run

PER_QUERY = {"sid_mrr": np.array([0.5, 1.0, 0.0, 0.25])}


@pytest.fixture
def no_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to train or evaluate fails the test: the checks must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the results directory was checked")

    monkeypatch.setattr(runner, "execute_run", forbidden)
    monkeypatch.setattr(runner, "copy_run_as", forbidden)


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)


def test_results_path_that_is_a_file_fails_before_any_work(tmp_path: Path, no_compute) -> None:
    results = tmp_path / "results"
    results.write_text("not a directory")
    where = re.escape(f"{results}/smoke/runs: {results} is a file, not a directory")
    with pytest.raises(StorageError, match=f"^cannot write results to {where}$"):
        runner.run_suite(load_profile("smoke"), results)


def test_cli_reports_an_unusable_results_path_without_a_traceback(tmp_path: Path, no_compute, capsys) -> None:
    results = tmp_path / "results"
    results.write_text("")
    assert main(["run", "--profile", "smoke", "--results", str(results), "--no-tables"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("grbench run: error: cannot write results to ")
    assert "Traceback" not in err and "NotADirectoryError" not in err


def test_cache_path_that_is_a_file_fails_before_any_work(tmp_path: Path, no_compute, monkeypatch) -> None:
    cache = tmp_path / "cache"
    cache.write_text("")
    monkeypatch.setenv("GRBENCH_CACHE", str(cache))
    where = re.escape(f"to {cache}: it is a file, not a directory")
    with pytest.raises(StorageError, match=f"^cannot write the cache .* {where}$"):
        runner.run_suite(load_profile("smoke"), tmp_path / "results")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories; see the ENOSPC tests")
def test_read_only_results_directory_fails_before_any_work(tmp_path: Path, no_compute) -> None:
    results = tmp_path / "results"
    results.mkdir()
    results.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="cannot write results to .*: permission denied"):
            runner.run_suite(load_profile("smoke"), results)
    finally:
        results.chmod(0o700)


def test_full_disk_is_found_by_the_probe(tmp_path: Path, no_compute, monkeypatch) -> None:
    _disk_full(monkeypatch)
    where = re.escape(f"{tmp_path}/r/smoke/runs: no space left on device")
    with pytest.raises(StorageError, match=f"^cannot write results to {where}$"):
        runner.run_suite(load_profile("smoke"), tmp_path / "r")
    monkeypatch.undo()
    assert [p.name for p in (tmp_path / "r" / "smoke" / "runs").iterdir()] == []  # the probe file is gone


def test_full_disk_while_writing_a_result_is_a_clean_message(tmp_path: Path, monkeypatch) -> None:
    record = make_record()
    _disk_full(monkeypatch)
    runs = tmp_path / record.profile / "runs"
    where = re.escape(f"{runs}: no space left on device")
    with pytest.raises(StorageError, match=f"^cannot write results to {where}$") as info:
        store_run(tmp_path, record, PER_QUERY)
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, BenchmarkError)
    assert list(runs.iterdir()) == [] and finished_runs(runs) == {}


def test_write_error_in_a_checkpoint_names_the_checkpoint(tmp_path: Path, monkeypatch) -> None:
    class Model:
        def save_pretrained(self, where: Path) -> None:
            (Path(where) / "config.json").write_text("{}")

    target = tmp_path / "checkpoints" / "step-00000008"
    _disk_full(monkeypatch)
    message = f"^cannot write {re.escape(str(target))}: no space left on device$"
    with pytest.raises(StorageError, match=message):
        save_model_dir(target, Model(), None, {"step": 8})
    assert list(target.parent.iterdir()) == []


def test_full_disk_reported_in_a_library_exception_is_blamed_on_the_disk(tmp_path: Path, monkeypatch) -> None:
    class Model:  # torch.save / safetensors report a full disk as RuntimeError / SafetensorError
        def save_pretrained(self, where: Path) -> None:
            raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    target = tmp_path / "model"
    with pytest.raises(RuntimeError, match="PytorchStreamWriter"):  # disk fine: the library's own error
        save_model_dir(target, Model(), None, {})
    _disk_full(monkeypatch)
    message = f"^cannot write {re.escape(str(target))}: no space left on device$"
    with pytest.raises(StorageError, match=message):
        save_model_dir(target, Model(), None, {})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_ensure_writable_dir_creates_and_leaves_nothing(tmp_path: Path) -> None:
    path = ensure_writable_dir(tmp_path / "a" / "b", "results")
    assert path.is_dir() and list(path.iterdir()) == []


# --- stale temporaries -------------------------------------------------------------------------------------

def _python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def _killed_mid_write(root: Path, lock_root: Path | None = None) -> None:
    """A process that dies (SIGKILL: no cleanup) inside atomic_dir and atomic_path, holding a lock."""
    child = _python(f"""
        import os, signal
        from pathlib import Path
        from benchmark.artifacts import atomic_dir, atomic_path
        from benchmark.locks import key_lock
        root = Path({str(root)!r})
        with key_lock({str(lock_root or root / "runs")!r}, "somekey"):
            with atomic_dir(root / "runs" / "run-a") as tmp:
                (tmp / "run.json").write_text("half")
                with atomic_path(root / "cache" / "model" / "config.json") as f:
                    f.write_text("half")
                    os.kill(os.getpid(), signal.SIGKILL)
    """)
    child.wait()
    assert child.returncode == -signal.SIGKILL


def test_sweep_removes_temporaries_of_killed_processes_only(tmp_path: Path) -> None:
    _killed_mid_write(tmp_path)
    stale = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob(".*.tmp"))
    assert len(stale) == 2, stale
    live = _python(f"""
        from pathlib import Path
        from benchmark.artifacts import atomic_dir
        with atomic_dir(Path({str(tmp_path)!r}) / "runs" / "run-b") as tmp:
            (tmp / "run.json").write_text("in flight")
            print("ready", flush=True)
            input()
    """)
    try:
        assert live.stdout.readline().strip() == "ready"
        with atomic_dir(tmp_path / "cache" / "mine") as mine:  # this process's own in-flight temporary
            removed = sweep_stale_temporaries(tmp_path)
            assert mine.is_dir()
        assert sorted(p.relative_to(tmp_path) for p in removed) == stale
        in_flight = list((tmp_path / "runs").glob(".run-b.*.tmp"))
        assert len(in_flight) == 1 and (in_flight[0] / "run.json").read_text() == "in flight"
        live.communicate("\n", timeout=60)
        assert live.returncode == 0
    finally:
        live.kill()
    assert (tmp_path / "runs" / "run-b" / "run.json").read_text() == "in flight"
    assert not list(tmp_path.rglob(".*.tmp"))


def test_run_suite_sweeps_results_and_cache_and_stale_locks(tmp_path: Path, monkeypatch) -> None:
    results, cache = tmp_path / "results", tmp_path / "cache"
    monkeypatch.setenv("GRBENCH_CACHE", str(cache))
    _killed_mid_write(results / "smoke")  # its runs/ is the suite's runs directory
    _killed_mid_write(cache, lock_root=cache)
    assert lock_path(results / "smoke" / "runs", "somekey").exists()  # the killed holder could not remove it
    runner.prepare_storage(results / "smoke" / "runs")
    for root in (results, cache):
        assert not list(root.rglob(".*.tmp")), root
    assert not (results / "smoke" / "runs" / LOCKS_DIR).exists()
    assert not (cache / LOCKS_DIR).exists()


# --- locks ------------------------------------------------------------------------------------------

def test_lock_excludes_other_processes_and_dies_with_its_holder(tmp_path: Path) -> None:
    holder = _python(f"""
        from benchmark.locks import key_lock
        with key_lock({str(tmp_path)!r}, "k"):
            print("held", flush=True)
            input()
    """)
    assert holder.stdout.readline().strip() == "held"
    with try_key_lock(tmp_path, "k") as got:
        assert not got
    holder.kill()  # SIGKILL: no cleanup runs, the kernel drops the flock
    holder.wait()
    with try_key_lock(tmp_path, "k") as got:
        assert got
    assert not (tmp_path / LOCKS_DIR).exists()  # released locks leave no files behind



def test_filesystems_without_locks_run_unlocked_with_a_warning(tmp_path: Path, monkeypatch, caplog) -> None:
    import fcntl

    def flock(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", flock)
    with try_key_lock(tmp_path, "k") as got:
        assert got
    assert "file locks are not supported" in caplog.text
    assert not (tmp_path / LOCKS_DIR).exists()
