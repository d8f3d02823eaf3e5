"""Token-level gradient detachment (paper eqs. 3-4) and the shared-prefix mask it reads."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.methods import shared_prefix_mask
from raddpo import RadDpoConfig, detach_shared_prefix, raddpo_objective
from tests.methods.batches import hand_batch


def test_shared_prefix_mask_golden() -> None:
    ids = torch.tensor([[[5, 7, 1], [5, 7, 2], [5, 9, 1], [6, 7, 1], [5, 7, 1]]])
    token_mask = torch.ones(1, 5, 3, dtype=torch.bool)
    mask = shared_prefix_mask(ids, token_mask, torch.tensor([0]))
    assert mask[0].tolist() == [
        [True, True, True],  # y_w* is entirely its own prefix
        [True, True, False],  # diverges at token 3
        [True, False, False],  # diverges at token 2: a later match (token 3) is not prefix
        [False, False, False],  # diverges at token 1
        [True, True, True],  # same SID (collision): all shared
    ]


def test_shared_prefix_mask_ignores_padding() -> None:
    ids = torch.zeros(1, 2, 2, dtype=torch.long)
    token_mask = torch.tensor([[[True, True], [False, False]]])
    assert shared_prefix_mask(ids, token_mask, torch.tensor([0]))[0, 1].tolist() == [False, False]


def test_detach_keeps_values_and_stops_gradient_inside_the_prefix() -> None:
    logps = torch.tensor([[[-1.0, -2.0, -3.0]]], requires_grad=True)
    shared = torch.tensor([[[True, False, False]]])
    out = detach_shared_prefix(logps, shared)
    assert torch.equal(out, logps)
    (out * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logps.grad.tolist() == [[[0.0, 2.0, 3.0]]]


def test_raddpo_negative_prefix_gradient_is_exactly_zero_and_value_unchanged() -> None:
    # Impression 0, negative c2 (ids [5, 9]) shares token 0 with y_w* (ids [5, 7]).
    results = {}
    for tlgd in (True, False):
        batch = hand_batch()
        losses, _ = raddpo_objective(batch, RadDpoConfig(tlgd=tlgd, rdrw=False), None)
        losses.sum().backward()
        results[tlgd] = (losses.detach(), batch.token_logps.grad.clone())
    (with_value, with_grad), (without_value, without_grad) = results[True], results[False]
    torch.testing.assert_close(with_value, without_value, rtol=0, atol=0)  # value unchanged
    assert with_grad[0, 2, 0].item() == 0.0  # inside the shared prefix: no gradient at all
    assert with_grad[0, 2, 1].item() > 0.0  # after the divergence point: pushed down (dL/dlogp > 0)
    assert without_grad[0, 2, 0].item() > 0.0  # without TLGD the shared prefix token is pushed down too
    # a negative with no shared prefix is untouched by TLGD
    torch.testing.assert_close(with_grad[0, 3], without_grad[0, 3])
    # TLGD never touches positives: c1 shares token 0 with y_w* but keeps its SFT gradient -1/|Y_pos|
    assert with_grad[0, 1].tolist() == [-0.5, -0.5]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), min_size=4, max_size=4), st.integers(0, 10_000))
def test_detach_is_value_identity_and_zeroes_exactly_the_masked_gradients(
    shared: list[bool], seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    logps = (-torch.rand(1, 1, 4, generator=g, dtype=torch.float64)).requires_grad_()
    mask = torch.tensor([[shared]])
    out = detach_shared_prefix(logps, mask)
    assert torch.equal(out, logps)
    out.sum().backward()
    assert logps.grad[0, 0].tolist() == [0.0 if s else 1.0 for s in shared]
