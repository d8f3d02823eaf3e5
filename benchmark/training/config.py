"""``TrainConfig``: the budget and optimiser settings every method of a comparison shares.

The budget is fixed in optimizer steps and examples per step, never in epochs or wall time, so every method
compared from one SFT checkpoint sees the same examples in the same order for the same number of updates
(DESIGN.md section 5). Nothing here names a method: method hyper-parameters live in the method's own config.
"""

from __future__ import annotations

import dataclasses

from benchmark.config import check_choice, check_number
from benchmark.errors import ConfigError
from benchmark.precision import PRECISIONS

SCHEDULES = ("cosine", "linear", "constant")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run.

    ``batch_size`` is the global number of examples (impressions) per optimizer step. It is split over
    ``torch.distributed`` ranks and then into ``grad_accum`` micro-batches per rank; neither split changes
    the optimisation (the loss is the mean of the per-example losses of the whole global batch).
    """

    steps: int = 1000
    batch_size: int = 32
    grad_accum: int = 1
    lr: float = 1e-3
    warmup_steps: int = 0
    schedule: str = "cosine"
    min_lr_ratio: float = 0.0  # final lr = lr * min_lr_ratio for the decaying schedules
    weight_decay: float = 0.01  # torch.optim.AdamW's default; applied to matrices only (nanoGPT)
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    max_grad_norm: float = 1.0  # 0 disables clipping (the norm is still logged)
    seed: int = 0
    checkpoint_every: int = 500  # 0: no intermediate checkpoints, only the final model
    keep_checkpoints: int = 2  # intermediate checkpoints kept on disk (the most recent ones)
    max_candidates: int = 16  # candidates per impression (positives first, then negatives)
    log_every: int = 10  # steps between log lines / progress-bar updates; the loss curve has every step
    # bf16: autocast (CPU or CUDA) for this stage's forward passes and for decoding the checkpoint it trains;
    # weights, gradients, AdamW state and log-softmax stay fp32 (benchmark.precision). Part of the run's identity.
    precision: str = "fp32"

    def __post_init__(self) -> None:
        owner = "TrainConfig"
        check_number(owner, "steps", self.steps, low=1, integer=True)
        check_number(owner, "batch_size", self.batch_size, low=1, integer=True)
        check_number(owner, "grad_accum", self.grad_accum, low=1, integer=True)
        check_number(owner, "lr", self.lr, low=0.0, low_open=True)
        check_number(owner, "warmup_steps", self.warmup_steps, low=0, integer=True)
        check_choice(owner, "schedule", self.schedule, SCHEDULES)
        check_number(owner, "min_lr_ratio", self.min_lr_ratio, low=0.0, high=1.0)
        check_number(owner, "weight_decay", self.weight_decay, low=0.0)
        check_number(owner, "adam_beta1", self.adam_beta1, low=0.0, high=1.0, high_open=True)
        check_number(owner, "adam_beta2", self.adam_beta2, low=0.0, high=1.0, high_open=True)
        check_number(owner, "adam_eps", self.adam_eps, low=0.0, low_open=True)
        check_number(owner, "max_grad_norm", self.max_grad_norm, low=0.0)
        check_number(owner, "seed", self.seed, low=0, integer=True)
        check_number(owner, "checkpoint_every", self.checkpoint_every, low=0, integer=True)
        check_number(owner, "keep_checkpoints", self.keep_checkpoints, low=1, integer=True)
        check_number(owner, "max_candidates", self.max_candidates, low=2, integer=True)
        check_number(owner, "log_every", self.log_every, low=1, integer=True)
        check_choice(owner, "precision", self.precision, PRECISIONS)
        if self.grad_accum > self.batch_size:
            raise ConfigError(
                f"The 'grad_accum' parameter of TrainConfig must be an int in the range [1, batch_size="
                f"{self.batch_size}] (every micro-batch needs at least one example). Got {self.grad_accum} instead."
            )
        if self.warmup_steps > self.steps:
            raise ConfigError(
                f"The 'warmup_steps' parameter of TrainConfig must be an int in the range [0, steps={self.steps}]. "
                f"Got {self.warmup_steps} instead."
            )
