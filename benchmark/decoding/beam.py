"""Batched beam search over Semantic IDs of fixed or variable length, with a KV cache (DESIGN.md section 6).

For a batch of Q queries and width B:

1. Prefill: the Q left-padded prompts run once (not B times, as ``generate`` does after expanding its inputs),
   filling a ``DynamicCache``; positions count real tokens only (``cumsum(mask) - 1``), as in ``generate``.
2. Step 0 picks the B best first tokens per query.
3. Steps 1 .. L-1 run the Q*B beams' last tokens through the model, add each token's log-probability to its
   beam's score, and keep the B best (beam, token) continuations per query.

KV cache. By default the B beams of a query *share* its prompt keys/values: a small attention function
(registered with ``transformers``' ``AttentionInterface`` and used only during steps 1 .. L-1) attends over
[the query's prompt cache, kept once] + [the beam's own generated tokens, in a per-beam ``DynamicCache`` that
is reordered to follow the beams]. This avoids copying Q*B*P cached positions at every step, which dominated
the run time. ``shared_prefix=False`` (or a model that does not dispatch attention through that interface)
uses the plain route instead: the prompt cache is repeated B times and reordered each step, as in
``generate``. Both routes give the same beams (tested against each other and against ``generate``).

Fixed length (the default): exactly L steps (the SID length) are taken; no EOS is generated, so every returned
beam has L tokens.

Variable length (``variable_length=True``; the default when the catalog has SIDs shorter than L): L + 1 steps,
and every returned beam ends with ``<eos>``: a beam may emit ``<eos>`` after its first code (constrained: only
where the prefix is a complete SID of the catalog, ``catalog.end_allowed``), and at step L ``<eos>`` is the only
token. ``<eos>`` finishes a beam: afterwards it takes ``<pad>`` at every step at log-probability 0 (its score is
frozen) and keeps its slot among the B beams, so finished and running beams compete on the log-probability of
their whole sequence, ``<eos>`` included, the same quantity training maximises on ``codes + <eos>``. Returned
token ids are the codes + ``<eos>`` (the ``<pad>`` fillers are dropped); ``SidTokenizer.decode_sid`` reads them.

Scores. ``score = sum_t log softmax(logits_t)[y_t]`` over the *full* vocabulary; disallowed tokens are set to
-inf after the log-softmax and the distribution is not renormalised, so a beam's score is its log-probability
under the model (the same convention as ``generate`` with ``length_penalty=0``).

Allowed tokens. Unconstrained (``catalog=None``): every token except ``<pad> <bos> <eos> <sep>`` (``<eos>`` is
allowed from step 1 under variable length), so the
model may produce ill-formed SIDs (a query word, ``<unk>`` or a code of the wrong level): these are the
hallucinations the benchmark measures. Constrained: at step t only the codes of level t that extend the
beam's prefix in the catalog's trie (``catalog.allowed_next(prefix)``), so every beam is a valid SID.

Ties. Each step keeps the B best candidates by (score desc, flat index asc), where flat index = parent beam
rank * V + token id; the final list is ranked by (score desc, token ids asc). When fewer than B finite
continuations exist (a small trie), beams with score -inf are dropped, so a query may get fewer than B beams.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor
from tqdm.auto import tqdm
from transformers import AttentionInterface, DynamicCache

from benchmark import faults
from benchmark.config import check_number
from benchmark.errors import ArtifactMismatchError, DataError

log = logging.getLogger(__name__)

SHARED_PREFIX_ATTENTION = "grbench_shared_prefix"


class PrefixCatalog(Protocol):
    """What constrained decoding needs from a ``SidCatalog``."""

    levels: int

    def allowed_next(self, prefix: tuple[int, ...]) -> list[int]: ...

    # Variable-length decoding also calls ``end_allowed(prefix) -> bool`` (True iff prefix is a complete SID).


@dataclasses.dataclass(frozen=True)
class Beam:
    """One decoded sequence: its generated token ids (L codes, or codes + ``<eos>`` under variable length) and
    its summed log-probability."""

    token_ids: tuple[int, ...]
    score: float


def beam_search(
    model: Any,
    tokenizer: Any,
    prompts: list[list[int]],
    beam_width: int,
    catalog: PrefixCatalog | None = None,
    batch_size: int = 8,
    shared_prefix: bool | None = None,
    variable_length: bool | None = None,
) -> list[list[Beam]]:
    """Top ``beam_width`` SIDs per prompt, best first (see the module docstring for the exact rules).

    prompts: token ids per query (``SidTokenizer.encode_prompt``); batch_size: queries decoded together
    (each runs ``beam_width`` beams, so a batch holds ``batch_size * beam_width`` sequences).
    shared_prefix: keep one copy of each prompt's KV cache for all its beams (default: whenever the model
    dispatches attention through ``transformers``' AttentionInterface, as Qwen/Llama-style models do);
    False replicates the prompt cache per beam, as ``generate`` does. Both give the same beams.
    variable_length: let ``<eos>`` end a SID before level L (module docstring); default: whether ``catalog``
    has SIDs shorter than L (``catalog.variable_length``), False without a catalog. Unconstrained decoding of a
    variable-length catalog's model therefore needs ``variable_length=True`` explicitly.
    Returns per query a list of at most ``beam_width`` ``Beam``; under fixed length
    ``len(token_ids) == tokenizer.levels``.
    """
    check_number("beam_search", "beam_width", beam_width, low=1, integer=True)
    check_number("beam_search", "batch_size", batch_size, low=1, integer=True)
    if catalog is not None and int(catalog.levels) != tokenizer.levels:
        raise ArtifactMismatchError(
            f"The SID catalog has {catalog.levels} levels but the tokenizer was built for {tokenizer.levels}."
        )
    for i, prompt in enumerate(prompts):
        if len(prompt) == 0:
            raise DataError(f"Prompt {i} is empty: every prompt needs at least <bos>.")
    device = next(model.parameters()).device
    vocab = model.get_output_embeddings().weight.shape[0]
    if variable_length is None:
        variable_length = bool(getattr(catalog, "variable_length", False))
    if variable_length and catalog is not None and not hasattr(catalog, "end_allowed"):
        raise ArtifactMismatchError(
            f"Variable-length constrained decoding needs catalog.end_allowed(prefix); "
            f"{type(catalog).__name__} has none."
        )
    rules = _TokenRules(tokenizer, catalog, vocab, device, variable=bool(variable_length))
    if shared_prefix is None:
        shared_prefix = bool(getattr(model, "_supports_attention_backend", False))

    results: list[list[Beam]] = []
    was_training = model.training
    model.eval()
    try:
        starts = range(0, len(prompts), batch_size)
        with torch.inference_mode():
            # Shown in logs too (a full-test-set evaluation takes minutes), but sparsely when not on a terminal.
            bar = tqdm(starts, desc="beam search", unit="batch", disable=len(starts) < 4,
                       mininterval=0.1 if sys.stderr.isatty() else 30.0)
            for start in bar:
                chunk = prompts[start : start + batch_size]
                results.extend(
                    _search_batch(model, chunk, beam_width, rules.steps, rules, device, shared_prefix)
                )
                faults.reached("beam_batch")
    finally:
        model.train(was_training)
    return results


class _TokenRules:
    """Which tokens a beam may take at each step, as additive masks (0 allowed, -inf not)."""

    def __init__(
        self,
        tokenizer: Any,
        catalog: PrefixCatalog | None,
        vocab: int,
        device: torch.device,
        variable: bool = False,
    ) -> None:
        self.catalog = catalog
        self.vocab = vocab
        self.device = device
        self.variable = variable
        self.levels = tokenizer.levels
        self.eos_id, self.pad_id = tokenizer.eos_id, tokenizer.pad_id
        self.level_start = [tokenizer.level_token_ids(level)[0] for level in range(tokenizer.levels)]
        banned = [tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, tokenizer.sep_id]
        free = torch.zeros(vocab, device=device)
        free[banned] = float("-inf")
        free[tokenizer.vocab_size :] = float("-inf")  # rows of a padded embedding matrix are not tokens
        self.unconstrained = free
        # Variable length: <eos> may end a SID from step 1 on, and is the only token at step L.
        self.unconstrained_or_end = free.clone()
        self.unconstrained_or_end[self.eos_id] = 0.0
        self.end_only = torch.full((vocab,), float("-inf"), device=device)
        self.end_only[self.eos_id] = 0.0
        self._allowed_cache: dict[tuple[int, ...], Tensor] = {}

    @property
    def steps(self) -> int:
        """Decoding steps: L, plus the step of the final ``<eos>`` under variable length."""
        return self.levels + 1 if self.variable else self.levels

    def finished(self, tokens: Tensor) -> Tensor:
        """(N,) bool: the beam has emitted ``<eos>`` (its last token is ``<eos>`` or a ``<pad>`` filler)."""
        last = tokens[:, -1]
        return (last == self.eos_id) | (last == self.pad_id)

    def mask(self, tokens: Tensor, scores: Tensor) -> Tensor:
        """Additive mask for the next token of every beam: tokens (N, t) generated so far, scores (N,).
        Returns (V,) when unconstrained (same for all beams), else (N, V)."""
        if self.variable:
            return self._variable_mask(tokens, scores)
        if self.catalog is None:
            return self.unconstrained
        n_beams, step = tokens.shape
        mask = torch.full((n_beams, self.vocab), float("-inf"), device=self.device)
        codes = (tokens - torch.tensor(self.level_start[:step], device=tokens.device)).tolist()
        rows, cols = [], []
        finite = torch.isfinite(scores).tolist()
        for row, (prefix, alive) in enumerate(zip(codes, finite)):
            if not alive:  # a dropped (-inf) beam's prefix may be meaningless; it stays at -inf anyway
                continue
            ids = self._allowed_ids(tuple(prefix))
            rows.append(torch.full_like(ids, row))
            cols.append(ids)
        if rows:
            mask[torch.cat(rows), torch.cat(cols)] = 0.0
        return mask

    def _variable_mask(self, tokens: Tensor, scores: Tensor) -> Tensor:
        """``mask`` under variable length. Finished beams get no allowed token here: the caller gives them
        ``<pad>`` at log-probability 0 (``continue_finished``)."""
        n_beams, step = tokens.shape
        if self.catalog is None:
            if step == 0:
                return self.unconstrained
            return self.unconstrained_or_end if step < self.levels else self.end_only
        mask = torch.full((n_beams, self.vocab), float("-inf"), device=self.device)
        alive = torch.isfinite(scores)
        if step:
            alive &= ~self.finished(tokens)
        rows = alive.nonzero().flatten().tolist()
        if not rows:
            return mask
        codes = (tokens[rows] - torch.tensor(self.level_start[:step], device=tokens.device)).tolist()
        row_ids, cols = [], []
        for row, prefix in zip(rows, codes):
            ids = self._allowed_ids(tuple(prefix))
            row_ids.append(torch.full_like(ids, row))
            cols.append(ids)
        mask[torch.cat(row_ids), torch.cat(cols)] = 0.0
        return mask

    def continue_finished(self, cand: Tensor, tokens: Tensor, scores: Tensor) -> Tensor:
        """Candidates (N, V) with every finished beam's row replaced by its frozen score on ``<pad>`` only."""
        if not self.variable or tokens.shape[1] == 0:
            return cand
        done = self.finished(tokens) & torch.isfinite(scores)
        if bool(done.any()):
            cand = cand.clone()
            cand[done] = float("-inf")
            cand[done, self.pad_id] = scores[done]
        return cand

    def _allowed_ids(self, prefix: tuple[int, ...]) -> Tensor:
        ids = self._allowed_cache.get(prefix)
        if ids is None:
            level = len(prefix)
            codes = sorted(int(c) for c in self.catalog.allowed_next(prefix)) if level < self.levels else []
            token_ids = [self.level_start[level] + c for c in codes]
            if self.variable and self.catalog.end_allowed(prefix):  # type: ignore[attr-defined]
                token_ids.append(self.eos_id)
            ids = torch.tensor(token_ids, dtype=torch.long, device=self.device)
            self._allowed_cache[prefix] = ids
        return ids


