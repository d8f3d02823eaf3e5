"""Atomic writes, content hashes and cache locations shared by every stage.

Every file the benchmark produces is written through one of the ``atomic_*`` helpers: the content goes to a
temporary file in the same directory, is flushed and fsynced, then renamed over the target, so a crash never
leaves a half-written file that a later run would mistake for a finished one. A write the location cannot
take (disk full, read-only, a file in the way) is raised as ``StorageError`` naming the target and the OS
reason; ``ensure_writable_dir`` checks a directory up front, and ``sweep_stale_temporaries`` removes the
temporaries a killed process left behind (never those of a live one).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.errors import StorageError

log = logging.getLogger(__name__)

CACHE_ENV = "GRBENCH_CACHE"


def cache_root() -> Path:
    """The user cache directory: ``$GRBENCH_CACHE``, else ``$XDG_CACHE_HOME/grbench``, else ``~/.cache/grbench``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grbench"


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace variation: the input of every content hash."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def hash_json(obj: Any, length: int = 16) -> str:
    """Short sha256 of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporary entries are named ``.<target>.<host>-<pid>.<random>.tmp``: hidden (so readers skip them), beside
# their target (so the final rename stays on one filesystem), and naming the process that writes them, so a
# later run can tell the leftovers of a killed process from the in-flight files of a live one.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
TMP_SUFFIX = ".tmp"
_TMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<host>[0-9a-f]{6})-(?P<pid>\d+)\.[a-z0-9_]+(?:\.old)?\.tmp$")

# errno values that can only mean "this filesystem cannot take the write", whichever file the caller touched.
_STORAGE_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EROFS", "EFBIG", "EIO") if hasattr(errno, name)
)


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}.{_HOST}-{os.getpid()}."


def storage_error(exc: OSError, what: str) -> StorageError:
    """A ``StorageError`` reading "cannot write <what>: <OS reason>", keeping the original errno."""
    reason = getattr(exc, "reason", None) or exc.strerror or str(exc) or type(exc).__name__
    reason = reason[:1].lower() + reason[1:]
    error = StorageError(f"cannot write {what}: {reason}")
    error.errno = exc.errno
    error.reason = reason
    return error


@contextlib.contextmanager
def _storage_errors(what: str, *, caller_code_in: Path | None = None) -> Iterator[None]:
    """Re-raise an OSError of the block as a ``StorageError`` naming ``what``.

    ``caller_code_in``: the block runs the caller's code writing into this directory. Its OSErrors are
    converted only when they mean the filesystem cannot take the write (disk full, read-only...); any other
    failure is blamed on the location only if a probe write there fails too: libraries report a full disk in
    their own exception types (safetensors, torch.save), while a missing input file is the caller's own error.
    """
    try:
        yield
    except OSError as exc:
        # A StorageError of a nested atomic write names a temporary path: name ``what`` instead.
        if caller_code_in is None or exc.errno in _STORAGE_ERRNOS or isinstance(exc, StorageError):
            raise storage_error(exc, what) from exc
        cause = _probe_error(caller_code_in)
        if cause is None:
            raise
        raise storage_error(cause, what) from exc
    except Exception as exc:
        cause = None if caller_code_in is None else _probe_error(caller_code_in)
        if cause is None:
            raise
        raise storage_error(cause, what) from exc


def _probe(directory: Path) -> None:
    """Create, write, fsync and remove a small temporary file in ``directory``."""
    fd, probe = tempfile.mkstemp(prefix=_tmp_prefix(directory / "probe"), suffix=TMP_SUFFIX, dir=directory)
    try:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(probe)


def _probe_error(directory: Path) -> OSError | None:
    try:
        _probe(directory)
    except OSError as exc:
        return exc
    return None


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` only if the block succeeds.

    A failure to write (disk full, read-only or missing directory) is raised as ``StorageError`` naming
    ``target`` and the OS reason.
    """
    target = Path(target)
    with _storage_errors(str(target)):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=TMP_SUFFIX, dir=target.parent)
        os.close(fd)
        # mkstemp creates 0600; give the file the mode a plain open() would, so results stay readable by others.
        os.chmod(tmp, 0o666 & ~_current_umask())
    tmp_path = Path(tmp)
    try:
        with _storage_errors(str(target), caller_code_in=target.parent):
            yield tmp_path
        with _storage_errors(str(target)):
            os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(target: Path | str, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(target)


def atomic_write_text(target: Path | str, text: str) -> Path:
    return atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: Path | str, obj: Any, indent: int | None = 2) -> Path:
    text = json.dumps(obj, sort_keys=True, indent=indent, default=_json_default)
    return atomic_write_text(target, text + "\n")


