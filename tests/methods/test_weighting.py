"""RDRW (paper section 2.3): eq. 6 at its boundaries, eq. 5 similarity, and the quartile tracker's
warm-up / ring-buffer / refresh schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import ConfigError
from raddpo import QuartileTracker, pair_similarity, reward_weight

Q = (0.2, 0.4, 0.6)


def w(sim: float, lam: float = 12.0) -> float:
    return reward_weight(torch.tensor([sim], dtype=torch.float64), *Q, lam=lam).item()


def test_eq6_at_its_boundaries() -> None:
    # Q25 = 0.2, Q50 = 0.4, Q75 = 0.6, lambda = 12
    assert w(0.1) == 1.0  # below Q25: full penalty
    assert w(0.19999) == 1.0
    # at Q25 (middle branch, inclusive): 0.5 + 0.5 / (1 + e^(12 * (0.2 - 0.4))) = 0.5 + 0.5 / (1 + e^-2.4)
    #   = 0.5 + 0.5 / 1.0907180 = 0.9584137
    assert w(0.2) == pytest.approx(0.9584136517530388, rel=1e-12)
    # at Q50: 0.5 + 0.5 / (1 + e^0) = 0.75
    assert w(0.4) == pytest.approx(0.75, rel=1e-12)
    # at Q75 (inclusive): 0.5 + 0.5 / (1 + e^2.4) = 0.5 + 0.5 / 12.0231764 = 0.5415863
    assert w(0.6) == pytest.approx(0.5415863482469612, rel=1e-12)
    assert w(0.60001) == 0.5  # above Q75: half penalty
    assert w(0.99) == 0.5


def test_eq6_keeps_shape_and_accepts_degenerate_anchors() -> None:
    sims = torch.tensor([[0.0, 0.5], [0.5, 1.0]])
    out = reward_weight(sims, 0.5, 0.5, 0.5)
    # all anchors 0.5: below -> 1, at -> 0.75, above -> 0.5
    assert out.shape == (2, 2) and out.tolist() == [[1.0, 0.75], [0.75, 0.5]]


def test_eq6_rejects_unordered_anchors_and_negative_lambda() -> None:
    with pytest.raises(ConfigError, match="q25 <= q50 <= q75"):
        reward_weight(torch.zeros(1), 0.5, 0.4, 0.6)
    with pytest.raises(
        ConfigError,
        match=r"The 'lam' parameter of reward_weight must be a float in the range \[0, inf\)\. Got -1",
    ):
        reward_weight(torch.zeros(1), 0.2, 0.4, 0.6, lam=-1.0)


anchors = st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3).map(sorted)


@settings(max_examples=100, deadline=None)
@given(q=anchors, a=st.floats(-1.0, 1.0), b=st.floats(-1.0, 1.0), lam=st.floats(0.0, 50.0))
def test_eq6_is_non_increasing_and_in_half_to_one(q: list[float], a: float, b: float, lam: float) -> None:
    lo, hi = sorted((a, b))
    wl, wh = reward_weight(torch.tensor([lo, hi], dtype=torch.float64), *q, lam=lam).tolist()
    assert wl >= wh
    assert 0.5 <= wh <= wl <= 1.0


def test_pair_similarity_is_cosine_with_top_positive() -> None:
    hidden = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 2.0], [-3.0, 0.0]]], requires_grad=True)
    sims = pair_similarity(hidden, torch.tensor([0]))
    # cos([1,0],[1,1]) = 1/sqrt2; cos([1,0],[0,2]) = 0; cos([1,0],[-3,0]) = -1
    torch.testing.assert_close(sims, torch.tensor([[1.0, 1 / math.sqrt(2), 0.0, -1.0]]))
    assert not sims.requires_grad  # weights never carry gradient


def test_pair_similarity_uses_each_rows_top() -> None:
    hidden = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    sims = pair_similarity(hidden, torch.tensor([0, 1]))
    assert sims.tolist() == [[1.0, 0.0], [0.0, 1.0]]


# ------------------------------------------------------------------------------------- quartile tracker
def test_tracker_weights_are_one_until_the_cache_is_full_then_use_its_quartiles() -> None:
    values = np.linspace(0.0, 0.9, 10)  # 0.0, 0.1, ..., 0.9
    tracker = QuartileTracker(capacity=8, update_every=2)
    probe = torch.tensor([0.0, 0.35, 0.95])
    tracker.observe(values[:5])  # 5 of 8: still warming up
    assert not tracker.ready and tracker.anchors is None
    assert tracker.weights(probe).tolist() == [1.0, 1.0, 1.0]
    tracker.observe(values[5:])  # 10 pairs: the cache fills at pair 8
    assert tracker.ready
    # anchors from exactly the first 8 pairs (0.0..0.7): numpy linear quantiles 0.175, 0.35, 0.525
    np.testing.assert_allclose(tracker.anchors, np.quantile(values[:8], [0.25, 0.5, 0.75]))
    np.testing.assert_allclose(tracker.anchors, [0.175, 0.35, 0.525])
    # the two pairs past the warm-up entered the ring buffer, evicting the two oldest
    np.testing.assert_allclose(tracker.cache(), values[2:10])
    torch.testing.assert_close(tracker.weights(probe), reward_weight(probe, 0.175, 0.35, 0.525))
    assert tracker.weights(probe)[1].item() == pytest.approx(0.75)


def test_tracker_refreshes_every_update_every_steps_from_the_most_recent_pairs() -> None:
    tracker = QuartileTracker(capacity=4, update_every=3)
    tracker.observe([0.0, 0.1, 0.2, 0.3])  # step 1: warm-up done, anchors of [0, .1, .2, .3]
    first = tracker.anchors
    np.testing.assert_allclose(first, [0.075, 0.15, 0.225])
    tracker.observe([0.9])  # step 2
    tracker.observe([0.8])  # step 3: 2 steps since refresh, anchors unchanged
    assert tracker.anchors == first
    tracker.observe([0.7])  # step 4: 3 steps since refresh -> recompute from the last 4 pairs
    np.testing.assert_allclose(tracker.cache(), [0.3, 0.9, 0.8, 0.7])
    np.testing.assert_allclose(tracker.anchors, np.quantile([0.3, 0.9, 0.8, 0.7], [0.25, 0.5, 0.75]))
    assert tracker.last_refresh == 4 and tracker.steps == 4
    tracker.observe([0.1, 0.1])  # step 5: no refresh
    np.testing.assert_allclose(tracker.anchors, np.quantile([0.3, 0.9, 0.8, 0.7], [0.25, 0.5, 0.75]))


def test_tracker_batch_larger_than_the_cache() -> None:
    tracker = QuartileTracker(capacity=4, update_every=10)
    values = np.arange(10, dtype=float)
    tracker.observe(torch.tensor(values))
    np.testing.assert_allclose(tracker.anchors, np.quantile(values[:4], [0.25, 0.5, 0.75]))
    np.testing.assert_allclose(tracker.cache(), values[-4:])
    assert tracker.pairs_seen == 10


def test_tracker_state_dict_round_trip_resumes_identically() -> None:
    rng = np.random.default_rng(0)
    batches = [rng.uniform(-1, 1, size=rng.integers(1, 6)) for _ in range(12)]
    a = QuartileTracker(capacity=7, update_every=2)
    for batch in batches[:6]:
        a.observe(batch)
    b = QuartileTracker(capacity=7, update_every=2)
    b.load_state_dict(a.state_dict())
    for batch in batches[6:]:
        a.observe(batch)
        b.observe(batch)
        assert a.anchors == b.anchors
    np.testing.assert_array_equal(a.cache(), b.cache())
    with pytest.raises(ConfigError, match="capacity"):
        QuartileTracker(capacity=8).load_state_dict(a.state_dict())


def test_tracker_gathers_through_its_hook() -> None:
    # Under torch.distributed the hook concatenates every rank's pairs; here a fake "other rank" adds +1.
    tracker = QuartileTracker(capacity=4, update_every=1, gather=lambda v: np.concatenate([v, v + 1.0]))
    tracker.observe([0.0, 0.5])
    np.testing.assert_allclose(tracker.cache(), [0.0, 0.5, 1.0, 1.5])
    assert tracker.ready and tracker.pairs_seen == 4


def test_tracker_validates_its_parameters() -> None:
    with pytest.raises(ConfigError, match=r"The 'capacity' parameter of QuartileTracker must be an int"):
        QuartileTracker(capacity=0)
    with pytest.raises(ConfigError, match="update_every"):
        QuartileTracker(update_every=1.5)
