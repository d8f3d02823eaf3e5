"""A tiny tokenizer + model for model/decoding tests, with weights scaled up so that outputs depend strongly
on the input (default init of a 2-layer model is nearly uniform, which would make parity tests weak)."""

from __future__ import annotations

import torch

from benchmark.model import ModelConfig, SidTokenizer, build_model

WORDS = ["lab scientific test tubes beakers gloves pipette"]
CODEBOOK = (6, 5, 4)


def tiny_tokenizer() -> SidTokenizer:
    return SidTokenizer.build(WORDS, CODEBOOK)


def tiny_model(tokenizer: SidTokenizer, attn: str = "sdpa", seed: int = 0, std: float = 0.5):
    model = build_model(ModelConfig(size="xs", attn_implementation=attn), tokenizer, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * std)
    return model


def prompts(tokenizer: SidTokenizer) -> list[list[int]]:
    """Ragged prompts (lengths 6, 13, 3)."""
    return [
        tokenizer.encode_prompt("lab tubes", [(1, 2, 3)]),
        tokenizer.encode_prompt("scientific gloves beakers", [(1, 2, 3), (4, 4, 0), (5, 0, 1)]),
        tokenizer.encode_prompt("", []),
    ]
