"""Training: impressions -> token-id examples -> the one trainer (DESIGN.md section 5).

    examples.py     BuiltDataset frames + SidCatalog + SidTokenizer -> ``Example`` lists (sft / preference)
    batching.py     data order, ``collate`` (packed batch + labels), the shared forward -> ``CandidateBatch``
    trainer.py      ``train``: AdamW, schedule, clipping, accumulation, checkpoints, resume, NaN guard
    schedule.py     warm-up + cosine / linear decay
    distributed.py  torch.distributed ranks, shards and gradient all-reduce
    checkpoint.py   atomic save_pretrained checkpoints, resume state, provenance metadata
    config.py       ``TrainConfig``

Names load lazily (PEP 562): ``TrainConfig`` (config.py) needs no torch, so validating a profile does not
import the trainer; the other names import their module, and with it torch, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.lazy import lazy_exports

if TYPE_CHECKING:
    from benchmark.training.batching import (
        TrainBatch,
        batch_indices,
        collate,
        epoch_order,
        forward_candidates,
    )
    from benchmark.training.checkpoint import (
        check_metadata,
        load_checkpoint,
        read_metadata,
        resolve_model_dir,
    )
    from benchmark.training.config import TrainConfig
    from benchmark.training.examples import Example, build_examples, examples_fingerprint
    from benchmark.training.schedule import build_scheduler, lr_multiplier
    from benchmark.training.trainer import TrainResult, train

_MODULE_OF = {
    "TrainBatch": "batching",
    "batch_indices": "batching",
    "collate": "batching",
    "epoch_order": "batching",
    "forward_candidates": "batching",
    "check_metadata": "checkpoint",
    "load_checkpoint": "checkpoint",
    "read_metadata": "checkpoint",
    "resolve_model_dir": "checkpoint",
    "TrainConfig": "config",
    "Example": "examples",
    "build_examples": "examples",
    "examples_fingerprint": "examples",
    "build_scheduler": "schedule",
    "lr_multiplier": "schedule",
    "TrainResult": "trainer",
    "train": "trainer",
}

__all__ = [
    "Example",
    "TrainBatch",
    "TrainConfig",
    "TrainResult",
    "batch_indices",
    "build_examples",
    "build_scheduler",
    "check_metadata",
    "collate",
    "epoch_order",
    "examples_fingerprint",
    "forward_candidates",
    "load_checkpoint",
    "lr_multiplier",
    "read_metadata",
    "resolve_model_dir",
    "train",
]


__getattr__, __dir__ = lazy_exports(__name__, _MODULE_OF)
