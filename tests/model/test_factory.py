"""Model factory: config validation, size ladder, seeded init, backbone loading, save/load."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from benchmark.config import from_dict
from benchmark.errors import ConfigError, DataError
from benchmark.model import (
    MODEL_SIZES,
    ModelConfig,
    SidTokenizer,
    build_model,
    count_non_embedding_parameters,
    count_parameters,
    matmul_parameters,
    qwen_config,
)

from .tiny import tiny_tokenizer


@pytest.fixture(scope="module")
def tok() -> SidTokenizer:
    return tiny_tokenizer()


def test_config_validation_messages() -> None:
    with pytest.raises(
        ConfigError, match=r"The 'size' parameter of ModelConfig must be one of .*'xs'.*Got 'xxl'"
    ):
        ModelConfig(size="xxl")
    with pytest.raises(ConfigError, match="'attn_implementation'"):
        ModelConfig(attn_implementation="flash")
    with pytest.raises(ConfigError, match="'dtype'"):
        ModelConfig(dtype="float64")
    with pytest.raises(ConfigError, match="'backbone'"):
        ModelConfig(backbone="  ")
    with pytest.raises(ConfigError, match="Unknown configuration key 'sise'.*Did you mean 'size'"):
        from_dict(ModelConfig, {"sise": "s"})
    assert from_dict(ModelConfig, {"size": "m"}) == ModelConfig(size="m")


def test_size_ladder(tok: SidTokenizer) -> None:
    assert list(MODEL_SIZES) == ["xs", "s", "m", "l"]
    counts = {}
    for size in ("xs", "s"):
        model = build_model(ModelConfig(size=size), tok, seed=0)
        counts[size] = count_non_embedding_parameters(model)
        spec = MODEL_SIZES[size]
        assert model.config.hidden_size == spec.hidden_size
        assert model.config.num_hidden_layers == spec.num_hidden_layers
        assert model.config.vocab_size == tok.vocab_size
        assert model.config.tie_word_embeddings
        # tied embeddings are counted once
        assert count_parameters(model) == counts[size] + tok.vocab_size * spec.hidden_size
    # regression values of the ladder's body (independent of the vocabulary); m and l from their configs
    for size in ("m", "l"):
        config = qwen_config(size, tok.vocab_size)
        counts[size] = matmul_parameters(config) - tok.vocab_size * config.hidden_size
    assert counts == {"xs": 74_112, "s": 3_148_544, "m": 25_175_552, "l": 82_596_096}
    widths = [MODEL_SIZES[s].hidden_size * MODEL_SIZES[s].num_hidden_layers for s in MODEL_SIZES]
    assert widths == sorted(widths) and len(set(widths)) == 4


def test_build_is_seeded_and_leaves_global_rng_alone(tok: SidTokenizer) -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(ModelConfig(size="xs"), tok, seed=7)
    after = torch.rand(1)
    assert torch.equal(before, after)
    b = build_model(ModelConfig(size="xs"), tok, seed=7)
    c = build_model(ModelConfig(size="xs"), tok, seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    assert not a.training
    assert a.config.pad_token_id == tok.pad_id and a.config.eos_token_id == tok.eos_id
    assert next(a.parameters()).dtype == torch.float32


def test_eager_and_sdpa_agree(tok: SidTokenizer) -> None:
    ids = torch.tensor([tok.encode_prompt("lab tubes", [(1, 2, 3), (0, 0, 0)]) + tok.target_ids((5, 4, 3))])
    sdpa = build_model(ModelConfig(size="xs", attn_implementation="sdpa"), tok, seed=0)
    eager = build_model(ModelConfig(size="xs", attn_implementation="eager"), tok, seed=0)
    assert eager.config._attn_implementation == "eager"
    with torch.no_grad():
        diff = (sdpa(ids).logits - eager(ids).logits).abs().max().item()
    assert diff < 1e-5


def test_checkpoint_loads_with_plain_transformers(tok: SidTokenizer, tmp_path) -> None:
    model = build_model(ModelConfig(size="xs"), tok, seed=0)
    model.save_pretrained(tmp_path)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    ids = torch.tensor([tok.encode_prompt("lab", [(1, 1, 1)])])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, loaded(ids).logits, atol=1e-6)


def test_backbone_path_resizes_and_reinitialises_embeddings(tok: SidTokenizer, tmp_path) -> None:
    # a "pretrained" backbone with another vocabulary, saved locally (no network needed)
    other = SidTokenizer.build(["completely different words here and more"], (9, 9))
    backbone = build_model(ModelConfig(size="xs"), other, seed=3)
    backbone.save_pretrained(tmp_path / "backbone")
    assert backbone.config.vocab_size != tok.vocab_size

    model = build_model(ModelConfig(backbone=str(tmp_path / "backbone")), tok, seed=0)
    assert model.get_input_embeddings().weight.shape[0] == tok.vocab_size
    assert model.config.vocab_size == tok.vocab_size
    assert model.config.pad_token_id == tok.pad_id
    body = {k: v for k, v in backbone.state_dict().items() if "embed_tokens" not in k and "lm_head" not in k}
    loaded = model.state_dict()
    assert body and all(torch.equal(loaded[k], v) for k, v in body.items())  # pretrained body kept
    # embeddings re-initialised from the seed, not copied from unrelated backbone rows
    old_rows = backbone.get_input_embeddings().weight[: tok.vocab_size]
    assert not torch.allclose(model.get_input_embeddings().weight, old_rows)
    again = build_model(ModelConfig(backbone=str(tmp_path / "backbone")), tok, seed=0)
    assert torch.equal(again.get_input_embeddings().weight, model.get_input_embeddings().weight)
    ids = torch.tensor([tok.encode_prompt("lab", [(1, 1, 1)]) + tok.target_ids((0, 1, 2))])
    with torch.no_grad():
        assert model(ids).logits.shape == (1, ids.shape[1], tok.vocab_size)


def test_missing_backbone_is_a_clear_error(tok: SidTokenizer, tmp_path) -> None:
    with pytest.raises(DataError, match="Could not load the pretrained backbone"):
        build_model(ModelConfig(backbone=str(tmp_path / "no-such-model")), tok, seed=0)
