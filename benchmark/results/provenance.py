"""Provenance recorded with every run: code revision, package versions, hardware, numerical environment.

These are what make a stored number interpretable later ("which code, which torch, which machine"), so the
writer fills ``RunRecord.code_revision / packages / hardware`` from here when the caller leaves them None.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmark import determinism
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


# /proc/cpuinfo flags that select different kernels (ATen's dispatch, MKL's and oneDNN's code paths): two
# machines that differ here may round differently even with the same packages.
KERNEL_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "sve2")
# Environment variables that change which kernels run or how many threads split a reduction: those a
# determinism mode may set, and the others a user may have set by hand.
NUMERIC_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", *determinism.ENV_VARS, "DNNL_MAX_CPU_ISA",
               "CUBLAS_WORKSPACE_CONFIG", "GRBENCH_DETERMINISM")


def cpu_flags() -> list[str]:
    """The kernel-selecting ISA flags of this CPU (sorted), from /proc/cpuinfo; empty where it is absent."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                present = set(line.split(":", 1)[1].split())
                return sorted(present.intersection(KERNEL_FLAGS))
    except OSError:
        pass
    return []


def _torch_build_line(config: str, pattern: str) -> str:
    match = re.search(pattern, config)
    return match.group(1).strip() if match else "unknown"


def environment() -> dict[str, Any]:
    """What can move a float besides the code and the package versions: CPU flags, torch's thread count and
    CPU dispatch level, its BLAS and oneDNN builds, and the determinism settings in force.

    torch is read only if already loaded (every training or decoding run has loaded it); a run that never
    loaded it (a retrieval baseline) records "torch not loaded" and the thread count it would have used.
    """
    settings: dict[str, Any] = {name: os.environ[name] for name in NUMERIC_ENV if name in os.environ}
    from benchmark import determinism  # light: no torch

    mode = determinism.active_settings()["mode"]
    if mode:
        settings["determinism"] = mode
    torch = sys.modules.get("torch")
    if torch is None:
        threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or 1
        return {"cpu_model": cpu_model(), "cpu_flags": cpu_flags(), "threads": threads,
                "torch_cpu_capability": "torch not loaded", "blas": "torch not loaded",
                "onednn": "torch not loaded", "deterministic_algorithms": False, "settings": settings}
    if torch.cuda.is_available():
        # a GPU machine: record where this process computed (--device cpu keeps it on the CPU), absent elsewhere
        from benchmark.device import resolve

        settings["device"] = str(resolve())
    config = torch.__config__.show()
    blas = _torch_build_line(config, r"BLAS_INFO=([^,]+)")
    mkl = _torch_build_line(config, r"Math Kernel Library Version ([^\n]+?) for")
    return {
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "threads": int(torch.get_num_threads()),
        "torch_cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
        "blas": f"{blas} {mkl}" if blas == "mkl" and mkl != "unknown" else blas,
        "onednn": _torch_build_line(config, r"MKL-DNN (v[^ ]+)") if torch.backends.mkldnn.is_available() else "off",
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
        "settings": settings,
    }


# The parts of ``environment`` that identify it in a table footnote (threads and dispatch level change
# kernels; the CPU model stands for microcode and cache sizes that can change blocking).
def environment_label(hardware_cpu: str, packages: dict[str, str], env: dict[str, Any] | None) -> str:
    """A short, stable description of a run's numerical environment, for grouping runs in footnotes."""
    parts = [hardware_cpu, f"torch {packages.get('torch', '?')}", f"transformers {packages.get('transformers', '?')}"]
    if env is None:
        parts.append("threads/kernels not recorded")
    else:
        parts.append(f"{env['torch_cpu_capability']}, {env['threads']} thread(s)")
        mode = env.get("settings", {}).get("determinism")
        if mode:
            parts.append(f"determinism {mode}")
        device = env.get("settings", {}).get("device")
        if device:
            parts.append(f"on {device}")
    return "; ".join(parts)
