"""Under torch.distributed every rank's tracker sees the whole global batch (2 gloo processes on CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from benchmark.artifacts import atomic_write_json
from raddpo import QuartileTracker

GLOBAL_STEPS = [np.linspace(0.0, 0.7, 8), np.linspace(0.9, 0.2, 8), np.linspace(-0.5, 0.5, 8)]


def _worker(rank: int, tmp: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{tmp}/store", rank=rank, world_size=2)
    try:
        tracker = QuartileTracker(capacity=12, update_every=1)
        for values in GLOBAL_STEPS:
            tracker.observe(np.array_split(values, 2)[rank])  # this rank's contiguous shard
        result = {
            "anchors": list(tracker.anchors),
            "cache": tracker.cache().tolist(),
            "pairs": tracker.pairs_seen,
        }
        atomic_write_json(Path(tmp) / f"rank{rank}.json", result)
    finally:
        dist.destroy_process_group()


def test_ranks_hold_the_single_process_anchors(tmp_path) -> None:
    single = QuartileTracker(capacity=12, update_every=1)
    for values in GLOBAL_STEPS:
        single.observe(values)
    # fork: the children reuse the imported modules (spawn would re-import torch, ~10 s on 2 cores)
    mp.start_processes(_worker, args=(str(tmp_path),), nprocs=2, join=True, start_method="fork")
    expected = {"anchors": list(single.anchors), "cache": single.cache().tolist(), "pairs": single.pairs_seen}
    for rank in (0, 1):
        assert json.loads((tmp_path / f"rank{rank}.json").read_text()) == expected
