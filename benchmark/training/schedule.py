"""Learning-rate schedule: linear warm-up, then cosine / linear decay (or constant).

The multiplier of update ``i`` (0-based: the first optimizer step is ``i = 0``) is

    warm-up, i < W:   (i + 1) / W                      no update is wasted at lr = 0
    decay,   i >= W:  p = (i - W) / max(1, T - W)       p = 0 at the first decayed step, < 1 at the last
        cosine:   m + (1 - m) * (1 + cos(pi * p)) / 2
        linear:   m + (1 - m) * (1 - p)
        constant: 1

with T = ``steps``, W = ``warmup_steps`` and m = ``min_lr_ratio``. It is a pure function of the step, so a
resumed run recomputes exactly the learning rate an uninterrupted run would have used.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from benchmark.training.config import TrainConfig


def lr_multiplier(index: int, steps: int, warmup_steps: int, schedule: str, min_lr_ratio: float = 0.0) -> float:
    """The factor applied to the peak learning rate at 0-based update ``index`` (see the module docstring)."""
    if index < warmup_steps:
        return (index + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (index - warmup_steps) / max(1, steps - warmup_steps))
    if schedule == "cosine":
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule == "linear":
        return min_lr_ratio + (1.0 - min_lr_ratio) * (1.0 - progress)
    raise ValueError(f"unknown schedule {schedule!r}")  # TrainConfig validates the name first


@dataclasses.dataclass(frozen=True)
class _Multiplier:
    """A picklable callable for LambdaLR (its state_dict stores the fields, not a closure)."""

    steps: int
    warmup_steps: int
    schedule: str
    min_lr_ratio: float

    def __call__(self, index: int) -> float:
        return lr_multiplier(index, self.steps, self.warmup_steps, self.schedule, self.min_lr_ratio)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """LambdaLR whose multiplier at construction (index 0) is the first update's; step it after each update."""
    fn = _Multiplier(config.steps, config.warmup_steps, config.schedule, config.min_lr_ratio)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=fn)
