"""Finding a dataset's files: the data directory (``--data-dir`` / ``$GRBENCH_DATA``), then the user cache
(``cache_root()/downloads/<name>/``), then a download from the pinned URL into that cache.

Every file is checked against its sha256 before use. A download is written to a temporary file and renamed
into the cache only after its checksum matched, so the cache never holds a partial or wrong file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from benchmark.artifacts import atomic_path, cache_root, sha256_file
from benchmark.data.registry import DatasetSpec, RemoteFile
from benchmark.errors import DataError

log = logging.getLogger(__name__)
DATA_ENV = "GRBENCH_DATA"
DOWNLOAD_TIMEOUT_S = 60


def data_dir_option(data_dir: str | Path | None) -> Path | None:
    """The data directory in effect: the argument, else ``$GRBENCH_DATA``, else None."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else None


def downloads_dir(spec: DatasetSpec) -> Path:
    return cache_root() / "downloads" / spec.name


def resolve_files(spec: DatasetSpec, data_dir: str | Path | None = None) -> dict[str, Path]:
    """Local, checksum-verified path of every file of ``spec``, by file name."""
    base = data_dir_option(data_dir)
    return {f.name: resolve_file(spec, f, base) for f in spec.files}


def _how_to_obtain(spec: DatasetSpec, f: RemoteFile) -> str:
    return (f"Obtain the original file from {f.url} and put it at <data dir>/{spec.name}/{f.name} "
            f"(pass --data-dir or set {DATA_ENV}), or let grbench download it into {downloads_dir(spec)}.")


def verify(spec: DatasetSpec, f: RemoteFile, path: Path) -> Path:
    found = sha256_file(path)
    if found != f.sha256:
        raise DataError(
            f"{path}: sha256 {found} does not match the expected {f.sha256} for {spec.name}/{f.name} "
            f"(the file is corrupt, truncated or a different version; size {path.stat().st_size} bytes, "
            f"expected {f.size}). {_how_to_obtain(spec, f)} Nothing was written to the cache."
        )
    return path


def resolve_file(spec: DatasetSpec, f: RemoteFile, base: Path | None) -> Path:
    searched: list[Path] = []
    if base is not None:
        for candidate in (base / spec.name / f.name, base / f.name):
            searched.append(candidate)
            if candidate.is_file():
                return verify(spec, f, candidate)
    cached = downloads_dir(spec) / f.name
    searched.append(cached)
    if cached.is_file():
        if sha256_file(cached) == f.sha256:
            return cached
        log.warning("cached %s has a wrong checksum; downloading it again", cached)
    try:
        return download(spec, f, cached)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(
            f"{spec.name}/{f.name} (sha256 {f.sha256}) was not found (looked in: "
            f"{', '.join(str(p) for p in searched)}) and could not be downloaded from {f.url}: {exc}. "
            f"{_how_to_obtain(spec, f)}"
        ) from exc


def download(spec: DatasetSpec, f: RemoteFile, target: Path) -> Path:
    """Stream ``f.url`` into ``target`` atomically; the checksum is verified before the file appears."""
    log.info("downloading %s -> %s", f.url, target)
    digest = hashlib.sha256()
    with atomic_path(target) as tmp:
        with urllib.request.urlopen(f.url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(tmp, "wb") as out:
            with tqdm(total=f.size or None, unit="B", unit_scale=True, desc=f.name, disable=None) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
                    bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != f.sha256:
            raise DataError(
                f"the download of {spec.name}/{f.name} from {f.url} has sha256 {digest.hexdigest()}, expected "
                f"{f.sha256}; it was discarded and nothing was written to the cache. {_how_to_obtain(spec, f)}"
            )
    return target
