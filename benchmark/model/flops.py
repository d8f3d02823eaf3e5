"""FLOP counting for runs and for ``grbench perf`` (the budget every method is charged the same way).

We use the model-FLOPs convention of PaLM (Chowdhery et al. 2022, appendix B), itself the dense-transformer
count of Kaplan et al. (2020) with the attention products included:

    forward FLOPs per token   = 2 * N  +  4 * n_layers * d_attn * T
    training FLOPs per token  = 3 * forward = 6 * N + 12 * n_layers * d_attn * T

* ``N`` = the parameters used in matrix multiplies: every parameter except the input embedding table
  (a lookup, no FLOPs), with the output projection counted once even when tied to the input embedding.
  Norm weights are included (they are a negligible share). One multiply-add = 2 FLOPs.
* ``d_attn = n_heads * head_dim`` (query width; grouped-query attention shares K/V heads but every query head
  still forms its own scores).
* ``4 * n_layers * d_attn * T``: per token, the Q K^T scores and the attention-weighted sum of V over the
  ``T`` keys of the (padded) sequence, 2 FLOPs per multiply-add each. ``T`` is the length attention is
  computed over; with the packed block-diagonal mask or a causal mask dense kernels still compute all T
  keys, so we count them (as PaLM does) rather than the average number of unmasked keys.
* Backward = 2 x forward (gradients with respect to activations and to weights).
* The output projection (``vocab * hidden`` of N) is charged only at the positions it is applied to when the
  caller says so (``head_tokens``): packed candidates need logits only where a candidate token is predicted.

Element-wise work (norms, softmax, rotary, SwiGLU gating, the optimizer) is not counted. For the short
sequences of this benchmark the attention term is a few percent of the total (size s, T = 77: 4%), so
counting all T keys instead of the unmasked ones moves a model-FLOPs utilisation by at most that much.
"""

from __future__ import annotations

from typing import Any

from transformers import PretrainedConfig, PreTrainedModel

from benchmark.errors import ConfigError


def _architecture(config: PretrainedConfig) -> tuple[int, int, int, int, int, int, bool]:
    hidden = config.hidden_size
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    return (
        hidden,
        config.num_hidden_layers,
        heads,
        kv_heads,
        head_dim,
        config.intermediate_size,
        bool(getattr(config, "tie_word_embeddings", False)),
    )


def matmul_parameters(model_or_config: PreTrainedModel | PretrainedConfig) -> int:
    """N of the module docstring: parameters that take part in matrix multiplies (see there)."""
    if isinstance(model_or_config, PreTrainedModel):
        model = model_or_config
        embedding = model.get_input_embeddings().weight
        output = model.get_output_embeddings()
        seen: set[int] = set()
        total = 0
        for param in model.parameters():
            if id(param) in seen:
                continue
            seen.add(id(param))
            total += param.numel()
        tied = output is not None and output.weight is embedding
        # the embedding table is a lookup; a tied table is still used once as the output matmul
        return total - embedding.numel() + (embedding.numel() if tied else 0)
    config = model_or_config
    hidden, layers, heads, kv_heads, head_dim, mlp, _ = _architecture(config)
    attn = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2  # q, o ; k, v
    if getattr(config, "attention_bias", False):
        attn += heads * head_dim + 2 * kv_heads * head_dim
    qk_norm = 2 * head_dim if getattr(config, "model_type", "") == "qwen3" else 0
    per_layer = attn + 3 * hidden * mlp + 2 * hidden + qk_norm  # q/k/v/o, gate/up/down, two RMSNorms
    return layers * per_layer + hidden + config.vocab_size * hidden  # final norm + output projection


ModelLike = Any  # PreTrainedModel | PretrainedConfig | benchmark.model.ModelConfig (with vocab_size)


def _resolve(model: ModelLike, vocab_size: int | None) -> PreTrainedModel | PretrainedConfig:
    if isinstance(model, (PreTrainedModel, PretrainedConfig)):
        return model
    from benchmark.model.factory import ModelConfig, qwen_config

    if isinstance(model, ModelConfig):
        if model.backbone is not None:
            raise ConfigError(
                "FLOPs of a pretrained backbone need the loaded model (or its transformers config), "
                "not a ModelConfig."
            )
        if vocab_size is None:
            raise ConfigError("FLOPs of a ModelConfig need the vocabulary size: pass vocab_size=...")
        return qwen_config(model.size, vocab_size)
    raise TypeError(f"expected a transformers model or config or a ModelConfig, got {type(model).__name__}")


def forward_flops(
    model: ModelLike,
    n_tokens: int,
    seq_len: int,
    vocab_size: int | None = None,
    head_tokens: int | None = None,
) -> float:
    """FLOPs of one forward pass over ``n_tokens`` tokens in sequences of (padded) length ``seq_len``:
    ``n_tokens * (2 N + 4 n_layers d_attn seq_len)``.

    ``model``: a transformers model or config, or a ``ModelConfig`` together with ``vocab_size``.
    ``head_tokens``: positions the output projection is applied to when that is fewer than ``n_tokens``
    (packed candidates apply it only where a candidate token is predicted); default: every token.
    """
    resolved = _resolve(model, vocab_size)
    config = resolved.config if isinstance(resolved, PreTrainedModel) else resolved
    hidden, layers, heads, _, head_dim, _, _ = _architecture(config)
    per_token = 2 * matmul_parameters(resolved) + 4 * layers * heads * head_dim * seq_len
    total = float(n_tokens) * float(per_token)
    if head_tokens is not None:
        total -= 2.0 * config.vocab_size * hidden * float(n_tokens - head_tokens)
    return total


def training_flops(
    model: ModelLike,
    n_tokens: int,
    seq_len: int,
    vocab_size: int | None = None,
    head_tokens: int | None = None,
) -> float:
    """FLOPs of forward + backward over ``n_tokens`` tokens of (padded) length ``seq_len``:
    ``n_tokens * (6 N + 12 n_layers d_attn seq_len)`` (PaLM appendix B); arguments as ``forward_flops``."""
    return 3.0 * forward_flops(model, n_tokens, seq_len, vocab_size, head_tokens)
