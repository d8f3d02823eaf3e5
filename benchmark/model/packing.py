"""Packed candidates: a prompt and all of its candidates in one sequence (paper section 2.1).

Layout of one impression (prompt length P, candidates c = 0..C-1 of lengths S_c, here S_c = L + 1):

    position in sequence   0 .. P-1 | P .. P+S_0-1 | P+S_0 .. P+S_0+S_1-1 | ... | padding
    segment                prompt   | candidate 0  | candidate 1          | ... | none
    position id            0 .. P-1 | P .. P+S_0-1 | P .. P+S_1-1         | ... | 0

Attention is block-diagonal over the candidates: a prompt token sees the prompt causally; a token of candidate
c sees the whole prompt and the earlier tokens of candidate c, nothing of the other candidates. With the
position ids restarted at P for every candidate, the hidden state of every candidate token is exactly the one
it would have in the separate sequence ``prompt + candidate``, so one forward pass scores all C candidates
while encoding the prompt once.

The mask goes to the transformers model as a 4D *additive* float mask ``(B, 1, T, T)`` (0 = attend, dtype min =
blocked): ``transformers.masking_utils`` returns any 4D mask unchanged, and both attention back ends use it
as is (``eager`` adds it to the scores; ``sdpa`` passes it to ``scaled_dot_product_attention`` as
``attn_mask`` and turns off ``is_causal``). Padding rows attend to themselves only, so no row is fully masked.

Token ``s`` of a candidate is predicted by the output at the previous position: the last prompt token for
``s = 0``, the candidate's token ``s - 1`` otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import Tensor

from benchmark.errors import DataError


@dataclasses.dataclass
class PackedBatch:
    """B packed impressions, right-padded to a common length T.

    input_ids     (B, T) long   prompt, then every candidate's tokens, then pad
    position_ids  (B, T) long   restarted at the prompt length for every candidate
    attend        (B, T, T) bool  row i may attend to column j
    pred_index    (B, C, S) long  position whose output predicts candidate token s
    target_ids    (B, C, S) long  the candidate tokens (pad where absent)
    eos_index     (B, C) long     position of the candidate's last token (its EOS)
    token_mask    (B, C, S) bool  real candidate tokens
    cand_mask     (B, C) bool     real candidates
    prompt_lens   (B,) long
    """

    input_ids: Tensor
    position_ids: Tensor
    attend: Tensor
    pred_index: Tensor
    target_ids: Tensor
    eos_index: Tensor
    token_mask: Tensor
    cand_mask: Tensor
    prompt_lens: Tensor

    @property
    def seq_len(self) -> int:
        """T, the padded packed length (what attention is computed over)."""
        return int(self.input_ids.shape[1])

    @property
    def n_tokens(self) -> int:
        """Real (non-padding) tokens: prompts + all candidate tokens."""
        return int(self.prompt_lens.sum().item() + self.token_mask.sum().item())

    def to(self, device: torch.device | str) -> PackedBatch:
        return PackedBatch(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})

    def attention_mask(self, dtype: torch.dtype) -> Tensor:
        """The (B, 1, T, T) additive mask: 0 where attention is allowed, the dtype's minimum elsewhere."""
        blocked = torch.finfo(dtype).min
        mask = torch.zeros(self.attend.shape, dtype=dtype, device=self.attend.device)
        mask.masked_fill_(~self.attend, blocked)
        return mask[:, None]


def pack_candidates(prompts: list[list[int]], candidates: list[list[list[int]]], pad_id: int) -> PackedBatch:
    """Pack ``prompts[b]`` with all of ``candidates[b]`` (each a ``target_ids`` list) into one row per b.

    Impressions may have different prompt lengths and candidate counts; C and S are the maxima.
    """
    if len(prompts) != len(candidates):
        raise DataError(f"pack_candidates got {len(prompts)} prompts but {len(candidates)} candidate lists.")
    if not prompts:
        raise DataError("pack_candidates got an empty batch.")
    batch = len(prompts)
    n_cands = max(len(c) for c in candidates)
    cand_len = max((len(y) for cands in candidates for y in cands), default=0)
    if n_cands == 0 or cand_len == 0:
        raise DataError("pack_candidates needs at least one non-empty candidate.")
    lengths = [len(p) + sum(len(y) for y in cands) for p, cands in zip(prompts, candidates)]
    total = max(lengths)

    input_ids = torch.full((batch, total), pad_id, dtype=torch.long)
    position_ids = torch.zeros((batch, total), dtype=torch.long)
    segment = torch.full((batch, total), -1, dtype=torch.long)  # -1 pad, 0 prompt, c + 1 candidate c
    pred_index = torch.zeros((batch, n_cands, cand_len), dtype=torch.long)
    target_ids = torch.full((batch, n_cands, cand_len), pad_id, dtype=torch.long)
    eos_index = torch.zeros((batch, n_cands), dtype=torch.long)
    token_mask = torch.zeros((batch, n_cands, cand_len), dtype=torch.bool)
    cand_mask = torch.zeros((batch, n_cands), dtype=torch.bool)
    prompt_lens = torch.zeros(batch, dtype=torch.long)

    for b, (prompt, cands) in enumerate(zip(prompts, candidates)):
        n_prompt = len(prompt)
        if n_prompt == 0:
            raise DataError(f"Prompt {b} is empty: every prompt needs at least <bos>.")
        prompt_lens[b] = n_prompt
        input_ids[b, :n_prompt] = torch.tensor(prompt, dtype=torch.long)
        position_ids[b, :n_prompt] = torch.arange(n_prompt)
        segment[b, :n_prompt] = 0
        start = n_prompt
        for c, cand in enumerate(cands):
            size = len(cand)
            if size == 0:
                raise DataError(f"Candidate {c} of impression {b} is empty.")
            span = slice(start, start + size)
            input_ids[b, span] = torch.tensor(cand, dtype=torch.long)
            position_ids[b, span] = torch.arange(n_prompt, n_prompt + size)
            segment[b, span] = c + 1
            target_ids[b, c, :size] = torch.tensor(cand, dtype=torch.long)
            # token 0 is predicted from the last prompt token, token s from the candidate's token s - 1
            pred_index[b, c, 0] = n_prompt - 1
            pred_index[b, c, 1:size] = torch.arange(start, start + size - 1)
            eos_index[b, c] = start + size - 1
            token_mask[b, c, :size] = True
            cand_mask[b, c] = True
            start += size

    seg_q, seg_k = segment[:, :, None], segment[:, None, :]
    causal = torch.ones(total, total, dtype=torch.bool).tril()
    attend = causal & ((seg_k == 0) | (seg_k == seg_q)) & (seg_q >= 0) & (seg_k >= 0)
    attend |= torch.eye(total, dtype=torch.bool)  # padding rows: themselves only (never a fully masked row)
    return PackedBatch(
        input_ids, position_ids, attend, pred_index, target_ids, eos_index, token_mask, cand_mask, prompt_lens
    )


