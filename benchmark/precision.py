"""Numeric precision of the model's forward passes: ``fp32`` (the default) or ``bf16`` autocast.

One setting, ``TrainConfig.precision``, governs a run's training and the decoding of the checkpoint it trained:
a checkpoint is beam-searched at the precision it was trained at (``checkpoint_precision``), so a bf16 run is
bf16 end to end and an fp32 run never touches bf16. Precision is part of a run's resolved configuration, so
bf16 and fp32 runs have different run ids and cache keys and never share a stored result.

``bf16`` is ``torch.autocast(device, dtype=torch.bfloat16)`` on the CPU (AVX512-BF16 / AMX kernels through
oneDNN) and on CUDA: the matmuls (linear layers, attention) run in bf16; the weights, the optimizer state and
the gradients stay fp32 (autocast casts per op, so AdamW updates fp32 master weights and no loss scaling is
needed: bf16 has fp32's exponent range). Log-softmax over the vocabulary and everything after it (the
per-token log-probabilities, the losses, the beam scores) is computed in fp32: the model code upcasts the
logits before ``log_softmax`` (``benchmark.model.packing``, ``benchmark.decoding.beam``), because a
preference loss is a small difference of two log-probabilities that bf16's 8-bit mantissa (about 3 significant
digits on a log-prob of -5) would swamp.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

PRECISIONS = ("fp32", "bf16")
AUTOCAST_DEVICES = ("cpu", "cuda")


def autocast(precision: str, device: Any) -> contextlib.AbstractContextManager:
    """The context the model's forward passes run under: nothing for ``fp32``, bf16 autocast for ``bf16``.

    precision: one of ``PRECISIONS``; device: a ``torch.device`` or its name ("cpu", "cuda", "cuda:1").
    Raises ValueError for an unknown precision or a bf16 device autocast does not cover here.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"The 'precision' must be one of {list(PRECISIONS)}. Got {precision!r} instead.")
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch

    kind = torch.device(device).type
    if kind not in AUTOCAST_DEVICES:
        raise ValueError(f"precision=bf16 is supported on {list(AUTOCAST_DEVICES)}; got device {str(device)!r}.")
    return torch.autocast(kind, dtype=torch.bfloat16)


def checkpoint_precision(model_dir: Path | str) -> str:
    """The precision the checkpoint at ``model_dir`` (a training output or ``save_pretrained`` directory) was
    trained at, from its ``grbench.json`` (``training.train_config.precision``); ``fp32`` for a checkpoint that
    records none (trained before the setting existed, or not trained by ``benchmark.training``)."""
    from benchmark.training.checkpoint import read_metadata

    meta = read_metadata(model_dir)
    precision = ((meta.get("training") or {}).get("train_config") or {}).get("precision", "fp32")
    if precision not in PRECISIONS:
        raise ValueError(f"{model_dir}: grbench.json training.train_config.precision must be one of "
                         f"{list(PRECISIONS)}. Got {precision!r} instead.")
    return str(precision)
