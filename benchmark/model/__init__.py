"""Tokenizer, model factory, packed candidates and FLOP counting (DESIGN.md section 5).

Names load lazily (PEP 562): ``benchmark.model.config`` (``ModelConfig``, the size ladder) needs neither torch
nor transformers, so validating a profile does not pay for importing them; the other names import their
module, and with it torch, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmark.lazy import lazy_exports

if TYPE_CHECKING:
    from benchmark.model.config import MODEL_SIZES, ModelConfig, SizeSpec
    from benchmark.model.factory import (
        build_model,
        count_non_embedding_parameters,
        count_parameters,
        qwen_config,
    )
    from benchmark.model.flops import forward_flops, matmul_parameters, training_flops
    from benchmark.model.packing import (
        PackedBatch,
        candidate_logps,
        pack_candidates,
        separate_candidate_logps,
    )
    from benchmark.model.tokenizer import SidTokenizer

_MODULE_OF = {
    "MODEL_SIZES": "config",
    "ModelConfig": "config",
    "SizeSpec": "config",
    "build_model": "factory",
    "count_non_embedding_parameters": "factory",
    "count_parameters": "factory",
    "qwen_config": "factory",
    "forward_flops": "flops",
    "matmul_parameters": "flops",
    "training_flops": "flops",
    "PackedBatch": "packing",
    "candidate_logps": "packing",
    "pack_candidates": "packing",
    "separate_candidate_logps": "packing",
    "SidTokenizer": "tokenizer",
}

__all__ = [
    "MODEL_SIZES",
    "ModelConfig",
    "PackedBatch",
    "SidTokenizer",
    "SizeSpec",
    "build_model",
    "candidate_logps",
    "count_non_embedding_parameters",
    "count_parameters",
    "forward_flops",
    "matmul_parameters",
    "pack_candidates",
    "qwen_config",
    "separate_candidate_logps",
    "training_flops",
]


__getattr__, __dir__ = lazy_exports(__name__, _MODULE_OF)
