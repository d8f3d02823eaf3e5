"""Where the runs of a suite are computed: in this process (``local``, the default) or as Ray tasks (``ray``).

``runner.run_suite`` plans (expand, tuned settings, shard, the finished runs) and hands the plan to an executor
from :data:`EXECUTORS`; every executor files results through the runner's ``_run_spec``, so the skip / reuse /
lock / one-writer rules are the same for all of them.

The Ray executor (``grbench run --executor ray [--address ADDR]``):

- every unfinished run whose compute key is not stored yet is one task asking for ``threads`` CPUs (and
  ``gpus_per_run`` GPUs); runs of the plan with an identical compute key share one task and are copied;
- the SFT checkpoint a run starts from is one task per SFT configuration; the runs that start from it take
  its object ref as an argument, so Ray starts them only after it (and every method of a seed starts from
  one checkpoint, checked by its weights' digest: a node whose cache is not shared trains its own copy, and a
  copy that differs in any bit fails the run instead of recording another starting point);
- a task returns its record and evaluation to the driver, which writes them through the one results writer
  (``stages.record`` -> ``results.write_run``) under the run's lock, as the in-process runner does: only the
  driver needs the results directory, and nothing but the driver ever writes into it. The provenance a run
  records about its machine (``hardware``, ``environment``, ``packages``) is taken in the task, on the node
  that computed it; the code revision is the driver's (a node running another revision fails the run);
- each task runs with the thread count and determinism mode of the driver (its ``torch.get_num_threads()``,
  i.e. what the same run in process would use, unless ``threads`` pins another), set in the worker's
  environment before torch loads: Ray's own default (``OMP_NUM_THREADS`` = the task's CPUs, or 1) would
  change the numbers, since the thread count decides how reductions are split.

The cache (``GRBENCH_CACHE``, forwarded when set) holds prepared data and checkpoints: on one machine or on
shared storage each SFT checkpoint is trained once; otherwise each node builds its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from benchmark.artifacts import hash_json
from benchmark.errors import BenchmarkError
from benchmark.registry import Registry
from benchmark.suite.matrix import RunSpec

log = logging.getLogger(__name__)

# Forwarded from the driver to every Ray task when set (paths must be valid on the nodes).
FORWARDED_ENV = ("GRBENCH_CACHE", "GRBENCH_DATA", "GRBENCH_DEVICE", "GRBENCH_METHOD_MODULES", "GRBENCH_DETERMINISM",
                 "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM")


@dataclasses.dataclass
class SuitePlan:
    """What ``run_suite`` hands an executor: the specs to do and the state of the runs directory."""

    specs: list[RunSpec]
    runs_dir: Path
    finished: dict[str, str]  # run_id -> compute_key of every stored run (updated as runs are filed)
    by_key: dict[str, str]  # compute_key -> a stored run_id with it
    data_dir: str | None
    profile: str


Executor = Callable[..., dict[str, int]]  # (plan, **options) -> counts of "executed", "reused", "skipped"
EXECUTORS: Registry[Executor] = Registry("executor")


def get_executor(name: str) -> Executor:
    """The executor registered as ``name``; an unknown name raises UnknownNameError listing the others."""
    return EXECUTORS.get(name)


def executor_names() -> list[str]:
    return EXECUTORS.names()


# ---------------------------------------------------------------------------------------------- local
def run_local(plan: SuitePlan) -> dict[str, int]:
    """Compute every spec in this process, in plan order; a run another process holds is done at the end."""
    from benchmark.suite.runner import _run_spec

    counts = {"executed": 0, "reused": 0, "skipped": 0}
    deferred: list[RunSpec] = []
    with _bar(plan) as bar:
        for wait, queue in ((False, plan.specs), (True, deferred)):
            for spec in queue:
                bar.set_postfix_str(f"{spec.experiment} {spec.method} seed {spec.seed}")
                outcome = _run_spec(spec, plan.runs_dir, plan.finished, plan.by_key, plan.data_dir, plan.profile,
                                    wait=wait)
                if outcome is None:  # another process holds this run: come back to it at the end
                    deferred.append(spec)
                    continue
                counts[outcome] += 1
                bar.update(1)
    return counts


def _bar(plan: SuitePlan) -> tqdm:
    return tqdm(total=len(plan.specs), desc=f"suite {plan.profile}", unit="run", dynamic_ncols=True)


# ---------------------------------------------------------------------------------------------- ray
class RayError(BenchmarkError):
    """Ray is missing, or a Ray task found its node unlike the driver (code revision, SFT checkpoint)."""


def run_ray(plan: SuitePlan, *, address: str | None = None, threads: int | None = None,
            gpus_per_run: float = 0.0) -> dict[str, int]:
    """Compute the plan as Ray tasks and file their results here (see the module docstring).

    ``address``: a running cluster (``auto``, ``ray://host:10001``, ``host:6379``); None starts a local Ray
    instance, or uses the one this process has initialised already (it is then left running).
    ``threads``: CPUs and intra-op threads per run (default: this process's torch thread count).
    ``gpus_per_run``: GPUs each run asks Ray for (0: CPU only).
    """
    from benchmark.suite.runner import _run_spec, file_run

    ray = import_ray()
    if threads is not None and threads < 1:
        raise ValueError(f"The 'threads' parameter of the ray executor must be an int >= 1. Got {threads} instead.")
    if gpus_per_run < 0:
        raise ValueError(f"The 'gpus_per_run' parameter of the ray executor must be a float in the range [0, inf). "
                         f"Got {gpus_per_run} instead.")
    threads = threads or task_threads()
    counts = {"executed": 0, "reused": 0, "skipped": 0}
    todo, waiting = _plan_tasks(plan, counts)
    started = bool(todo) and not ray.is_initialized()  # nothing to compute: no cluster needed
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    elif todo and address is not None:
        log.warning("ray is initialised already; --address %s is not used", address)
    pending: dict[Any, RunSpec] = {}
    sft_refs: dict[str, Any] = {}
    try:
        if todo:
            _check_nodes(ray, threads)
        mode = driver_mode()
        options = {"num_cpus": threads, "num_gpus": gpus_per_run,
                   "runtime_env": {"env_vars": task_environment(mode, threads)}}
        sft_task = ray.remote(_sft_task).options(**options)
        run_task = ray.remote(_run_task).options(**options)
        revision = _driver_revision()
        for spec in todo:
            sft_ref = None
            if _needs_sft(spec):
                group = hash_json(spec.sft_config())
                if group not in sft_refs:
                    sft_refs[group] = sft_task.remote((mode, threads), spec, plan.data_dir)
                sft_ref = sft_refs[group]
            pending[run_task.remote((mode, threads), spec, plan.data_dir, plan.profile, revision, sft_ref)] = spec
        with _bar(plan) as bar:
            bar.update(counts["skipped"])
            for spec in waiting.pop(None, []):  # same compute key as a stored run: copied now
                counts[_run_spec(spec, plan.runs_dir, plan.finished, plan.by_key, plan.data_dir, plan.profile,
                                 wait=True)] += 1
                bar.update(1)
            for ref, spec in _completed(ray, pending):
                computed = ray.get(ref)
                bar.set_postfix_str(f"{spec.experiment} {spec.method} seed {spec.seed}")
                for each in (spec, *waiting.pop(spec.compute_key, [])):  # the first is written, the rest copied
                    execute = functools.partial(file_run, plan.runs_dir, each, computed)
                    counts[_run_spec(each, plan.runs_dir, plan.finished, plan.by_key, plan.data_dir, plan.profile,
                                     wait=True, execute=execute)] += 1
                    bar.update(1)
    except BaseException:  # a failed task or an interrupt: nothing keeps computing on the cluster
        for ref in [*pending, *sft_refs.values()]:
            with contextlib.suppress(Exception):  # a task that ended meanwhile; the first error is the news
                ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
    return counts


def _check_nodes(ray: Any, threads: int) -> None:
    largest = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node["Alive"]), default=0)
    if largest < threads:  # Ray would wait for such a node forever (unless an autoscaler brings one)
        log.warning("each run asks for %d CPUs and the largest Ray node has %g: pass grbench --threads N "
                    "with N <= %g, or add larger nodes", threads, largest, largest)


def import_ray() -> Any:
    """``ray``, imported on first use (it is an optional extra: ``pip install grbench[ray]``)."""
    try:
        import ray
    except ImportError as exc:
        raise RayError("--executor ray needs Ray: pip install 'grbench[ray]' (or pip install 'ray>=2').") from exc
    return ray


def task_threads() -> int:
    """The intra-op thread count a run computed in this process uses (torch's, set at start-up by
    ``benchmark.threads`` and ``benchmark.determinism``): each Ray task takes as many CPUs and threads."""
    import torch

    return int(torch.get_num_threads())


def driver_mode() -> str:
    """The determinism mode in force in this process (``grbench --determinism``), else the default."""
    from benchmark import determinism

    mode = determinism.active_settings()["mode"] or os.environ.get(determinism.MODE_ENV) or determinism.DEFAULT_MODE
    return str(mode)


def task_environment(mode: str, threads: int) -> dict[str, str]:
    """The variables a task's worker starts with: the determinism mode's (its ISA pins, read when torch
    loads), the thread count (``OMP_NUM_THREADS``), and the grbench settings in :data:`FORWARDED_ENV`."""
    from benchmark import determinism

    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    env.update(determinism.get_mode(mode).environment())
    for name in ("OMP_NUM_THREADS", determinism.THREADS_ENV):
        if name == "OMP_NUM_THREADS" or name in env:
            env[name] = str(threads)
    return env


def _plan_tasks(plan: SuitePlan, counts: dict[str, int]) -> tuple[list[RunSpec], dict[str | None, list[RunSpec]]]:
    """Split the plan into one spec per compute key to compute, and the specs filed from another run:
    ``waiting[key]`` after the task of ``key``, ``waiting[None]`` from a stored run. Finished runs are counted
    as skipped."""
    todo: list[RunSpec] = []
    waiting: dict[str | None, list[RunSpec]] = {}
    submitted: set[str] = set()
    for spec in plan.specs:
        key = spec.compute_key
        if spec.run_id in plan.finished:
            counts["skipped"] += 1
        elif key in plan.by_key:
            waiting.setdefault(None, []).append(spec)
        elif key in submitted:
            waiting.setdefault(key, []).append(spec)
        else:
            submitted.add(key)
            todo.append(spec)
    return todo, waiting


def _completed(ray: Any, pending: dict[Any, RunSpec]) -> Iterator[tuple[Any, RunSpec]]:
    """The refs of ``pending`` as their tasks finish (removed from it as they are yielded)."""
    while pending:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        yield ref, pending.pop(ref)


def _needs_sft(spec: RunSpec) -> bool:
    from benchmark.suite.untrained import is_retriever

    return not is_retriever(spec.method)  # sft-start evaluates the SFT checkpoint itself


def _driver_revision() -> str:
    from benchmark.results import provenance

    return provenance.code_revision()


# ---------------------------------------------------------------------------------------------- tasks
# Module-level functions: Ray ships them by reference, so every node imports this module of its own install.
def _enter_task(setup: tuple[str, int]) -> None:
    """Put the driver's determinism mode and thread count (``setup``) in force in this worker: its
    environment has the mode's variables from the task's ``runtime_env`` (set before torch loaded); the rest
    is set here (torch may be loaded already in a reused worker)."""
    from benchmark import determinism, threads

    mode, count = setup
    determinism.apply(mode, export=False)
    threads.configure(count)


def _sft_task(setup: tuple[str, int], spec: RunSpec, data_dir: str | None) -> str:
    """Train (or find in the cache) the SFT checkpoint ``spec`` starts from; return its weights' digest."""
    from benchmark.suite.stages import prepare, sft_checkpoint

    _enter_task(setup)
    return weights_digest(sft_checkpoint(spec, prepare(spec, data_dir)))


def _run_task(setup: tuple[str, int], spec: RunSpec, data_dir: str | None, profile: str, revision: str,
              sft_digest: str | None) -> Any:
    """Compute one run; return its ``runner.ComputedRun`` with this node's provenance filled in."""
    from benchmark.results import provenance
    from benchmark.suite.runner import compute_run
    from benchmark.suite.stages import prepare, sft_checkpoint

    _enter_task(setup)
    here = provenance.code_revision()
    if here not in ("unknown", revision):
        raise RayError(f"node {_node()} runs grbench {here}, the driver {revision}: install one revision on every node.")
    if sft_digest is not None:
        local = weights_digest(sft_checkpoint(spec, prepare(spec, data_dir)))  # cached: found, or trained here
        if local != sft_digest:
            raise RayError(
                f"node {_node()}: the SFT checkpoint of {spec.run_id} differs from the one the SFT task trained "
                f"({local[:12]} != {sft_digest[:12]}). Put the cache (--cache-dir / GRBENCH_CACHE) on storage "
                "every node shares, or use a --determinism mode that makes training bitwise portable."
            )
    computed = compute_run(spec, data_dir, profile)
    computed.record = dataclasses.replace(computed.record, packages=provenance.package_versions(),
                                          hardware=provenance.hardware(), environment=provenance.environment())
    return computed


def weights_digest(checkpoint_dir: Path) -> str:
    """sha256 over the weight files of a saved model (names and bytes): equal digests, equal parameters."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(checkpoint_dir).iterdir() if p.suffix in (".safetensors", ".bin"))
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _node() -> str:
    return os.uname().nodename if hasattr(os, "uname") else sys.platform


EXECUTORS.register("local", run_local)
EXECUTORS.register("ray", run_ray)