@contextlib.contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield a temporary directory; it replaces ``target`` only if the block succeeds.

    Used for multi-file artifacts (a built split, a checkpoint): readers see either the old complete
    directory or the new complete one, never a mix.

    Concurrent publishers of one ``target`` all succeed. When ``target`` did not exist as the block began and
    another process (or thread) publishes it first, ours is discarded and theirs kept: targets are
    content-addressed, so both hold the same artifact. When ``target`` existed already, it is replaced (last
    writer wins). Write failures are raised as ``StorageError`` naming ``target`` and the OS reason.
    """
    target = Path(target)
    with _storage_errors(str(target)):
        target.parent.mkdir(parents=True, exist_ok=True)
        existed = target.exists()
        tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=TMP_SUFFIX, dir=target.parent))
        tmp.chmod(0o777 & ~_current_umask())  # mkdtemp creates 0700; as mkdir would instead
    try:
        with _storage_errors(str(target), caller_code_in=target.parent):
            yield tmp
        with _storage_errors(str(target)):
            _publish_dir(tmp, target, replace=existed)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _publish_dir(tmp: Path, target: Path, *, replace: bool) -> None:
    """Rename ``tmp`` to ``target``, tolerating another publisher of the same target at the same time."""
    old = tmp.with_name(tmp.name[: -len(TMP_SUFFIX)] + ".old" + TMP_SUFFIX)
    for _ in range(100):
        try:
            os.replace(tmp, target)  # atomic; fails with ENOTEMPTY/EEXIST while a non-empty target is there
            break
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        if not replace:
            log.debug("%s was published concurrently; keeping that identical copy", target)
            return
        try:
            os.replace(target, old)  # move the previous version aside, then retry the rename
        except FileNotFoundError:
            pass  # another replacer moved it aside first: just retry
        else:
            shutil.rmtree(old, ignore_errors=True)
    else:
        raise OSError(errno.ENOTEMPTY, f"{target} kept reappearing while being replaced")


def ensure_writable_dir(path: Path | str, what: str) -> Path:
    """Create ``path`` if needed and prove it takes a write (create, write, fsync, remove a temporary file).

    Raises ``StorageError`` "cannot write <what> to <path>: <reason>" before any work is done: a file in the
    way, a read-only or full filesystem.
    """
    path = Path(path)
    label = f"{what} to {path}"
    blocker = _file_in_the_way(path)
    if blocker is not None:
        reason = "it is" if blocker == path else f"{blocker} is"
        reason += " a file, not a directory"
        raise storage_error(OSError(errno.ENOTDIR, reason), label)
    with _storage_errors(label):
        path.mkdir(parents=True, exist_ok=True)
        _probe(path)
    return path


def _file_in_the_way(path: Path) -> Path | None:
    """The first existing non-directory among ``path`` and its ancestors, if any."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def sweep_stale_temporaries(root: Path | str) -> list[Path]:
    """Remove the temporary files and directories under ``root`` left behind by killed processes.

    Only entries named by this host and a process that is no longer alive are removed: the in-flight
    temporaries of a concurrent run (a live pid) are left alone, and so are those written on another machine
    sharing the tree (their pids mean nothing here). Returns the paths removed.
    """
    root = Path(root)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            match = _TMP_NAME.match(name)
            if match is None:
                continue
            if name in dirnames:
                dirnames.remove(name)  # never descend into a temporary, stale or not
            if match["host"] != _HOST or _pid_alive(int(match["pid"])):
                continue
            path = Path(dirpath) / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed.append(path)
    if removed:
        log.info("removed %d temporaries left by killed processes under %s", len(removed), root)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True
