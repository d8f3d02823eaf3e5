"""Golden values, computed by hand, for the pure baseline losses (SFT, DPO, SimPO, ORPO)."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines import dpo_loss, log_odds, orpo_loss, sft_loss, simpo_loss
from baselines.orpo import log1mexp


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_sft_loss_is_mean_sequence_nll_over_positives() -> None:
    # Impression 0: positives c0 (sum -1 - 2 = -3) and c1 (sum -0.5 - 0.5 = -1); c2 is not selected.
    #   L = -(-3 + -1) / 2 = 2.0
    # Impression 1: one positive c2 whose second token is padding (masked): sum = -0.25 -> L = 0.25.
    logps = torch.tensor(
        [
            [[-1.0, -2.0], [-0.5, -0.5], [-3.0, -1.0]],
            [[-9.0, -9.0], [-9.0, -9.0], [-0.25, -99.0]],
        ],
        dtype=torch.float64,
    )
    mask = torch.tensor(
        [
            [[True, True], [True, True], [False, False]],
            [[False, False], [False, False], [True, False]],
        ]
    )
    torch.testing.assert_close(sft_loss(logps, mask), t(2.0, 0.25))


def test_sft_loss_without_positives_is_zero() -> None:
    logps = -torch.ones(1, 2, 3, dtype=torch.float64)
    assert sft_loss(logps, torch.zeros(1, 2, 3, dtype=torch.bool)).tolist() == [0.0]


def test_sft_gradient_is_minus_one_over_positive_count() -> None:
    logps = torch.full((1, 3, 2), -1.0, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[[True, True], [True, True], [False, False]]])
    sft_loss(logps, mask).sum().backward()
    # d/d logp of -(sum of 2 sequences)/2 is -1/2 on selected tokens and 0 elsewhere.
    assert logps.grad.tolist() == [[[-0.5, -0.5], [-0.5, -0.5], [0.0, 0.0]]]


def test_dpo_loss_golden() -> None:
    # margin = (pc - rc) - (pr - rr)
    # 1) beta 0.1: (-1 + 2) - (-3 + 2) = 2   -> log(1 + e^-0.2) = log(1.8187308) = 0.5981389
    # 2) beta 0.1: (-2 + 2) - (-2 + 2) = 0   -> log 2 = 0.6931472
    # 3) beta 0.1: (-4 + 2) - (-3 + 2) = -1, but with beta 1 below
    out = dpo_loss(t(-1.0, -2.0), t(-3.0, -2.0), t(-2.0, -2.0), t(-2.0, -2.0), beta=0.1)
    torch.testing.assert_close(out, t(0.5981388693815918, math.log(2.0)))
    # beta 1, margin -1 -> log(1 + e) = 1.3132617
    torch.testing.assert_close(dpo_loss(t(-4.0), t(-3.0), t(-2.0), t(-2.0), beta=1.0), t(1.3132616875182228))


def test_simpo_loss_golden() -> None:
    # beta 2, gamma 1: z = 2 * (c - r) - 1
    # 1) c -0.5, r -1.5: z = 1  -> log(1 + e^-1) = 0.3132617
    # 2) c -1,   r -1:   z = -1 -> log(1 + e)    = 1.3132617
    # 3) c -0.25,r -1:   z = 0.5 -> log(1 + e^-0.5) = 0.4740770
    out = simpo_loss(t(-0.5, -1.0, -0.25), t(-1.5, -1.0, -1.0), beta=2.0, gamma=1.0)
    torch.testing.assert_close(out, t(0.31326168751822286, 1.3132616875182228, 0.4740769841801067))


def test_orpo_loss_golden() -> None:
    # 1) P(chosen) = 0.5 -> odds 1 -> log odds 0; P(rejected) = 0.2 -> odds 0.25 -> log odds -log 4.
    #    ratio term: -log sigmoid(log 4) = log(1 + 1/4) = 0.2231436; NLL = -log 0.5 = 0.6931472
    #    L = 0.6931472 + 0.1 * 0.2231436 = 0.7154615
    # 2) P(chosen) = 0.8 -> odds 4; P(rejected) = 0.5 -> odds 1: ratio again log 4 -> 0.2231436;
    #    NLL = -log 0.8 = 0.2231436 -> L = 0.2231436 + 0.0223144 = 0.2454579
    chosen = torch.log(t(0.5, 0.8))
    rejected = torch.log(t(0.2, 0.5))
    out = orpo_loss(chosen, rejected, -chosen, lam=0.1)
    torch.testing.assert_close(out, t(0.7154615356913663, 0.2454579064456307))


def test_log_odds_is_stable_near_zero_in_float32() -> None:
    # log odds(a) = a - log(1 - e^a). At a = -1e-6: 1 - e^a = 9.999995e-7, so log odds = 13.8155101
    # (float64 reference). The naive float32 formula loses 5% of 1 - e^a to cancellation.
    a = torch.tensor([-1e-6], dtype=torch.float32)
    exact = -1e-6 - math.log(-math.expm1(-1e-6))
    assert log_odds(a).item() == pytest.approx(exact, rel=1e-6)
    naive = (a - torch.log(1 - torch.exp(a))).item()
    assert abs(naive - exact) > 1e-3  # the stable form is what makes the difference


def test_log_odds_at_probability_one_is_finite_with_finite_gradient() -> None:
    a = torch.tensor([0.0, -1e-30], dtype=torch.float32, requires_grad=True)
    out = log_odds(a)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(a.grad).all()
    # clamped to -eps: -eps - log(eps) ~ 15.94 in float32
    eps = torch.finfo(torch.float32).eps
    assert out[0].item() == pytest.approx(-eps - math.log(eps), rel=1e-5)


def test_log_odds_for_very_negative_log_probs() -> None:
    # e^a underflows: log(1 - e^a) -> 0 and log odds -> a.
    a = t(-100.0, -1e4)
    torch.testing.assert_close(log_odds(a), a)
    assert torch.isfinite(log_odds(a.float())).all()


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-60.0, max_value=-1e-12))
def test_log1mexp_matches_high_precision_reference(a: float) -> None:
    # Neither float64 formula alone is accurate over the whole range (that is the point of switching),
    # so the reference is 50-digit arithmetic.
    with mpmath.workdps(50):
        expected = float(mpmath.log(1 - mpmath.exp(mpmath.mpf(a))))
    assert log1mexp(t(a)).item() == pytest.approx(expected, rel=1e-13)


@settings(max_examples=40, deadline=None)
@given(st.floats(-5, 0), st.floats(-5, 0), st.floats(0.01, 5))
def test_pairwise_losses_are_positive_and_fall_with_the_margin(
    chosen: float, rejected: float, beta: float
) -> None:
    # Raising the chosen log-prob never raises any pairwise loss.
    lower, higher = t(chosen - 0.5), t(chosen)
    r = t(rejected)
    assert (simpo_loss(higher, r, beta, 0.5) <= simpo_loss(lower, r, beta, 0.5)).all()
    assert (dpo_loss(higher, r, t(0.0), t(0.0), beta) <= dpo_loss(lower, r, t(0.0), t(0.0), beta)).all()
    assert (dpo_loss(higher, r, t(0.0), t(0.0), beta) > 0).all()
