"""RAD-DPO's global contrast loss (paper eqs. 2 and 7): golden values, stability, masking."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from raddpo import global_contrast_loss


def t(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def naive(pos: float, negs: list[float], weights: list[float], beta: float) -> float:
    """The printed formula term by term: -log sigmoid(beta * log sum_j w_j exp(pos - neg_j))."""
    s = sum(w * math.exp(pos - n) for n, w in zip(negs, weights))
    return -math.log(1.0 / (1.0 + math.exp(-beta * math.log(s))))


def test_golden_two_negatives_weighted() -> None:
    # pos -1, negs (-2, -3), weights (1, 0.5):
    #   S = 1 * e^(-1+2) + 0.5 * e^(-1+3) = 2.7182818 + 3.6945280 = 6.4128099, log S = 1.8582975
    #   beta = 1:   -log sigmoid(log S) = log(1 + 1/S) = log(1.1559378) = 0.1449120
    #   beta = 0.5: log(1 + S^-0.5) = log(1.3948887) = 0.3328154
    pos, negs, w, mask = t(-1.0), t([-2.0, -3.0]), t([1.0, 0.5]), torch.tensor([[True, True]])
    torch.testing.assert_close(global_contrast_loss(pos, negs, w, mask, beta=1.0), t(0.14491203485694698))
    torch.testing.assert_close(global_contrast_loss(pos, negs, w, mask, beta=0.5), t(0.3328153516611635))


def test_golden_single_negative_equals_pairwise_logistic() -> None:
    # One negative, w = 1: log S = pos - neg = 0.75 -> log(1 + e^-0.75) = 0.3868710 (beta 1).
    out = global_contrast_loss(t(-0.25), t([-1.0]), t([1.0]), torch.tensor([[True]]), beta=1.0)
    torch.testing.assert_close(out, t(0.3868710061149))


def test_masked_negatives_are_ignored() -> None:
    # The third negative would dominate (e^(-1 + 100)) if it were counted.
    pos = t(-1.0, -1.0)
    negs = t([-2.0, -3.0, -100.0], [-2.0, -3.0, float("-inf")])
    w = t([1.0, 0.5, 1.0], [1.0, 0.5, 1.0])
    mask = torch.tensor([[True, True, False], [True, True, False]])
    out = global_contrast_loss(pos, negs, w, mask, beta=1.0)
    torch.testing.assert_close(out, t(0.14491203485694698, 0.14491203485694698))


def test_zero_weight_excludes_a_term() -> None:
    out = global_contrast_loss(
        t(-1.0), t([-2.0, -9.0]), t([1.0, 0.0]), torch.tensor([[True, True]]), beta=1.0
    )
    torch.testing.assert_close(out, t(math.log1p(math.exp(-1.0))))


def test_no_negative_gives_zero_loss_and_zero_gradient() -> None:
    pos = t(-1.0, -1.0).requires_grad_()
    negs = t([-2.0, -3.0], [-2.0, -3.0]).requires_grad_()
    mask = torch.tensor([[True, True], [False, False]])
    out = global_contrast_loss(pos, negs, t([1.0, 1.0], [1.0, 1.0]), mask, beta=1.0)
    assert out[1].item() == 0.0 and out[0].item() > 0
    out.sum().backward()
    assert pos.grad[1].item() == 0.0 and negs.grad[1].tolist() == [0.0, 0.0]
    assert torch.isfinite(pos.grad).all() and torch.isfinite(negs.grad).all()


def test_finite_for_large_margins() -> None:
    # exp(1000) overflows float64 and exp(-1000) underflows; logsumexp does not.
    pos = t(0.0, 0.0).requires_grad_()
    negs = t([-1000.0, -999.0], [1000.0, 999.0]).requires_grad_()
    out = global_contrast_loss(
        pos, negs, t([1.0, 0.5], [1.0, 0.5]), torch.ones(2, 2, dtype=torch.bool), beta=1.0
    )
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(negs.grad).all() and torch.isfinite(pos.grad).all()
    assert out[0].item() == pytest.approx(0.0, abs=1e-300)  # huge positive margin: no loss
    # huge negative margin: S = e^-1000 + 0.5 e^-999 = e^-999 (e^-1 + 0.5), log S = -999 + log(0.8678794);
    # -log sigmoid(x) = -x + log(1 + e^x) -> -log S = 999.1417025 (the log(1 + e^x) term is e^-999).
    assert out[1].item() == pytest.approx(999.0 - math.log(0.5 + math.exp(-1.0)), rel=1e-12)


def test_float32_large_values_stay_finite() -> None:
    out = global_contrast_loss(
        torch.tensor([0.0]),
        torch.tensor([[-200.0, 150.0]]),
        torch.tensor([[1.0, 1.0]]),
        torch.tensor([[True, True]]),
        beta=2.0,
    )
    assert torch.isfinite(out).all()


def test_easiest_negative_gets_most_gradient() -> None:
    # The documented property of the printed formula: d L / d r_j is largest for the lowest r_j.
    negs = t([-1.0, -4.0]).requires_grad_()
    global_contrast_loss(
        t(-0.5), negs, t([1.0, 1.0]), torch.tensor([[True, True]]), beta=1.0
    ).sum().backward()
    grad = negs.grad[0]
    assert (grad > 0).all() and grad[1] > grad[0]


reals = st.floats(-3.0, 3.0)


@settings(max_examples=60, deadline=None)
@given(
    pos=reals,
    negs=st.lists(reals, min_size=1, max_size=6),
    data=st.data(),
    beta=st.floats(0.05, 3.0),
)
def test_equals_naive_formula_on_small_values(pos: float, negs: list[float], data, beta: float) -> None:
    weights = data.draw(st.lists(st.floats(0.5, 1.0), min_size=len(negs), max_size=len(negs)))
    out = global_contrast_loss(
        t(pos), t(negs), t(weights), torch.ones(1, len(negs), dtype=torch.bool), beta=beta
    )
    assert out.item() == pytest.approx(naive(pos, negs, weights, beta), rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(negs=st.lists(reals, min_size=2, max_size=6), seed=st.integers(0, 1000))
def test_invariant_to_negative_order_and_padding(negs: list[float], seed: int) -> None:
    n = len(negs)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    base = global_contrast_loss(
        t(0.1), t(negs), torch.ones(1, n, dtype=torch.float64), torch.ones(1, n, dtype=torch.bool), 1.0
    )
    shuffled = global_contrast_loss(
        t(0.1),
        t(negs)[:, perm],
        torch.ones(1, n, dtype=torch.float64),
        torch.ones(1, n, dtype=torch.bool),
        1.0,
    )
    padded = global_contrast_loss(
        t(0.1),
        t(negs + [7.0]),
        torch.ones(1, n + 1, dtype=torch.float64),
        torch.tensor([[True] * n + [False]]),
        1.0,
    )
    torch.testing.assert_close(shuffled, base)
    torch.testing.assert_close(padded, base)
