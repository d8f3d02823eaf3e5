"""Examples -> one packed forward pass -> the ``CandidateBatch`` every method's objective reads.

``collate`` packs a micro-batch (prompt + all candidates in one sequence, block-diagonal attention:
``benchmark.model.pack_candidates``) and adds the label tensors. ``forward_candidates`` is the only code that
runs the model for training: the policy's per-token log-probs (with grad), and only when the method's flags
ask for them, the frozen reference model's log-probs (no grad) and the final hidden state at each candidate's
EOS; for a batch of rollouts (``TrainBatch.with_rollouts``), their rewards and the rollout policy's log-probs. The trainer never looks at a method's name.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from benchmark.methods import CandidateBatch, shared_prefix_mask
from benchmark.model.packing import candidate_logps, pack_candidates
from benchmark.training.examples import Example


@dataclasses.dataclass
class TrainBatch:
    """A packed micro-batch of B examples with C candidate slots of S tokens each."""

    packed: Any  # benchmark.model.PackedBatch
    is_positive: torch.Tensor  # (B, C) bool, False on padded candidate slots
    top_positive: torch.Tensor  # (B,) long, index of y_w*
    shared_prefix: torch.Tensor  # (B, C, S) bool, token inside the candidate's longest common prefix with y_w*
    n_examples: int
    n_tokens: int  # real (non-pad) tokens put through the model: prompts + all candidates
    rollout_mask: torch.Tensor | None = None  # (B, C) bool, the slot holds a rollout (``with_rollouts``)
    rewards: torch.Tensor | None = None  # (B, C) float, every real slot's reward; 0 on padding

    def to(self, device: torch.device | str) -> TrainBatch:
        return dataclasses.replace(
            self,
            packed=_move(self.packed, device),
            is_positive=self.is_positive.to(device),
            top_positive=self.top_positive.to(device),
            shared_prefix=self.shared_prefix.to(device),
            rollout_mask=None if self.rollout_mask is None else self.rollout_mask.to(device),
            rewards=None if self.rewards is None else self.rewards.to(device),
        )

    def with_rollouts(self, rewards: Sequence[Sequence[float]]) -> TrainBatch:
        """This batch of ``benchmark.training.rollouts`` examples (y_w* in slot 0, rollouts after it) with each
        slot's reward (one per real candidate, slot 0 included)."""
        slots = self.is_positive.shape[1]
        values = torch.zeros(len(rewards), slots, dtype=torch.float32)
        for b, row in enumerate(rewards):
            values[b, : len(row)] = torch.tensor(row, dtype=torch.float32)
        real = self.packed.cand_mask.to(torch.bool).cpu()
        rollout = real & (torch.arange(slots) != self.top_positive.cpu().unsqueeze(1))
        return dataclasses.replace(self, rollout_mask=rollout, rewards=values)


def _move(obj: Any, device: torch.device | str) -> Any:
    if hasattr(obj, "to") and not dataclasses.is_dataclass(obj):
        return obj.to(device)
    if dataclasses.is_dataclass(obj):
        changes = {
            f.name: getattr(obj, f.name).to(device)
            for f in dataclasses.fields(obj)
            if isinstance(getattr(obj, f.name), torch.Tensor)
        }
        return dataclasses.replace(obj, **changes)
    return obj


@functools.lru_cache(maxsize=4)
def epoch_order(n_examples: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of example indices for one epoch (read-only).

    Seeded with the entropy pair (seed, epoch) rather than seed + epoch, so seed 1's first epoch is not
    seed 0's second. It depends on the seed and the number of examples only, never on the method, so every
    method trained from one SFT checkpoint sees the same examples in the same order.
    """
    order = np.random.default_rng((seed, epoch)).permutation(n_examples)
    order.setflags(write=False)
    return order


def batch_indices(step: int, batch_size: int, n_examples: int, seed: int) -> np.ndarray:
    """Example indices of 0-based optimizer step ``step``: positions [step * B, (step + 1) * B) of the
    concatenated epoch permutations (a batch may straddle two epochs). A pure function of its arguments,
    so a resumed run picks up exactly where the interrupted one stopped."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size, dtype=np.int64)
    epochs = positions // n_examples
    out = np.empty(batch_size, dtype=np.int64)
    for epoch in np.unique(epochs):
        sel = epochs == epoch
        out[sel] = epoch_order(n_examples, seed, int(epoch))[positions[sel] % n_examples]
    return out


def collate(examples: Sequence[Example], pad_id: int) -> TrainBatch:
    """Pack ``examples`` into one ``TrainBatch`` (candidate c of example b is slot c of row b)."""
    if not examples:
        raise ValueError("collate needs at least one example")
    packed = pack_candidates(
        [list(ex.prompt_ids) for ex in examples],
        [[list(c) for c in ex.candidate_ids] for ex in examples],
        pad_id,
    )
    batch, slots, length = packed.token_mask.shape
    token_mask = packed.token_mask.to(torch.bool)
    empty = [pad_id] * length
    candidate_ids = torch.tensor(
        [
            [list(c) + [pad_id] * (length - len(c)) for c in ex.candidate_ids]
            + [empty] * (slots - len(ex.candidate_ids))
            for ex in examples
        ],
        dtype=torch.long,
    )  # (B, C, S)
    is_positive = torch.tensor(
        [list(ex.is_positive) + [False] * (slots - len(ex.is_positive)) for ex in examples], dtype=torch.bool
    )  # (B, C)
    top_positive = torch.tensor([ex.top_positive for ex in examples], dtype=torch.long)
    return TrainBatch(
        packed=packed,
        is_positive=is_positive,
        top_positive=top_positive,
        # One definition of "shared prefix" for every method (benchmark.methods), computed once here.
        shared_prefix=shared_prefix_mask(candidate_ids, token_mask, top_positive),
        n_examples=len(examples),
        n_tokens=sum(ex.n_tokens for ex in examples),
    )


def forward_candidates(
    model: torch.nn.Module,
    batch: TrainBatch,
    *,
    needs_reference: bool,
    needs_hidden: bool,
    reference_model: torch.nn.Module | None = None,
) -> CandidateBatch:
    """Run the policy (and the reference, when needed) on a packed batch; shapes as in ``CandidateBatch``."""
    token_logps, eos_hidden = candidate_logps(model, batch.packed, with_hidden=needs_hidden)
    ref_token_logps = None
    if needs_reference:
        if reference_model is None:
            raise ValueError("needs_reference is set but no reference model was given")
        # Computed once per batch here, under no_grad: the reference is frozen (Rafailov et al. 2023).
        with torch.no_grad():
            ref_token_logps, _ = candidate_logps(reference_model, batch.packed, with_hidden=False)
        ref_token_logps = ref_token_logps.float()
    return CandidateBatch(
        token_logps=token_logps.float(),
        token_mask=batch.packed.token_mask.to(torch.bool),
        cand_mask=batch.packed.cand_mask.to(torch.bool),
        is_positive=batch.is_positive,
        top_positive=batch.top_positive,
        shared_prefix=batch.shared_prefix,
        ref_token_logps=ref_token_logps,
        eos_hidden=None if eos_hidden is None else eos_hidden.float(),
        rollout_mask=batch.rollout_mask,
        rewards=batch.rewards,
        # One policy update per rollout batch (TRL's num_iterations = 1): the rollout policy is this policy.
        old_token_logps=None if batch.rewards is None else token_logps.detach().float(),
    )
