"""Advisory per-key locks between processes that share a results tree or a cache.

Two ``grbench run`` on the same results directory and cache must not train the same checkpoint twice or race
on the same run directory. Every unit of work that produces a content-addressed artifact (a run, an SFT or
method checkpoint, a prepared split) is done under ``key_lock(root, key)``: a ``fcntl.flock`` on
``<root>/.locks/<key>.lock``. The process that gets the lock does the work; one that waits finds the
finished artifact when the lock is released and reuses it.

Properties this relies on:

- flock is released by the kernel when its holder dies (even by SIGKILL), so a killed run never blocks the
  next one;
- the lock file is unlinked by its holder on release, so no lock file outlives its use. A waiter that was
  blocked on an unlinked file notices (its descriptor no longer matches the path) and locks the new file;
- ``.locks`` is a hidden directory, which every results reader skips (hidden entries are never runs).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

LOCKS_DIR = ".locks"


def lock_path(root: Path | str, key: str) -> Path:
    """``<root>/.locks/<key>.lock``: where the lock of ``key`` among the artifacts under ``root`` lives."""
    if not key or "/" in key or key.startswith("."):
        raise ValueError(f"a lock key must be a plain file name; got {key!r}")
    return Path(root) / LOCKS_DIR / f"{key}.lock"


def try_acquire(path: Path) -> int | None:
    """Lock ``path`` without waiting; return the locked descriptor, or None when another process holds it."""
    return _acquire(path, blocking=False)


def acquire(path: Path) -> int:
    """Lock ``path``, waiting for its holder (if any) to finish; return the locked descriptor."""
    fd = _acquire(path, blocking=False)
    if fd is None:
        log.info("waiting for %s (held by %s)", path, _holder(path))
        fd = _acquire(path, blocking=True)
    assert fd is not None  # a blocking acquire returns only with the lock
    return fd


def release(path: Path, fd: int) -> None:
    """Unlink the lock file while still holding it, then unlock (see the module docstring for why)."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):  # only succeeds when no other lock is in use under this root
        os.rmdir(path.parent)


@contextlib.contextmanager
def key_lock(root: Path | str, key: str) -> Iterator[None]:
    """Hold the lock of ``key`` under ``root`` for the block (waiting for another process that holds it)."""
    path = lock_path(root, key)
    fd = acquire(path)
    try:
        yield
    finally:
        release(path, fd)


@contextlib.contextmanager
def try_key_lock(root: Path | str, key: str) -> Iterator[bool]:
    """Like ``key_lock`` but never waits: yields False (holding nothing) when another process has the lock."""
    path = lock_path(root, key)
    fd = try_acquire(path)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            release(path, fd)


def remove_stale_locks(root: Path | str) -> int:
    """Remove the lock files under ``<root>/.locks`` that no live process holds (left by a killed process)."""
    directory = Path(root) / LOCKS_DIR
    if not directory.is_dir():
        return 0
    removed = 0
    for path in sorted(directory.glob("*.lock")):
        fd = try_acquire(path)
        if fd is not None:
            release(path, fd)
            removed += 1
    return removed


def _acquire(path: Path, blocking: bool) -> int | None:
    flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:  # the .locks directory was removed between mkdir and open: retry
            continue
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                os.close(fd)
                raise
            _warn_unsupported(path, exc)  # run unlocked, as before locks existed, rather than not at all
            return fd
        except BaseException:
            os.close(fd)
            raise
        # The holder we waited for unlinks the file before unlocking; our lock is then on a dead inode and
        # a newcomer may already hold the new file. Only a lock on the file the path names counts.
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            _record_holder(fd)
            return fd
        os.close(fd)


# flock on a filesystem without lock support (some network mounts)
_UNSUPPORTED = frozenset(getattr(errno, n) for n in ("ENOLCK", "EOPNOTSUPP", "ENOSYS") if hasattr(errno, n))
_warned: set[Path] = set()


def _warn_unsupported(path: Path, exc: OSError) -> None:
    if path.parent not in _warned:
        _warned.add(path.parent)
        log.warning("file locks are not supported under %s (%s): concurrent suites there are not coordinated",
                    path.parent, exc.strerror or exc)


def _record_holder(fd: int) -> None:
    """Write our pid into the lock file: only for the 'waiting for ...' message of other processes."""
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid else "another process"
