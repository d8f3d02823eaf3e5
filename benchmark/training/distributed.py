"""torch.distributed helpers: who am I, which shard of the global batch is mine, and reductions.

Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) ``init_from_env`` opens the process group: NCCL
when CUDA is available, gloo on CPU. A caller that has already initialised a group (a test with a file
store) is used as is. Without a group everything here is the single-process identity.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def device(self) -> torch.device:
        """This rank's device under ``--device`` / ``GRBENCH_DEVICE`` (``benchmark.device``): by default its CUDA
        device when CUDA is available, else the CPU."""
        from benchmark.device import resolve

        return resolve(self.local_rank)


def context() -> DistContext:
    """The current process group's rank and size (rank 0 of 1 when none is initialised)."""
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local)
    return DistContext()


_opened_here = False


def init_from_env() -> DistContext:
    """Open the process group torchrun describes in the environment; a no-op for a single process."""
    global _opened_here
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and dist.is_available() and not dist.is_initialized():
        from benchmark.device import resolve

        on_gpu = resolve(int(os.environ.get("LOCAL_RANK", "0"))).type == "cuda"
        backend = "nccl" if on_gpu else "gloo"
        if on_gpu:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
        dist.init_process_group(backend=backend)
        _opened_here = True
        log.info("torch.distributed: rank %d of %d (%s)", dist.get_rank(), world, backend)
    return context()


def shutdown() -> None:
    """Close the process group if ``init_from_env`` opened it (a caller's own group is left alone)."""
    global _opened_here
    if _opened_here and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _opened_here = False


def shard(indices: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """Rank ``rank``'s contiguous share of the global batch ``indices`` (sizes differ by at most one)."""
    return np.array_split(indices, world_size)[rank]


def split_micro_batches(indices: np.ndarray, grad_accum: int) -> list[np.ndarray]:
    """Contiguous, non-empty micro-batches (at most ``grad_accum``)."""
    return [part for part in np.array_split(indices, grad_accum) if len(part)]


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum over ranks, in place (the identity without a process group)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` without a process group)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        out: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(out, obj)
        return out
    return [obj]


def barrier() -> None:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


def broadcast_parameters(params: Sequence[torch.Tensor]) -> None:
    """Copy rank 0's values into every rank (start from identical weights)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        for p in params:
            dist.broadcast(p.data, src=0)


def all_reduce_gradients(params: Sequence[torch.nn.Parameter]) -> None:
    """Sum the gradients of ``params`` over ranks in one flat all-reduce.

    Each rank's loss is already scaled by 1 / (global batch size), so the sum is the gradient of the
    global-batch mean. A parameter without a gradient on this rank contributes zeros, so every rank
    reduces a buffer of the same layout.
    """
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return
    params = [p for p in params if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n
