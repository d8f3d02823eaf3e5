"""RAD-DPO's global contrast as cited (the S-DPO form): golden values, masks, weights, stability, gradients,
and the ``raddpo-sdpo`` variants' objective on the hand batch.

L = -log sigmoid(-log S) = log(1 + S), S = sum_j w_j exp(beta (r_j - r_w)): the golden values below use
the right-hand form."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import ConfigError
from benchmark.methods import get_method
from raddpo.loss import global_contrast_loss, softmax_contrast_loss
from raddpo.method import CITED, PRINTED, RadDpoConfig, raddpo_objective
from tests.methods.batches import hand_batch


def t(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def naive(pos: float, negs: list[float], weights: list[float], beta: float) -> float:
    """The cited formula term by term: -log sigmoid(-log sum_j w_j exp(beta (neg_j - pos)))."""
    s = sum(w * math.exp(beta * (n - pos)) for n, w in zip(negs, weights))
    return -math.log(1.0 / (1.0 + math.exp(math.log(s))))


def test_golden_two_negatives_weighted() -> None:
    # pos -1, negs (-2, -3), weights (1, 0.5):
    #   beta 1: S = 1 * e^(-2+1) + 0.5 * e^(-3+1) = 0.3678794 + 0.0676676 = 0.4355471 -> log(1.4355471) = 0.3615460
    #   beta 2: S = e^-2 + 0.5 * e^-4 = 0.1353353 + 0.0091578 = 0.1444931 -> log(1.1444931) = 0.1349618
    pos, negs, w, mask = t(-1.0), t([-2.0, -3.0]), t([1.0, 0.5]), torch.tensor([[True, True]])
    torch.testing.assert_close(softmax_contrast_loss(pos, negs, w, mask, beta=1.0), t(0.36154601891937466))
    torch.testing.assert_close(softmax_contrast_loss(pos, negs, w, mask, beta=2.0), t(0.13496183390126318))


def test_golden_equal_rewards_start_at_log_one_plus_n() -> None:
    # 9 negatives with r_j = r_w, w = 1: S = 9 -> log 10 = 2.3025851 whatever beta (the printed reading starts
    # at log(1 + 1/9) = 0.1053605 at beta 1).
    out = softmax_contrast_loss(t(-1.0), t([-1.0] * 9), t([1.0] * 9), torch.ones(1, 9, dtype=torch.bool), beta=3.0)
    torch.testing.assert_close(out, t(math.log(10.0)))


def test_single_unit_negative_at_beta_one_equals_the_printed_reading() -> None:
    # One negative, w = 1, beta 1: both are log(1 + e^(r_j - r_w)) = log(1 + e^-0.75) = 0.3868710.
    args = (t(-0.25), t([-1.0]), t([1.0]), torch.tensor([[True]]))
    torch.testing.assert_close(softmax_contrast_loss(*args, beta=1.0), t(0.3868710061149))
    torch.testing.assert_close(global_contrast_loss(*args, beta=1.0), t(0.3868710061149))


def test_masks_zero_weights_and_rows_without_negatives() -> None:
    # Row 0 masks the third negative, which would dominate (e^(100 + 1)) if it were counted; row 1 excludes it
    # by a zero weight; row 2 has no negative at all: loss 0 and no gradient.
    pos = t(-1.0, -1.0, -1.0).requires_grad_()
    negs = t([-2.0, -3.0, 100.0], [-2.0, -3.0, 100.0], [-2.0, -3.0, 100.0]).requires_grad_()
    w = t([1.0, 0.5, 1.0], [1.0, 0.5, 0.0], [1.0, 1.0, 1.0])
    mask = torch.tensor([[True, True, False], [True, True, True], [False, False, False]])
    out = softmax_contrast_loss(pos, negs, w, mask, beta=1.0)
    torch.testing.assert_close(out, t(0.36154601891937466, 0.36154601891937466, 0.0))
    out.sum().backward()
    assert torch.isfinite(pos.grad).all() and torch.isfinite(negs.grad).all()
    assert pos.grad[2].item() == 0.0 and negs.grad[2].tolist() == [0.0, 0.0, 0.0]
    assert negs.grad[:2, 2].tolist() == [0.0, 0.0] and (pos.grad[:2] < 0).all()


def test_finite_for_large_margins() -> None:
    pos = t(0.0, 0.0).requires_grad_()
    negs = t([-1000.0, -999.0], [1000.0, 999.0]).requires_grad_()
    out = softmax_contrast_loss(pos, negs, t([1.0, 0.5], [1.0, 0.5]), torch.ones(2, 2, dtype=torch.bool), beta=1.0)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(negs.grad).all() and torch.isfinite(pos.grad).all()
    assert out[0].item() == pytest.approx(0.0, abs=1e-300)  # every negative far below y_w*: no loss
    # S = e^1000 + 0.5 e^999 = e^999 (e + 0.5): log(1 + S) = 999 + log(e + 0.5) to double precision
    assert out[1].item() == pytest.approx(999.0 + math.log(math.e + 0.5), rel=1e-12)


def test_float32_large_values_stay_finite() -> None:
    out = softmax_contrast_loss(torch.tensor([0.0]), torch.tensor([[-200.0, 150.0]]), torch.tensor([[1.0, 1.0]]),
                                torch.tensor([[True, True]]), beta=2.0)
    assert torch.isfinite(out).all()


def test_hardest_negative_gets_most_gradient() -> None:
    # The opposite of the printed reading: d L / d r_j = softmax weight of j, largest for the highest r_j.
    negs = t([-1.0, -4.0]).requires_grad_()
    softmax_contrast_loss(t(-0.5), negs, t([1.0, 1.0]), torch.tensor([[True, True]]), beta=1.0).sum().backward()
    grad = negs.grad[0]
    assert (grad > 0).all() and grad[0] > grad[1]


reals = st.floats(-3.0, 3.0)


@settings(max_examples=60, deadline=None)
@given(pos=reals, negs=st.lists(reals, min_size=1, max_size=6), data=st.data(), beta=st.floats(0.05, 3.0))
def test_equals_naive_formula_on_small_values(pos: float, negs: list[float], data, beta: float) -> None:
    weights = data.draw(st.lists(st.floats(0.5, 1.0), min_size=len(negs), max_size=len(negs)))
    n = len(negs)
    padded = softmax_contrast_loss(t(pos), t(negs + [9.0]), t(weights + [1.0]),
                                   torch.tensor([[True] * n + [False]]), beta=beta)
    assert padded.item() == pytest.approx(naive(pos, negs, weights, beta), rel=1e-9, abs=1e-12)


# ------------------------------------------------------------------------------------- the registered variants
def test_cited_variants_run_the_one_objective_with_the_cited_contrast() -> None:
    names = ("raddpo-sdpo", "raddpo-sdpo-no-tlgd", "raddpo-sdpo-no-rdrw", "raddpo-sdpo-no-mlsft")
    for name in names:
        method = get_method(name)
        assert method.objective is raddpo_objective and method.config_cls.CONTRAST == CITED, name
        printed = get_method(name.replace("-sdpo", ""))
        assert printed.config_cls.CONTRAST == PRINTED
        assert method.needs_hidden == printed.needs_hidden and method.needs_reference is False
        # the same fields, hence the same settings and search space: only the contrast differs
        assert dataclasses.asdict(method.config_cls()) == dataclasses.asdict(printed.config_cls())


def test_raddpo_sdpo_without_rdrw_golden() -> None:
    # Hand batch (tests/methods/batches.py), beta 1, w = 1, r = per-token average log-prob.
    # imp. 0: r_w = -0.5, negatives -1.5 and -2: S = e^-1 + e^-1.5 = 0.3678794 + 0.2231302 = 0.5910096
    #         L_PL = log(1.5910096) = 0.4643688 ; L_SFT (both positives) = 1.5
    # imp. 1: r_w = -0.25, negative -1: S = e^-0.75 = 0.4723666 -> log(1.4723666) = 0.3868710 ; L_SFT = 0.5
    method = get_method("raddpo-sdpo-no-rdrw")
    losses, diag = method.objective(hand_batch(), method.config_cls(), None)
    torch.testing.assert_close(
        losses, torch.tensor([1.5 + 0.4643687841079448, 0.5 + 0.38687100611489994], dtype=torch.float64)
    )
    assert diag["pl"] == pytest.approx((0.4643687841079448 + 0.38687100611489994) / 2)


def test_raddpo_sdpo_with_rdrw_weights_golden() -> None:
    # Anchors as in test_objectives: imp. 0 c2 gets w = 0.5, c3 w = 1; imp. 1 c0 w = 1.
    # imp. 0: S = 0.5 e^-1 + e^-1.5 = 0.1839397 + 0.2231302 = 0.4070699 -> log(1.4070699) = 0.3415094 ; + 1.5
    method = get_method("raddpo-sdpo")
    config = method.config_cls(cache_size=4)
    tracker = method.make_state(config)
    tracker.observe([0.0, 0.2, 0.4, 0.6])
    losses, _ = method.objective(hand_batch(), config, tracker)
    torch.testing.assert_close(
        losses, torch.tensor([1.5 + 0.3415094433766326, 0.5 + 0.38687100611489994], dtype=torch.float64)
    )


def test_cited_ablations_fix_their_flags() -> None:
    with pytest.raises(ConfigError, match=r"The 'rdrw' parameter of RadDpoSdpoNoRdrwConfig must be one of "
                                          r"\[False\]\. Got True instead\."):
        get_method("raddpo-sdpo-no-rdrw").config_cls(rdrw=True)
    assert RadDpoConfig.CONTRAST == PRINTED
