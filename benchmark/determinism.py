"""Determinism settings: named modes that pin what makes CPU floating point differ between machines.

Reruns on one machine, one thread count, are bitwise identical already; what moves results between machines
(or between one and two threads on one machine) is which kernel computes a sum, and in what order:

- **MKL** (the torch CPU wheel's BLAS: every fp32 ``Linear``) picks its code path by CPU vendor and ISA, and
  splits a GEMM differently for a different thread count. ``MKL_CBWR`` (conditional numerical
  reproducibility) pins the code branch (``AVX2``: the same bits on every CPU with AVX2; ``COMPATIBLE``:
  SSE2 on every x86); ``,STRICT`` also makes ``?gemm`` independent of the thread count (oneMKL developer
  guide, "Reproducibility Conditions").
- **ATen**'s own vectorised kernels (reductions, softmax, norms, elementwise) are compiled for
  default/AVX2/AVX-512 and chosen by the CPU at torch import; ``ATEN_CPU_CAPABILITY`` caps the choice.
- **oneDNN** (``torch.backends.mkldnn``) JIT-compiles for the CPU's ISA; ``ONEDNN_MAX_CPU_ISA`` caps it.
- the **thread count** decides how parallel reductions are split (``benchmark.threads`` otherwise gives a
  process its share of the CPUs, so one machine may train on 1 or 2 threads depending on its load).
- ``torch.use_deterministic_algorithms`` swaps the few ops with a non-deterministic implementation.

Environment variables are read when torch (and MKL, oneDNN) load, so :func:`apply` must run before torch is
imported; the CLI calls it at start-up. A mode's in-process settings (deterministic algorithms, oneDNN off)
need torch: :func:`apply` imports it, after exporting the environment, only for modes that have them.
``grbench perf determinism`` (``benchmark.determinism_study``) measures which mode makes training and
decoding independent of the ISA and the thread count, and at what cost. On the AMD EPYC (AVX-512) host of
issue #20 (torch 2.13 CPU wheel): ATen's dispatch level changed every result, thread counts above 2 changed
DPO (1 and 2 always agreed), MKL's branch choice and deterministic algorithms changed nothing; ``portable``
gave the same bits at every point, and its ISA pins cost nothing measurable.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys

from benchmark.registry import Registry

log = logging.getLogger(__name__)

# The environment variables a mode may set, in the order run.json reports them.
ENV_VARS = ("MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "GRBENCH_THREADS")
THREADS_ENV = "GRBENCH_THREADS"  # benchmark.threads reads it: a mode's fixed thread count goes through it
DEFAULT_MODE = "off"
MODE_ENV = "GRBENCH_DETERMINISM"  # the mode when --determinism is not given


@dataclasses.dataclass(frozen=True)
class Mode:
    """One named combination of determinism settings.

    ``env``: variables exported before torch loads; ``threads``: a fixed intra-op thread count (None: the
    process's share, see ``benchmark.threads``); ``deterministic_algorithms``: ``torch.use_deterministic_
    algorithms(True)``; ``mkldnn``: False disables ``torch.backends.mkldnn`` (oneDNN kernels).
    """

    name: str
    summary: str
    env: tuple[tuple[str, str], ...] = ()
    threads: int | None = None
    deterministic_algorithms: bool = False
    mkldnn: bool = True

    @property
    def needs_torch(self) -> bool:
        """Whether the mode has settings that only a call into torch can make."""
        return self.deterministic_algorithms or not self.mkldnn

    def environment(self) -> dict[str, str]:
        """Every variable the mode exports (its fixed thread count included)."""
        env = dict(self.env)
        if self.threads is not None:
            env[THREADS_ENV] = env["OMP_NUM_THREADS"] = str(self.threads)
        return env


MODES: Registry[Mode] = Registry("determinism mode")


def register_mode(mode: Mode) -> Mode:
    unknown = sorted({key for key, _ in mode.env} - set(ENV_VARS))
    if unknown:
        raise ValueError(f"Mode {mode.name!r} sets {unknown}; a mode may set only {list(ENV_VARS)}.")
    return MODES.register(mode.name, mode)


_MKL_AVX2 = (("MKL_CBWR", "AVX2,STRICT"),)
_ISA_AVX2 = (("ATEN_CPU_CAPABILITY", "avx2"), ("ONEDNN_MAX_CPU_ISA", "AVX2"))

register_mode(Mode("off", "nothing pinned: the libraries' own dispatch and this process's share of the CPUs"))
register_mode(Mode("algorithms", "torch.use_deterministic_algorithms(True) only", deterministic_algorithms=True))
register_mode(Mode("threads1", "one intra-op thread, whatever the machine's share", threads=1))
register_mode(Mode("mkl-avx2", "MKL's AVX2 branch in strict CNR mode (MKL_CBWR=AVX2,STRICT)", env=_MKL_AVX2))
register_mode(Mode("mkl-compatible", "MKL's SSE2 branch in CNR mode (MKL_CBWR=COMPATIBLE)",
                   env=(("MKL_CBWR", "COMPATIBLE"),)))
register_mode(Mode("avx2", "MKL AVX2 strict CNR + ATen and oneDNN capped at AVX2", env=_MKL_AVX2 + _ISA_AVX2))
register_mode(Mode("portable", "as avx2, on one intra-op thread", env=_MKL_AVX2 + _ISA_AVX2, threads=1))
register_mode(Mode("strict", "as portable, plus deterministic algorithms and oneDNN off",
                   env=_MKL_AVX2 + _ISA_AVX2, threads=1, deterministic_algorithms=True, mkldnn=False))


def unpinned_environment(base: dict[str, str] | os._Environ | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without any variable that pins kernels or threads: the
    starting point of a child process that applies a mode of its own, so nothing of the parent's leaks in."""
    env = dict(os.environ if base is None else base)
    for key in (*ENV_VARS, "OMP_NUM_THREADS", "MKL_ENABLE_INSTRUCTIONS"):
        env.pop(key, None)
    return env


def get_mode(name: str) -> Mode:
    """The mode registered as ``name``; an unknown name raises UnknownNameError listing the available ones."""
    return MODES.get(name)


def mode_names() -> list[str]:
    return MODES.names()


# ---------------------------------------------------------------------------------------------- applying
@dataclasses.dataclass
class _State:
    mode: str | None = None
    env_before_torch: bool = True


_state = _State()


def apply(mode: str = DEFAULT_MODE, *, export: bool = True) -> Mode:
    """Put ``mode`` in force in this process; returns it. Call it before torch is imported.

    Exports the mode's variables (overriding the environment's: the mode is what run.json will claim);
    a fixed thread count goes to ``GRBENCH_THREADS`` / ``OMP_NUM_THREADS``, which ``benchmark.threads`` then
    honours (an explicit ``--threads`` still wins there, and ``active_settings`` reports the count in force).
    A mode with in-process settings imports torch to make them. Where torch is already loaded the
    variables cannot act in this process any more: logged as a warning and reported by ``active_settings``
    (``env_before_torch``); they still reach child processes. ``export=False``: a parent process exported
    the environment already (e.g. within an emulated machine's ISA caps); only the rest is done.
    """
    chosen = get_mode(mode)
    torch_loaded = "torch" in sys.modules
    environment = chosen.environment() if export else {}
    late = [key for key, value in environment.items()
            if key not in (THREADS_ENV, "OMP_NUM_THREADS") and os.environ.get(key) != value]
    if torch_loaded and late:
        log.warning("determinism mode %r: %s set after torch was imported; they act in child processes only",
                    chosen.name, ", ".join(late))
    os.environ.update(environment)
    _state.mode = chosen.name
    _state.env_before_torch = not (torch_loaded and late)
    if torch_loaded or chosen.needs_torch:
        apply_torch(chosen)
    return chosen


def apply_torch(mode: Mode) -> None:
    """The in-process part of ``mode`` (imports torch): deterministic algorithms, oneDNN, the thread count."""
    import torch

    torch.use_deterministic_algorithms(mode.deterministic_algorithms)
    torch.backends.mkldnn.enabled = mode.mkldnn
    if mode.threads is not None and torch.get_num_threads() != mode.threads:
        torch.set_num_threads(mode.threads)


def active_settings() -> dict[str, str | bool | int]:
    """What is in force in this process, for run.json: the mode, the variables (``""`` when unset) and, when
    torch is loaded, what torch reports (its CPU capability, thread count, deterministic algorithms, oneDNN).
    Without torch loaded, the torch-side entries say what the mode will set."""
    mode = get_mode(_state.mode) if _state.mode is not None else None
    settings: dict[str, str | bool | int] = {
        "mode": _state.mode if _state.mode is not None else "",
        "env_before_torch": _state.env_before_torch,
    }
    for key in (*ENV_VARS, "OMP_NUM_THREADS"):
        settings[key] = os.environ.get(key, "")
    torch = sys.modules.get("torch")
    if torch is None:
        settings["deterministic_algorithms"] = bool(mode and mode.deterministic_algorithms)
        settings["mkldnn_enabled"] = mode.mkldnn if mode else True
        return settings
    settings["deterministic_algorithms"] = torch.are_deterministic_algorithms_enabled()
    settings["mkldnn_enabled"] = bool(torch.backends.mkldnn.enabled)
    settings["torch_threads"] = torch.get_num_threads()
    settings["aten_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    settings["mkl_available"] = torch.backends.mkl.is_available()
    return settings
