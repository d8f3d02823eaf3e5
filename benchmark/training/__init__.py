"""Training: impressions -> token-id examples -> the one trainer (DESIGN.md section 5).

    examples.py     BuiltDataset frames + SidCatalog + SidTokenizer -> ``Example`` lists (sft / preference)
    batching.py     data order, ``collate`` (packed batch + labels), the shared forward -> ``CandidateBatch``
    trainer.py      ``train``: AdamW, schedule, clipping, accumulation, checkpoints, resume, NaN guard
    schedule.py     warm-up + cosine / linear decay
    distributed.py  torch.distributed ranks, shards and gradient all-reduce
    checkpoint.py   atomic save_pretrained checkpoints, resume state, provenance metadata
    config.py       ``TrainConfig``
"""

from benchmark.training.batching import TrainBatch, batch_indices, collate, epoch_order, forward_candidates
from benchmark.training.checkpoint import check_metadata, load_checkpoint, read_metadata, resolve_model_dir
from benchmark.training.config import TrainConfig
from benchmark.training.examples import Example, build_examples, examples_fingerprint
from benchmark.training.schedule import build_scheduler, lr_multiplier
from benchmark.training.trainer import TrainResult, train

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
