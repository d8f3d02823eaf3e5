"""Model factory: a Qwen3-style causal LM from scratch on a CPU-friendly size ladder, or a pretrained backbone.

The paper fine-tunes Qwen-1.7B and its Table 2 compares 0.6B / 1.7B / 4B / 8B backbones (the Qwen3 ladder).
On a 2-core CPU we keep the architecture (RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention with
q/k norms, tied embeddings as in the small Qwen3 models) and scale the ladder down:

    size  stands in for   hidden  layers  heads (kv)  mlp    non-embedding params
    xs    Qwen3-0.6B          64       2      4 (2)    128       74,112   (also the test/smoke model)
    s     Qwen3-1.7B         256       4      4 (2)    768    3,148,544   (default; the paper's main model)
    m     Qwen3-4B           512       8      8 (4)   1536   25,175,552
    l     Qwen3-8B           768      12     12 (4)   2304   82,596,096

plus ``vocab_size * hidden`` tied embedding parameters (vocabulary = specials + SID codes + query words).
``count_parameters`` gives the exact figure for a built model; ``grbench perf train`` measures throughput.

``backbone="<hf id or local dir>"`` loads pretrained weights through the same function: the body is kept and
the input/output embeddings are re-sized *and re-initialised* for the SID tokenizer's vocabulary, because the
SID tokenizer's ids mean nothing in the backbone's own vocabulary (GPU users with network access).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel, Qwen3Config, Qwen3ForCausalLM

from benchmark.config import check_choice
from benchmark.errors import DataError
from benchmark.model.config import (  # noqa: F401  (re-exported: the config lived here)
    ATTN_IMPLEMENTATIONS,
    DTYPE_NAMES,
    MODEL_SIZES,
    ModelConfig,
    SizeSpec,
)

log = logging.getLogger(__name__)

DTYPES = {name: getattr(torch, name) for name in DTYPE_NAMES}  # "float32" -> torch.float32, ...
MAX_POSITIONS = 512  # prompt (<= ~60 tokens) + packed candidates (C * (L + 1)) with a wide margin
ROPE_THETA = 10000.0


def qwen_config(
    size: str, vocab_size: int, special_ids: dict[str, int] | None = None, **overrides: Any
) -> Qwen3Config:
    """The transformers config of ladder rung ``size`` for a vocabulary of ``vocab_size`` tokens."""
    check_choice("ModelConfig", "size", size, list(MODEL_SIZES))
    spec = MODEL_SIZES[size]
    kwargs: dict[str, Any] = dict(
        vocab_size=vocab_size,
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers,
        num_attention_heads=spec.num_attention_heads,
        num_key_value_heads=spec.num_key_value_heads,
        head_dim=spec.head_dim,
        max_position_embeddings=MAX_POSITIONS,
        rope_parameters={"rope_type": "default", "rope_theta": ROPE_THETA},
        tie_word_embeddings=True,
        attention_dropout=0.0,
        use_cache=True,
        **(special_ids or {}),
    )
    kwargs.update(overrides)
    return Qwen3Config(**kwargs)


def _special_ids(tokenizer: Any) -> dict[str, int]:
    return {
        "pad_token_id": tokenizer.pad_id,
        "bos_token_id": tokenizer.bos_id,
        "eos_token_id": tokenizer.eos_id,
    }


def build_model(config: ModelConfig, tokenizer: Any, seed: int) -> PreTrainedModel:
    """A causal LM for ``tokenizer`` (a ``SidTokenizer``), in eval mode, initialised from ``seed``.

    The seed is applied inside a forked RNG state, so building a model neither depends on nor disturbs the
    caller's global torch RNG: the same (config, vocabulary, seed) always gives the same weights.
    """
    dtype = DTYPES[config.dtype]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if config.backbone is None:
            qcfg = qwen_config(config.size, tokenizer.vocab_size, _special_ids(tokenizer))
            qcfg._attn_implementation = config.attn_implementation
            model = Qwen3ForCausalLM(qcfg).to(dtype)
        else:
            model = _load_backbone(config, tokenizer, dtype)
    model.config.use_cache = True
    model.eval()
    log.info("built %s model: %s parameters", config.backbone or config.size, f"{count_parameters(model):,}")
    return model


def _load_backbone(config: ModelConfig, tokenizer: Any, dtype: torch.dtype) -> PreTrainedModel:
    try:
        model = AutoModelForCausalLM.from_pretrained(
            config.backbone, dtype=dtype, attn_implementation=config.attn_implementation
        )
    except (OSError, ValueError) as exc:
        reason = str(exc).rstrip(".")
        raise DataError(
            f"Could not load the pretrained backbone {config.backbone!r}: {reason}. A Hugging Face id needs network "
            f"access (or the model already in the Hugging Face cache, e.g. via `huggingface-cli download "
            f"{config.backbone}`); a local directory must hold a `save_pretrained` checkpoint. Use "
            f"model.backbone=null to train a model of the size ladder from scratch."
        ) from exc
    # The SID tokenizer's ids are unrelated to the backbone's vocabulary: resize, then re-initialise every
    # embedding row with the model's own initialiser, so no row carries a meaningless pretrained vector.
    model.resize_token_embeddings(tokenizer.vocab_size, mean_resizing=False)
    std = getattr(model.config, "initializer_range", 0.02)
    with torch.no_grad():
        embeddings = model.get_input_embeddings().weight
        embeddings.normal_(0.0, std)
        output = model.get_output_embeddings()
        if output is not None and output.weight.data_ptr() != embeddings.data_ptr():
            output.weight.normal_(0.0, std)
            if getattr(output, "bias", None) is not None:
                output.bias.zero_()
    for key, value in _special_ids(tokenizer).items():
        setattr(model.config, key, value)
        if getattr(model, "generation_config", None) is not None:
            setattr(model.generation_config, key, value)
    return model


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    seen: set[int] = set()
    total = 0
    for param in model.parameters():
        if id(param) in seen or (trainable_only and not param.requires_grad):
            continue
        seen.add(id(param))
        total += param.numel()
    return total


def count_non_embedding_parameters(model: PreTrainedModel) -> int:
    """Parameters outside the input embedding and the (possibly tied) output projection."""
    excluded = {id(model.get_input_embeddings().weight)}
    output = model.get_output_embeddings()
    if output is not None:
        excluded.add(id(output.weight))
    seen: set[int] = set()
    total = 0
    for param in model.parameters():
        if id(param) in seen or id(param) in excluded:
            continue
        seen.add(id(param))
        total += param.numel()
    return total