def _top_k(scores: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k best entries of each row by (value desc, index asc): values (R, k), indices (R, k).

    ``torch.topk`` does not specify which of several equal values it returns, so rows where a finite tie
    crosses the k-th place are resolved exactly with a stable sort; -inf entries are never ranked among
    themselves (they are dropped later).
    """
    n_entries = scores.shape[1]
    if k > n_entries:  # fewer candidates than beams (B > V at step 0): pad with -inf fillers
        filler = scores.new_full((scores.shape[0], k - n_entries), float("-inf"))
        scores = torch.cat([scores, filler], dim=1)
    values, indices = torch.topk(scores, k, dim=1)
    indices = indices.masked_fill(indices >= n_entries, 0)  # a filler is a -inf beam; any valid index will do
    kth = values[:, -1:]
    ambiguous = torch.isfinite(kth[:, 0]) & ((scores >= kth).sum(dim=1) > k)
    for row in ambiguous.nonzero().flatten().tolist():
        cand = (scores[row] >= kth[row]).nonzero().flatten()  # ascending flat index
        order = torch.sort(scores[row, cand], descending=True, stable=True).indices[:k]
        indices[row] = cand[order]
        values[row] = scores[row, indices[row]]
    # order within the k by (value desc, index asc): sort by index, then stable sort by value
    by_index = torch.sort(indices, dim=1).indices
    indices, values = indices.gather(1, by_index), values.gather(1, by_index)
    by_value = torch.sort(values, dim=1, descending=True, stable=True).indices
    return values.gather(1, by_value), indices.gather(1, by_value)


def _search_batch(
    model: Any,
    prompts: Sequence[Sequence[int]],
    width: int,
    steps: int,
    rules: _TokenRules,
    device: torch.device,
    shared_prefix: bool,
) -> list[list[Beam]]:
    n_queries = len(prompts)
    longest = max(len(p) for p in prompts)
    input_ids = torch.zeros((n_queries, longest), dtype=torch.long)
    attention = torch.zeros((n_queries, longest), dtype=torch.long)
    for q, prompt in enumerate(prompts):  # left padding: every prompt ends at the same position
        input_ids[q, longest - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
        attention[q, longest - len(prompt) :] = 1
    input_ids, attention = input_ids.to(device), attention.to(device)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    prompt_lens = attention.sum(-1)

    cache = DynamicCache(config=model.config)
    out = model(
        input_ids=input_ids,
        attention_mask=attention,
        position_ids=positions,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    logps = torch.log_softmax(out.logits[:, -1].float(), dim=-1)  # (Q, V)
    empty = torch.zeros((n_queries, 0), dtype=torch.long, device=device)
    scores = logps + rules.mask(empty, torch.zeros(n_queries, device=device))
    scores, tokens = _top_k(scores, width)  # (Q, B): parent is the single root beam
    tokens = tokens[:, :, None]  # (Q, B, 1)
    n_beams = n_queries * width

    extra: dict[str, Any] = {}
    if shared_prefix:
        # The prompt cache stays (Q, ...); the beams' own tokens go to a fresh (Q*B, ...) cache.
        extra[SHARED_PREFIX_ATTENTION] = _SharedPrefix(cache, attention.bool(), width)
        cache = DynamicCache(config=model.config)
    else:
        cache.batch_repeat_interleave(width)
        attention = attention.repeat_interleave(width, dim=0)  # (Q*B, P)
    next_position = prompt_lens.repeat_interleave(width)  # position of the token generated at step 0
    offsets = torch.arange(n_queries, device=device)[:, None] * width
    with _attention_implementation(model, SHARED_PREFIX_ATTENTION if shared_prefix else None):
        for step in range(1, steps):
            if not shared_prefix:
                attention = torch.cat([attention, attention.new_ones((n_beams, 1))], dim=1)
            out = model(
                input_ids=tokens[:, :, -1].reshape(n_beams, 1),
                attention_mask=None if shared_prefix else attention,
                position_ids=(next_position + step - 1)[:, None],
                past_key_values=cache,
                use_cache=True,
                **extra,
            )
            logps = torch.log_softmax(out.logits[:, -1].float(), dim=-1)  # (Q*B, V)
            vocab = logps.shape[-1]
            flat_scores = scores.reshape(n_beams)
            so_far = tokens.reshape(n_beams, step)
            cand = flat_scores[:, None] + logps + rules.mask(so_far, flat_scores)
            cand = rules.continue_finished(cand, so_far, flat_scores)
            scores, flat = _top_k(cand.reshape(n_queries, width * vocab), width)
            parent, token = flat // vocab, flat % vocab  # (Q, B) each
            tokens = torch.cat(
                [tokens.gather(1, parent[:, :, None].expand(-1, -1, step)), token[:, :, None]], dim=2
            )
            if step < steps - 1:
                cache.reorder_cache((parent + offsets).reshape(n_beams))

    return [_ranked(tokens[q], scores[q], rules.pad_id if rules.variable else None) for q in range(n_queries)]


# ---------------------------------------------------------------------------------- shared-prefix attention
class _SharedPrefix:
    """The prompt keys/values of every layer, (Q, H_kv, P, D), shared by the B beams of each query."""

    def __init__(self, cache: DynamicCache, prompt_mask: Tensor, width: int) -> None:
        self.width = width
        self.valid = prompt_mask  # (Q, P) bool: False at left padding
        keep = prompt_mask[:, None, :, None]
        # Zero the padding slots: their probability is exactly 0, and 0 * (a non-finite pad value) would not be.
        self.keys = [layer.keys for layer in cache.layers]
        self.values = [layer.values.masked_fill(~keep, 0.0) for layer in cache.layers]


def _shared_prefix_attention(
    module: torch.nn.Module,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[Tensor, None]:
    """Attention of one new token per beam over [its query's prompt] + [the beam's own generated tokens].

    query (N=Q*B, H, 1, D); key/value (N, H_kv, t, D): the beam's generated tokens so far (from the cache);
    the prompt's keys/values come once per query (Q, H_kv, P, D) from ``kwargs[SHARED_PREFIX_ATTENTION]``.
    Exactly the softmax attention over the concatenated keys; only the prompt part is never copied per beam.
    Returns (N, 1, H, D) like the other attention back ends.
    """
    prefix: _SharedPrefix = kwargs[SHARED_PREFIX_ATTENTION]
    k_prompt, v_prompt = prefix.keys[module.layer_idx], prefix.values[module.layer_idx]
    n_beams, heads, q_len, dim = query.shape
    n_queries, kv_heads, prompt_len, _ = k_prompt.shape
    width, groups = prefix.width, heads // kv_heads
    if q_len != 1 or n_beams != n_queries * width:
        raise RuntimeError("shared-prefix attention decodes one token per beam")
    scale = dim**-0.5 if scaling is None else scaling
    # (Q, H_kv, B*G, D): a query head h reads kv head h // G, as in repeat_kv
    q_grouped = query.view(n_queries, width, kv_heads, groups, dim).permute(0, 2, 1, 3, 4)
    q_grouped = q_grouped.reshape(n_queries, kv_heads, width * groups, dim)
    s_prompt = torch.matmul(q_grouped, k_prompt.transpose(-1, -2)) * scale  # (Q, H_kv, B*G, P)
    s_prompt = s_prompt.masked_fill(~prefix.valid[:, None, None, :], float("-inf"))
    s_prompt = s_prompt.view(n_queries, kv_heads, width, groups, prompt_len).permute(0, 2, 1, 3, 4)
    s_prompt = s_prompt.reshape(n_beams, kv_heads, groups, prompt_len)
    q_beam = query.view(n_beams, kv_heads, groups, dim)
    s_own = torch.matmul(q_beam, key.transpose(-1, -2)) * scale  # (N, H_kv, G, t)
    probs = torch.softmax(torch.cat([s_prompt, s_own], dim=-1), dim=-1, dtype=torch.float32).to(query.dtype)
    p_prompt, p_own = probs[..., :prompt_len], probs[..., prompt_len:]
    p_prompt = p_prompt.view(n_queries, width, kv_heads, groups, prompt_len).permute(0, 2, 1, 3, 4)
    p_prompt = p_prompt.reshape(n_queries, kv_heads, width * groups, prompt_len)
    o_prompt = torch.matmul(p_prompt, v_prompt)  # (Q, H_kv, B*G, D)
    o_prompt = o_prompt.view(n_queries, kv_heads, width, groups, dim).permute(0, 2, 1, 3, 4)
    out = o_prompt.reshape(n_beams, kv_heads, groups, dim) + torch.matmul(p_own, value)  # (N, H_kv, G, D)
    return out.reshape(n_beams, 1, heads, dim), None


AttentionInterface.register(SHARED_PREFIX_ATTENTION, _shared_prefix_attention)


@contextlib.contextmanager
def _attention_implementation(model: Any, name: str | None) -> Iterator[None]:
    """Temporarily route the model's attention through ``name`` (None: leave it as it is)."""
    if name is None:
        yield
        return
    previous = model.config._attn_implementation
    model.config._attn_implementation = name
    try:
        yield
    finally:
        model.config._attn_implementation = previous


def _ranked(tokens: Tensor, scores: Tensor, pad_id: int | None = None) -> list[Beam]:
    """Finite beams by (score desc, token ids asc); ``pad_id``: drop the fillers after a beam's ``<eos>``."""
    beams = [
        Beam(tuple(ids[: ids.index(pad_id)] if pad_id is not None and pad_id in ids else ids), score)
        for ids, score in zip(tokens.tolist(), scores.tolist())
        if score != float("-inf")
    ]
    beams.sort(key=lambda b: (-b.score, b.token_ids))
    return beams
