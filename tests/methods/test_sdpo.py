"""S-DPO (softmax DPO, Chen et al. 2024): golden values by hand, masks, no-negative rows, gradients, the
reduction to DPO with one negative, and a property test against the formula written out term by term."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines import SdpoConfig, dpo_loss, sdpo_loss
from benchmark.errors import ConfigError
from benchmark.methods import get_method
from tests.methods.batches import hand_batch


def t(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def naive(pi_w: float, pi_neg: list[float], ref_w: float, ref_neg: list[float], beta: float) -> float:
    """-log sigmoid(-log sum_j exp(beta ((pi_j - ref_j) - (pi_w - ref_w)))), term by term."""
    s = sum(math.exp(beta * ((p - r) - (pi_w - ref_w))) for p, r in zip(pi_neg, ref_neg))
    return -math.log(1.0 / (1.0 + math.exp(math.log(s))))


def test_golden_two_negatives() -> None:
    # pi_w -1, ref_w -2 -> r_w = 1; negatives (pi, ref) = (-3, -2) -> r = -1 and (-4, -5) -> r = 1.
    #   beta 1:   S = e^(-1-1) + e^(1-1) = 0.1353353 + 1 = 1.1353353 -> log(2.1353353) = 0.7586237
    #   beta 0.5: S = e^-1 + e^0 = 1.3678794 -> log(2.3678794) = 0.8619948
    args = (t(-1.0), t([-3.0, -4.0]), t(-2.0), t([-2.0, -5.0]), torch.tensor([[True, True]]))
    torch.testing.assert_close(sdpo_loss(*args, beta=1.0), t(0.7586236756795135))
    torch.testing.assert_close(sdpo_loss(*args, beta=0.5), t(0.861994804058251))


def test_one_negative_is_dpo() -> None:
    # margin (pi_w - ref_w) - (pi_l - ref_l) = (-1 + 2) - (-3 + 2) = 2, beta 0.1 -> log(1 + e^-0.2) = 0.5981389
    out = sdpo_loss(t(-1.0), t([-3.0]), t(-2.0), t([-2.0]), torch.tensor([[True]]), beta=0.1)
    torch.testing.assert_close(out, t(0.5981388693815918))
    torch.testing.assert_close(out, dpo_loss(t(-1.0), t(-3.0), t(-2.0), t(-2.0), beta=0.1))


def test_masked_negatives_and_rows_without_negatives() -> None:
    # Row 0: the masked third negative (r = 100 - 0) would dominate; row 1 has no negative: loss 0, gradient 0.
    policy_pos = t(-1.0, -1.0).requires_grad_()
    policy_neg = t([-3.0, -4.0, 100.0], [-3.0, -4.0, 100.0]).requires_grad_()
    ref_pos, ref_neg = t(-2.0, -2.0), t([-2.0, -5.0, 0.0], [-2.0, -5.0, 0.0])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    out = sdpo_loss(policy_pos, policy_neg, ref_pos, ref_neg, mask, beta=1.0)
    torch.testing.assert_close(out, t(0.7586236756795135, 0.0))
    out.sum().backward()
    assert torch.isfinite(policy_pos.grad).all() and torch.isfinite(policy_neg.grad).all()
    assert policy_pos.grad[1].item() == 0.0 and policy_neg.grad[1].tolist() == [0.0, 0.0, 0.0]
    assert policy_neg.grad[0, 2].item() == 0.0 and policy_pos.grad[0].item() < 0  # push y_w up


def test_finite_for_large_margins() -> None:
    policy_pos = t(0.0, 0.0).requires_grad_()
    policy_neg = t([-900.0, -800.0], [900.0, 800.0]).requires_grad_()
    zeros = t([0.0, 0.0], [0.0, 0.0])
    out = sdpo_loss(policy_pos, policy_neg, t(0.0, 0.0), zeros, torch.ones(2, 2, dtype=torch.bool), beta=1.0)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(policy_neg.grad).all()
    assert out[0].item() == pytest.approx(0.0, abs=1e-300)
    assert out[1].item() == pytest.approx(900.0, rel=1e-12)  # log(1 + e^900 + e^800) = 900 + O(e^-100)


@settings(max_examples=60, deadline=None)
@given(
    pi_w=st.floats(-6.0, 0.0), ref_w=st.floats(-6.0, 0.0), data=st.data(), beta=st.floats(0.05, 3.0),
    n=st.integers(1, 6),
)
def test_equals_naive_formula(pi_w: float, ref_w: float, data, beta: float, n: int) -> None:
    logps = st.lists(st.floats(-6.0, 0.0), min_size=n, max_size=n)
    pi_neg, ref_neg = data.draw(logps), data.draw(logps)
    out = sdpo_loss(t(pi_w), t(pi_neg), t(ref_w), t(ref_neg), torch.ones(1, n, dtype=torch.bool), beta=beta)
    assert out.item() == pytest.approx(naive(pi_w, pi_neg, ref_w, ref_neg, beta), rel=1e-9, abs=1e-12)


def test_sdpo_objective_golden() -> None:
    # Hand batch (tests/methods/batches.py), sequence sums. imp. 0: policy y_w* -1, c2 -3, c3 -4; reference
    # y_w* -2, c2 -2, c3 -5 -> exactly test_golden_two_negatives: 0.7586237.
    # imp. 1: policy y_w* -0.5, c0 -2; reference -0.5, -2: all rewards 0 -> S = 1 -> log 2.
    method = get_method("sdpo")
    assert method.needs_reference and not method.needs_hidden and method.make_state is None
    losses, diag = method.objective(hand_batch(), method.config_cls(), None)
    torch.testing.assert_close(losses, t(0.7586236756795135, math.log(2.0)))
    # reward margins r_w - r_j: imp. 0 (1 + 1, 1 - 1) -> mean 1; imp. 1 -> 0; batch mean 0.5
    assert diag["reward_margin"] == pytest.approx(0.5)


def test_sdpo_requires_reference_and_validates_beta() -> None:
    method = get_method("sdpo")
    with pytest.raises(ValueError, match="ref_token_logps"):
        method.objective(hand_batch(with_reference=False), SdpoConfig(), None)
    with pytest.raises(ConfigError, match=r"The 'beta' parameter of SdpoConfig must be a float in the range "
                                          r"\(0, inf\)\. Got 0\.0 instead\."):
        SdpoConfig(beta=0.0)
