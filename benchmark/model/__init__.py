"""Tokenizer, model factory, packed candidates and FLOP counting (DESIGN.md section 5)."""

from benchmark.model.factory import (
    MODEL_SIZES,
    ModelConfig,
    SizeSpec,
    build_model,
    count_non_embedding_parameters,
    count_parameters,
    qwen_config,
)
from benchmark.model.flops import forward_flops, matmul_parameters, training_flops
from benchmark.model.packing import PackedBatch, candidate_logps, pack_candidates, separate_candidate_logps
from benchmark.model.tokenizer import SidTokenizer

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
