"""Hand-built CandidateBatches for the method tests (no model: the log-probs are leaf tensors)."""

from __future__ import annotations

import dataclasses

import torch

from benchmark.methods import CandidateBatch, shared_prefix_mask


def hand_batch(with_reference: bool = True, with_hidden: bool = True) -> CandidateBatch:
    """Two impressions, C = 4 candidate slots, S = 2 tokens, in float64; every value chosen for hand sums.

    Impression 0: c0 = y_w* ids [5, 7] logps [-0.5, -0.5] (sum -1, avg -0.5)
                  c1 = positive ids [5, 8] logps [-1, -1] (sum -2, avg -1)
                  c2 = negative ids [5, 9] logps [-1, -2] (sum -3, avg -1.5), shares token 0 with y_w*
                  c3 = negative ids [6, 7] logps [-2, -2] (sum -4, avg -2), shares nothing
    Impression 1: c0 = negative ids [3, 4] logps [-1.5, -0.5] (sum -2, avg -1)
                  c1 = y_w* ids [3, 3] logps [-0.25, -0.25] (sum -0.5, avg -0.25)
                  c2, c3 = padding (log-prob 0, masked)
    Reference (sequence sums): imp. 0: c0 -2, c1 -2, c2 -2, c3 -5; imp. 1: c0 -2, c1 -0.5.
    EOS hidden (H = 2): y_w* [1, 0]; imp. 0: c1 [1, 1], c2 [1, 0] (cos 1), c3 [0, 1] (cos 0);
    imp. 1: c0 [0, 1] (cos 0).
    """
    logps = torch.tensor(
        [
            [[-0.5, -0.5], [-1.0, -1.0], [-1.0, -2.0], [-2.0, -2.0]],
            [[-1.5, -0.5], [-0.25, -0.25], [0.0, 0.0], [0.0, 0.0]],
        ],
        dtype=torch.float64,
        requires_grad=True,
    )
    ids = torch.tensor([[[5, 7], [5, 8], [5, 9], [6, 7]], [[3, 4], [3, 3], [0, 0], [0, 0]]])
    cand_mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    token_mask = cand_mask.unsqueeze(-1).expand(2, 4, 2).clone()
    is_positive = torch.tensor([[True, True, False, False], [False, True, False, False]])
    top = torch.tensor([0, 1])
    ref = torch.tensor(
        [
            [[-1.0, -1.0], [-1.0, -1.0], [-1.0, -1.0], [-2.5, -2.5]],
            [[-1.0, -1.0], [-0.25, -0.25], [0.0, 0.0], [0.0, 0.0]],
        ],
        dtype=torch.float64,
    )
    hidden = torch.tensor(
        [
            [[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]],
            [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
        ],
        dtype=torch.float64,
    )
    return CandidateBatch(
        token_logps=logps,
        token_mask=token_mask,
        cand_mask=cand_mask,
        is_positive=is_positive,
        top_positive=top,
        shared_prefix=shared_prefix_mask(ids, token_mask, top),
        ref_token_logps=ref if with_reference else None,
        eos_hidden=hidden if with_hidden else None,
    )


def random_batch(
    B: int = 4, C: int = 6, S: int = 4, H: int = 8, vocab: int = 5, seed: int = 0, requires_grad: bool = True
) -> CandidateBatch:
    """A random batch shaped like the trainer's: real log-softmax log-probs, padded candidates, shared
    prefixes (small vocab), an impression without negatives, reference log-probs and EOS hidden states."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (B, C, S), generator=g)
    logits = torch.randn(B, C, S, vocab, generator=g, dtype=torch.float64)
    cand_mask = torch.ones(B, C, dtype=torch.bool)
    cand_mask[0, C - 2 :] = False  # padded slots
    token_mask = cand_mask.unsqueeze(-1).expand(B, C, S).clone()
    logps = torch.log_softmax(logits, -1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    logps = torch.where(token_mask, logps, torch.zeros_like(logps))
    is_positive = torch.rand(B, C, generator=g) < 0.3
    top = torch.randint(0, C - 2, (B,), generator=g)
    is_positive[torch.arange(B), top] = True
    is_positive[B - 1] = True  # the last impression has no negative
    is_positive &= cand_mask
    ref = torch.log_softmax(torch.randn(B, C, S, vocab, generator=g, dtype=torch.float64), -1)
    ref = ref.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    ref = torch.where(token_mask, ref, torch.zeros_like(ref))
    return CandidateBatch(
        token_logps=logps.requires_grad_(requires_grad),
        token_mask=token_mask,
        cand_mask=cand_mask,
        is_positive=is_positive,
        top_positive=top,
        shared_prefix=shared_prefix_mask(ids, token_mask, top),
        ref_token_logps=ref,
        eos_hidden=torch.randn(B, C, H, generator=g, dtype=torch.float64),
    )


def with_rollouts(batch: CandidateBatch, seed: int = 0) -> CandidateBatch:
    """``batch`` as a rollout batch (benchmark.training.rollouts): every real slot but y_w* is a rollout, with
    random rewards in [-1, 1] and rollout-policy log-probs near the policy's (so some ratios clip)."""
    g = torch.Generator().manual_seed(seed)
    B, C, _ = batch.token_logps.shape
    slots = torch.arange(C).unsqueeze(0)
    old = batch.token_logps.detach() + 0.3 * torch.randn(batch.token_logps.shape, generator=g, dtype=torch.float64)
    return dataclasses.replace(
        batch,
        rollout_mask=batch.cand_mask & (slots != batch.top_positive.unsqueeze(1)),
        rewards=torch.where(batch.cand_mask, 2 * torch.rand(B, C, generator=g, dtype=torch.float64) - 1, 0.0),
        old_token_logps=torch.where(batch.token_mask, old, torch.zeros((), dtype=old.dtype)),
    )
