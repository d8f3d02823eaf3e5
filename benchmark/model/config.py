"""``ModelConfig`` and the size ladder: what to build, importable without torch or transformers.

Validating a profile resolves every run's ``ModelConfig``; keeping it here (not in ``factory.py``, which
imports torch and transformers) lets a typo in a profile fail in well under a second. The ladder's table is
in ``benchmark/model/factory.py``, which builds the models.
"""

from __future__ import annotations

import dataclasses

from benchmark.config import check_choice
from benchmark.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class SizeSpec:
    """Architecture of one rung of the size ladder."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    stands_in_for: str

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


MODEL_SIZES: dict[str, SizeSpec] = {
    "xs": SizeSpec(64, 2, 4, 2, 128, "Qwen3-0.6B"),
    "s": SizeSpec(256, 4, 4, 2, 768, "Qwen3-1.7B"),
    "m": SizeSpec(512, 8, 8, 4, 1536, "Qwen3-4B"),
    "l": SizeSpec(768, 12, 12, 4, 2304, "Qwen3-8B"),
}

DTYPE_NAMES = ("float32", "bfloat16", "float16")  # factory.DTYPES maps them to torch dtypes
ATTN_IMPLEMENTATIONS = ("sdpa", "eager")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Which model to build.

    size: a key of ``MODEL_SIZES`` (ignored when ``backbone`` is given).
    backbone: a Hugging Face model id or local directory with pretrained weights; None trains from scratch.
    attn_implementation: "sdpa" (default) or "eager"; both accept the packed block-diagonal 4D mask.
    dtype: parameter dtype; float32 (default) keeps CPU runs deterministic and parity tests exact.
    """

    size: str = "s"
    backbone: str | None = None
    attn_implementation: str = "sdpa"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        check_choice("ModelConfig", "size", self.size, list(MODEL_SIZES))
        check_choice("ModelConfig", "attn_implementation", self.attn_implementation, ATTN_IMPLEMENTATIONS)
        check_choice("ModelConfig", "dtype", self.dtype, list(DTYPE_NAMES))
        if self.backbone is not None and (not isinstance(self.backbone, str) or not self.backbone.strip()):
            raise ConfigError(
                f"The 'backbone' parameter of ModelConfig must be a non-empty Hugging Face model id or "
                f"directory, or null. Got {self.backbone!r} instead."
            )