def _gather_positions(hidden: Tensor, index: Tensor) -> Tensor:
    """hidden (B, T, H), index (B, ...) -> (B, ..., H)."""
    batch, _, width = hidden.shape
    flat = index.reshape(batch, -1)
    out = torch.gather(hidden, 1, flat[:, :, None].expand(-1, -1, width))
    return out.reshape(*index.shape, width)


def token_logps_from_hidden(model, hidden: Tensor, targets: Tensor) -> Tensor:
    """log softmax of the LM head at ``hidden`` (..., H), taken at ``targets`` (...): (...) float32."""
    logits = model.get_output_embeddings()(hidden).float()
    return torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)


def candidate_logps(model, packed: PackedBatch, with_hidden: bool) -> tuple[Tensor, Tensor | None]:
    """Per-token log-probs of every packed candidate in one forward pass.

    Returns ``token_logps`` (B, C, S) float32: ``log pi(y_s | y_<s, x)``, 0 at padded tokens/candidates;
    and, when ``with_hidden``, ``eos_hidden`` (B, C, H): the final-layer (post-norm) hidden state at each
    candidate's last token (its EOS), 0 for padded candidates. Gradients flow when called under grad.
    The LM head is applied only at the B*C*S predicting positions, not at every packed position.
    """
    device = next(model.parameters()).device
    dtype = model.get_input_embeddings().weight.dtype
    packed = packed.to(device)
    outputs = model.get_decoder()(
        input_ids=packed.input_ids,
        attention_mask=packed.attention_mask(dtype),
        position_ids=packed.position_ids,
        use_cache=False,
    )
    hidden = outputs.last_hidden_state  # (B, T, H)
    token_logps = token_logps_from_hidden(
        model, _gather_positions(hidden, packed.pred_index), packed.target_ids
    )
    token_logps = token_logps.masked_fill(~packed.token_mask, 0.0)
    eos_hidden = None
    if with_hidden:
        eos_hidden = _gather_positions(hidden, packed.eos_index)  # (B, C, H)
        eos_hidden = eos_hidden.masked_fill(~packed.cand_mask[:, :, None], 0.0)
    return token_logps, eos_hidden


def separate_candidate_logps(
    model, prompts: Sequence[Sequence[int]], candidates: Sequence[Sequence[Sequence[int]]], pad_id: int
) -> Tensor:
    """The unpacked reference: one sequence ``prompt + candidate`` per candidate, all in one right-padded
    batch with the model's standard causal mask. Same output as ``candidate_logps(...)[0]``; it encodes each
    prompt once per candidate, which is what packing avoids (``grbench perf train`` compares the two)."""
    device = next(model.parameters()).device
    rows, spans = [], []
    for b, (prompt, cands) in enumerate(zip(prompts, candidates)):
        for c, cand in enumerate(cands):
            rows.append(list(prompt) + list(cand))
            spans.append((b, c, len(prompt), len(cand)))
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention[i, : len(row)] = 1
    n_cands = max(len(c) for c in candidates)
    cand_len = max(s[3] for s in spans)
    pred = torch.zeros((len(rows), cand_len), dtype=torch.long)
    targets = torch.full((len(rows), cand_len), pad_id, dtype=torch.long)
    valid = torch.zeros((len(rows), cand_len), dtype=torch.bool)
    for i, (_, _, n_prompt, size) in enumerate(spans):
        pred[i, :size] = torch.arange(n_prompt - 1, n_prompt + size - 1)
        targets[i, :size] = input_ids[i, n_prompt : n_prompt + size]
        valid[i, :size] = True
    hidden = model.get_decoder()(
        input_ids=input_ids.to(device), attention_mask=attention.to(device), use_cache=False
    ).last_hidden_state
    logps = token_logps_from_hidden(model, _gather_positions(hidden, pred.to(device)), targets.to(device))
    logps = logps.masked_fill(~valid.to(device), 0.0)
    out = torch.zeros((len(prompts), n_cands, cand_len), dtype=logps.dtype, device=device)
    rows_b = torch.tensor([s[0] for s in spans], device=device)
    rows_c = torch.tensor([s[1] for s in spans], device=device)
    return out.index_put((rows_b, rows_c), logps)
