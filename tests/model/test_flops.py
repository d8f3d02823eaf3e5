"""FLOP counting: hand-computed golden values and model/config agreement."""

from __future__ import annotations

import pytest
from transformers import Qwen3Config, Qwen3ForCausalLM

from benchmark.errors import ConfigError
from benchmark.model import ModelConfig, build_model, forward_flops, matmul_parameters, training_flops

from .tiny import tiny_tokenizer


def _tiny_config(tied: bool = True) -> Qwen3Config:
    return Qwen3Config(
        vocab_size=10, hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=4, tie_word_embeddings=tied,
    )  # fmt: skip


def test_golden_parameter_count() -> None:
    # per layer: q 8*8 + o 8*8 + k 8*4 + v 8*4 = 192; mlp 3*8*16 = 384; 2 RMSNorms 16; q/k norms 2*4 = 8
    # -> 600; final norm 8; output projection 10*8 = 80 (the input table is a lookup): N = 688
    config = _tiny_config()
    assert matmul_parameters(config) == 688
    assert matmul_parameters(Qwen3ForCausalLM(config)) == 688
    # untied: the extra input table adds parameters but no matmul FLOPs
    untied = Qwen3ForCausalLM(_tiny_config(tied=False))
    assert sum(p.numel() for p in untied.parameters()) == 688 + 80
    assert matmul_parameters(untied) == 688


def test_golden_flops() -> None:
    config = _tiny_config()
    # forward per token: 2N + 4 * layers * d_attn * T = 2*688 + 4*1*8*5 = 1536; 10 tokens -> 15360
    assert forward_flops(config, n_tokens=10, seq_len=5) == 15_360
    assert training_flops(config, n_tokens=10, seq_len=5) == 3 * 15_360
    # LM head on 4 of the 10 positions: 6 positions * 2 * (10 * 8) fewer forward FLOPs
    assert forward_flops(config, n_tokens=10, seq_len=5, head_tokens=4) == 15_360 - 6 * 2 * 80
    assert training_flops(config, 10, 5, head_tokens=4) == 3 * (15_360 - 960)


def test_model_config_and_model_agree() -> None:
    tok = tiny_tokenizer()
    for size in ("xs", "s"):
        model = build_model(ModelConfig(size=size), tok, seed=0)
        expected = training_flops(model, 1000, 50)
        assert training_flops(model.config, 1000, 50) == expected
        assert training_flops(ModelConfig(size=size), 1000, 50, vocab_size=tok.vocab_size) == expected
        d_attn = model.config.num_attention_heads * model.config.head_dim
        assert expected == 1000 * (
            6 * matmul_parameters(model) + 12 * model.config.num_hidden_layers * d_attn * 50
        )


def test_model_config_needs_vocab() -> None:
    with pytest.raises(ConfigError, match="vocab_size"):
        training_flops(ModelConfig(size="s"), 10, 10)
    with pytest.raises(ConfigError, match="pretrained backbone"):
        training_flops(ModelConfig(backbone="Qwen/Qwen3-0.6B"), 10, 10, vocab_size=100)
