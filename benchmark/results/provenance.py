"""Provenance recorded with every run: code revision, package versions, hardware.

These are what make a stored number interpretable later ("which code, which torch, which machine"), so the
writer fills ``RunRecord.code_revision / packages / hardware`` from here when the caller leaves them None.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from benchmark.results.schema import Hardware

# Distribution names to report under the keys the schema requires (faiss ships as faiss-cpu or faiss-gpu).
_PACKAGES = {
    "torch": ("torch",),
    "transformers": ("transformers",),
    "faiss": ("faiss-cpu", "faiss-gpu", "faiss"),
    "numpy": ("numpy",),
    "tokenizers": ("tokenizers",),
    "pandas": ("pandas",),
    "pyarrow": ("pyarrow",),
    "scipy": ("scipy",),
}


def source_checkout() -> Path | None:
    """The git checkout this package is imported from (the directory above it holding ``.git``), else None.

    An installed wheel has no checkout: asking git from its site-packages could find whatever repository
    happens to enclose it and record that repository's revision.
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / ".git").exists() else None  # .git is a file in a worktree


DIRTY_SUFFIX = "+dirty"


def is_dirty(revision: str | None) -> bool:
    """Whether a recorded revision says the code had uncommitted changes (nobody can check it out)."""
    return bool(revision) and str(revision).endswith(DIRTY_SUFFIX)


def tracked_by_checkout(path: Path) -> bool:
    """Whether ``path`` lies inside the source checkout and is not git-ignored: results written there end up
    in the history (``results/``), while ``runs/`` and temporary directories do not."""
    repo = source_checkout()
    if repo is None:
        return False
    try:
        Path(path).resolve().relative_to(repo.resolve())
    except ValueError:
        return False
    # A trailing slash: results are directories, and "/runs/" patterns match directories only (even one
    # that does not exist yet).
    ignored = subprocess.run(["git", "-C", str(repo), "check-ignore", "-q", f"{Path(path).resolve()}/"],
                             capture_output=True, timeout=10)
    return ignored.returncode != 0


@functools.cache
def code_revision(repo: Path | None = None) -> str:
    """The git commit of ``repo`` (suffixed ``+dirty`` when tracked files differ from it), else "unknown".

    ``repo`` defaults to the source checkout (``source_checkout``); an installed package has none: "unknown".

    Read once per process: a suite runs for hours with the code it started with, so a commit made meanwhile
    must not be recorded as the revision of its later runs. ``run_suite`` calls this when it starts.
    """
    repo = repo if repo is not None else source_checkout()
    if repo is None:
        return "unknown"
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return f"{head}{DIRTY_SUFFIX}" if dirty else head


def package_versions() -> dict[str, str]:
    """Versions of python and the packages that change numbers; "not installed" where one is absent."""
    versions = {"python": platform.python_version()}
    for key, dists in _PACKAGES.items():
        versions[key] = "not installed"
        for dist in dists:
            try:
                versions[key] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _gpu_name() -> str | None:
    # torch is imported only if already loaded: recording provenance must not pay for importing it.
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def hardware() -> Hardware:
    """CPU model, usable cores, GPU name (None on CPU) and platform string of this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return Hardware(cpu=cpu_model(), cores=max(1, cores), gpu=_gpu_name(), platform=platform.platform())
