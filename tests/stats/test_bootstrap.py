"""Percentile bootstrap CI: coverage of the mean, determinism, agreement with normal theory and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from benchmark.errors import BenchmarkError, ConfigError
from benchmark.stats import bootstrap_ci


def test_contains_the_mean_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    x = rng.random(300)
    ci = bootstrap_ci(x, n_resamples=2000, seed=4)
    assert ci.low < x.mean() < ci.high
    assert ci.estimate == pytest.approx(x.mean())
    assert ci == bootstrap_ci(x.copy(), n_resamples=2000, seed=4)
    assert ci != bootstrap_ci(x, n_resamples=2000, seed=5)


def test_close_to_normal_theory_and_scipy() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.3, 1.0, size=400)
    ci = bootstrap_ci(x, n_resamples=10000, seed=0)
    half = 1.959964 * x.std(ddof=1) / math.sqrt(len(x))   # ~0.098
    assert ci.low == pytest.approx(x.mean() - half, abs=0.01)
    assert ci.high == pytest.approx(x.mean() + half, abs=0.01)
    reference = sps.bootstrap((x,), np.mean, n_resamples=10000, method="percentile", rng=np.random.default_rng(0))
    assert ci.low == pytest.approx(reference.confidence_interval.low, abs=0.01)
    assert ci.high == pytest.approx(reference.confidence_interval.high, abs=0.01)


def test_paired_form_is_the_ci_of_differences() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.random(50), rng.random(50)
    assert bootstrap_ci(a, b, n_resamples=500, seed=1) == bootstrap_ci(a - b, n_resamples=500, seed=1)


def test_wider_at_higher_confidence() -> None:
    x = np.random.default_rng(3).random(100)
    ci90 = bootstrap_ci(x, n_resamples=3000, confidence=0.9, seed=0)
    ci99 = bootstrap_ci(x, n_resamples=3000, confidence=0.99, seed=0)
    assert ci99.low < ci90.low and ci90.high < ci99.high


def test_constant_data_give_a_point_interval() -> None:
    ci = bootstrap_ci([0.25] * 20, n_resamples=100)
    assert ci.low == ci.high == ci.estimate == 0.25


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match=r"'confidence' parameter of bootstrap_ci must be a float in the range \(0, 1\)"):
        bootstrap_ci([1.0, 2.0], confidence=1.0)
    with pytest.raises(ConfigError, match=r"'n_resamples'"):
        bootstrap_ci([1.0, 2.0], n_resamples=0)
    with pytest.raises(BenchmarkError, match=r"same queries"):
        bootstrap_ci([1.0, 2.0], [1.0])
