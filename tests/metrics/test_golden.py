"""Hand-computed values of every metric on a few queries; the arithmetic is in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.metrics import hallucination_rate, hit_rate_at_k, mrr, recall_at_k

# q0: relevant {2, 5, 9} found at ranks 2 (id 2) and 5 (id 5); 9 is never ranked.
# q1: 7 is repeated; its duplicate still occupies rank 2, so the relevant 8 sits at rank 3.
# q2: SID-like tuple ids; (0, 2) at rank 2; (1, 1) never ranked.
# q3: the relevant 4 repeated three times counts once, at rank 1.
RANKED = [[1, 2, 3, 4, 5], [7, 7, 8], [(0, 1), (0, 2)], [4, 4, 4]]
RELEVANT = [{2, 5, 9}, {8}, {(0, 2), (1, 1)}, {4}]


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, [0.0, 0.0, 0.0, 1.0]),          # q3: 1/1 (not 3/1: duplicates count once)
        (2, [1 / 3, 0.0, 1 / 2, 1.0]),      # q0: {2} of 3; q1: 8 is at rank 3; q2: {(0,2)} of 2
        (3, [1 / 3, 1.0, 1 / 2, 1.0]),      # q1: 8 at rank 3 -> 1/1
        (5, [2 / 3, 1.0, 1 / 2, 1.0]),      # q0: {2, 5} of 3
        (100, [2 / 3, 1.0, 1 / 2, 1.0]),    # a cutoff past the list scores what the list has
    ],
)
def test_recall_golden(k: int, expected: list[float]) -> None:
    np.testing.assert_allclose(recall_at_k(RANKED, RELEVANT, k), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, [0.0, 0.0, 0.0, 1.0]),   # only q3 has a relevant id at rank 1
        (2, [1.0, 0.0, 1.0, 1.0]),   # q0 (rank 2), q2 (rank 2); q1's first relevant is at rank 3
        (3, [1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_hit_rate_golden(k: int, expected: list[float]) -> None:
    np.testing.assert_array_equal(hit_rate_at_k(RANKED, RELEVANT, k), expected)


def test_mrr_golden() -> None:
    ranked = RANKED + [[1, 2], []]
    relevant = RELEVANT + [{3}, {1}]
    # first relevant ranks: q0 2, q1 3, q2 2, q3 1, q4 none -> 0, q5 empty ranking -> 0
    expected = [1 / 2, 1 / 3, 1 / 2, 1.0, 0.0, 0.0]
    np.testing.assert_allclose(mrr(ranked, relevant), expected, rtol=0, atol=1e-15)


def test_metrics_return_float_arrays_of_shape_q() -> None:
    for values in (recall_at_k(RANKED, RELEVANT, 3), hit_rate_at_k(RANKED, RELEVANT, 3), mrr(RANKED, RELEVANT)):
        assert isinstance(values, np.ndarray)
        assert values.shape == (4,)
        assert values.dtype == np.float64


def test_no_queries_give_empty_arrays() -> None:
    assert recall_at_k([], [], 5).shape == (0,)
    assert mrr([], []).shape == (0,)
    assert hallucination_rate([]).shape == (0,)


def test_numpy_rankings_are_accepted() -> None:
    # decoding may hand over numpy item arrays; np.int64 ids hash and compare like ints
    ranked = [np.array([5, 3, 9]), np.array([1])]
    np.testing.assert_allclose(recall_at_k(ranked, [{3, 9}, {2}], 2), [0.5, 0.0])


VALID = [[True, False, False, True], [False, True], [], [True]]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (None, [2 / 4, 1 / 2, 0.0, 0.0]),   # q0: 2 invalid of 4; q2: zero beams -> 0.0 by definition
        (1, [0.0, 1.0, 0.0, 0.0]),          # rank-1 beam only: q1's first beam is invalid
        (3, [2 / 3, 1 / 2, 0.0, 0.0]),      # q0: beams 1-3 -> 2 invalid of 3; q1 has only 2 beams
    ],
)
def test_hallucination_golden(at: int | None, expected: list[float]) -> None:
    np.testing.assert_allclose(hallucination_rate(VALID, at=at), expected, rtol=0, atol=1e-15)


def test_hallucination_accepts_numpy_bools() -> None:
    np.testing.assert_allclose(hallucination_rate([np.array([True, False])]), [0.5])
