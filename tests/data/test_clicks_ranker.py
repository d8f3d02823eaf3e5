"""The position-based click model and the production-ranker proxy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.data import ClickConfig, RankerConfig
from benchmark.data.canonical import make_items
from benchmark.data.clicks import click_probabilities, examination, simulate_clicks
from benchmark.data.queries import build_queries
from benchmark.data.ranker import expose


def test_examination_golden() -> None:
    np.testing.assert_allclose(examination(3, 1.0), [1.0, 0.5, 1 / 3])
    np.testing.assert_allclose(examination(3, 2.0), [1.0, 0.25, 1 / 9])
    np.testing.assert_allclose(examination(4, 0.0), [1.0, 1.0, 1.0, 1.0])


@settings(max_examples=50, deadline=None)
@given(k=st.integers(2, 30), eta=st.floats(0.01, 4.0))
def test_examination_falls_with_rank_for_positive_eta(k: int, eta: float) -> None:
    theta = examination(k, eta)
    assert theta[0] == 1.0 and np.all(np.diff(theta) < 0) and np.all(theta > 0)


def test_click_probabilities_golden() -> None:
    config = ClickConfig(exposure_k=3, eta=1.0, noise_floor=0.1, relevant_click_prob=0.6)
    grades = np.array([[1, 0, 2], [0, 1, -1]])
    np.testing.assert_allclose(click_probabilities(grades, config), [[0.6, 0.05, 1.0], [0.1, 0.3, 0.0]])


@settings(max_examples=15, deadline=None)
@given(eta=st.floats(0.5, 2.0), seed=st.integers(0, 2**16))
def test_click_rate_falls_with_rank_for_eta_positive(eta: float, seed: int) -> None:
    k, n = 5, 20_000
    grades = np.ones((n, k), dtype=np.int8)
    clicks = simulate_clicks(grades, ClickConfig(exposure_k=k, eta=eta), np.random.default_rng(seed))
    rate = clicks.mean(axis=0)
    expected = 0.6 * examination(k, eta)
    # Within 5 binomial standard errors of theta_k * p(grade 1), hence decreasing with rank.
    assert np.all(np.abs(rate - expected) < 5 * np.sqrt(expected * (1 - expected) / n))
    assert np.all(np.diff(rate) < 0)


def test_eta_zero_makes_click_rate_flat() -> None:
    n, k = 40_000, 10
    grades = np.zeros((n, k), dtype=np.int8)
    config = ClickConfig(exposure_k=k, eta=0.0, noise_floor=0.2, relevant_click_prob=0.6)
    rate = simulate_clicks(grades, config, np.random.default_rng(0)).mean(axis=0)
    assert np.all(np.abs(rate - 0.2) < 5 * np.sqrt(0.2 * 0.8 / n))


def test_ordered_item_always_clicked_and_padding_never() -> None:
    grades = np.tile(np.array([[0, 1, 0, 0, 0, 0, 0, 0, 0, 2, -1, -1]], dtype=np.int8), (5000, 1))
    clicks = simulate_clicks(grades, ClickConfig(exposure_k=12, eta=3.0), np.random.default_rng(1))
    assert clicks[:, 9].all() and not clicks[:, 10:].any()
    assert set(np.unique(clicks)) <= {0, 1}


def test_same_seed_same_clicks() -> None:
    grades = np.random.default_rng(0).integers(0, 3, (100, 10)).astype(np.int8)
    a = simulate_clicks(grades, ClickConfig(), np.random.default_rng(7))
    b = simulate_clicks(grades, ClickConfig(), np.random.default_rng(7))
    assert np.array_equal(a, b)


@pytest.fixture(scope="module")
def catalog():
    cats = [f"Store > Dept{d} > Leaf{d}{leaf}" for d in range(3) for leaf in range(4) for _ in range(5)]  # 60 items
    items = make_items([str(i) for i in range(60)], categories=cats)
    return build_queries(items, min_positives=3, max_query_words=4, max_term_items=100, seed=0)


def test_ranker_exposes_the_ordered_item_and_distinct_items(catalog) -> None:
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 60, 3000)
    queries = catalog.choose(targets, rng)
    popularity = np.bincount(targets, minlength=60)
    out = expose(targets, queries, catalog, popularity, RankerConfig(), 10, rng)
    assert out.items.shape == (3000, 10) and (out.items >= 0).all()
    assert all(len(set(row)) == 10 for row in out.items.tolist())
    assert ((out.items == targets[:, None]).sum(axis=1) == 1).all()
    np.testing.assert_array_equal(out.grades, catalog.grades(queries, targets, out.items))
    # The pool mixes relevant and irrelevant items.
    assert 0 < (out.grades == 1).mean() < 0.9 and (out.grades == 0).mean() > 0.05


def test_noiseless_ranker_ranks_by_grade(catalog) -> None:
    rng = np.random.default_rng(1)
    targets = rng.integers(0, 60, 500)
    queries = catalog.choose(targets, rng)
    config = RankerConfig(noise_std=0.0, popularity_weight=0.0)
    out = expose(targets, queries, catalog, np.ones(60, dtype=np.int64), config, 8, rng)
    assert (out.items[:, 0] == targets).all() and not out.forced.any()
    assert (np.diff(out.grades.astype(int), axis=1) <= 0).all()


def test_ordered_item_takes_the_last_slot_when_it_misses_the_top_k(catalog) -> None:
    rng = np.random.default_rng(2)
    targets = np.full(400, 7)
    queries = catalog.choose(targets, rng)
    # Relevance counts for nothing and popularity for everything: item 7 is the least popular -> always forced.
    popularity = np.full(60, 100)
    popularity[7] = 0
    config = RankerConfig(relevance_weight=0.0, popularity_weight=5.0, noise_std=0.01)
    out = expose(targets, queries, catalog, popularity, config, 5, rng)
    assert out.forced.all() and (out.items[:, -1] == 7).all() and (out.grades[:, -1] == 2).all()


def test_tiny_catalog_pads_short_lists() -> None:
    items = make_items(["a", "b", "c"], categories=["S > X"] * 3)
    table = build_queries(items, 3, 4, 100, 0)
    targets = np.array([0, 1, 2])
    out = expose(targets, table.choose(targets, np.random.default_rng(0)), table, np.ones(3, dtype=np.int64),
                 RankerConfig(), 10, np.random.default_rng(0))
    assert ((out.items >= 0).sum(axis=1) == 3).all() and (out.grades[:, 3:] == -1).all()
