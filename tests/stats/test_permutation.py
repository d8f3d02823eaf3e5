"""Paired sign-flip permutation test: exact enumeration, Monte Carlo p, determinism, agreement with t."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from benchmark.errors import BenchmarkError, ConfigError
from benchmark.stats import paired_permutation_test


def brute_force_p(d: np.ndarray) -> float:
    """Share of all 2^n sign vectors whose |mean| is at least the observed |mean| (plain loops)."""
    observed = abs(d.mean())
    hits = 0
    total = 0
    for signs in itertools.product((1.0, -1.0), repeat=len(d)):
        total += 1
        if abs(np.dot(signs, d) / len(d)) >= observed - 1e-12:
            hits += 1
    return hits / total


def test_exact_golden_three_pairs() -> None:
    # d = [1, 2, 3]; the 8 sign sums are +-6, +-4, +-2, +-0 (each once or twice);
    # |sum| >= 6 only for +++ and --- -> p = 2/8
    result = paired_permutation_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert result.exact
    assert result.n == 3
    assert result.n_resamples == 8
    assert result.statistic == pytest.approx(2.0)
    assert result.pvalue == 0.25


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_matches_brute_force_on_eight_pairs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random(8)
    b = a + rng.normal(0.1, 0.2, size=8)
    expected = brute_force_p(a - b)
    result = paired_permutation_test(a, b, n_resamples=10000)
    assert result.exact and result.n_resamples == 256
    assert result.pvalue == pytest.approx(expected, abs=1e-12)


def test_exact_counts_ties_of_metric_values() -> None:
    # metric-like values with exact ties in |sum|: d = [0.5, 0.5, -0.5, 1/3] (sums tie up to rounding)
    d = np.array([0.5, 0.5, -0.5, 1 / 3])
    result = paired_permutation_test(d, np.zeros(4))
    assert result.pvalue == pytest.approx(brute_force_p(d), abs=1e-12)


def test_exact_threshold_is_two_to_the_n() -> None:
    a = np.arange(10, dtype=float)
    assert paired_permutation_test(a, a * 0, n_resamples=1024).exact          # 2^10 = 1024
    assert not paired_permutation_test(a, a * 0, n_resamples=1023).exact


def test_monte_carlo_p_is_count_plus_one_over_resamples_plus_one() -> None:
    # 40 equal positive differences: only the all-+ and all-- sign vectors (probability 2^-39) reach the
    # observed |sum|, so no resample does and p = (0 + 1) / (R + 1)
    result = paired_permutation_test(np.ones(40), np.zeros(40), n_resamples=999)
    assert not result.exact
    assert result.pvalue == 1 / 1000


def test_all_zero_differences_give_p_one() -> None:
    x = np.linspace(0, 1, 50)
    assert paired_permutation_test(x, x).pvalue == 1.0
    assert paired_permutation_test(x[:4], x[:4]).pvalue == 1.0


def test_same_seed_same_p_and_seed_matters() -> None:
    rng = np.random.default_rng(7)
    a = rng.random(300)
    b = a + rng.normal(0.02, 0.2, size=300)
    first = paired_permutation_test(a, b, n_resamples=2000, seed=3)
    again = paired_permutation_test(a.copy(), b.copy(), n_resamples=2000, seed=3)
    assert first == again
    others = {paired_permutation_test(a, b, n_resamples=2000, seed=s).pvalue for s in range(4, 9)}
    assert others - {first.pvalue}


def test_large_sample_agrees_with_t_test() -> None:
    # for n = 1000 the randomization distribution of the mean is close to the t distribution
    rng = np.random.default_rng(11)
    a = rng.normal(0.0, 1.0, size=1000)
    b = a - rng.normal(0.07, 1.0, size=1000)
    perm = paired_permutation_test(a, b, n_resamples=20000, seed=0)
    t = sps.ttest_rel(a, b).pvalue
    assert 0.005 < t < 0.2  # the comparison is only informative away from 0 and 1
    assert perm.pvalue == pytest.approx(t, abs=0.01)


def test_symmetric_in_a_and_b() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.random(100), rng.random(100)
    ab = paired_permutation_test(a, b, n_resamples=500, seed=1)
    ba = paired_permutation_test(b, a, n_resamples=500, seed=1)
    assert ab.pvalue == ba.pvalue
    assert ab.statistic == pytest.approx(-ba.statistic)


def test_runs_at_the_paper_scale() -> None:
    # ~8k test queries, 10k resamples: must stay a vectorised computation (timed in the report, not here)
    rng = np.random.default_rng(0)
    a = (rng.random(8000) < 0.3).astype(float)
    b = (rng.random(8000) < 0.3).astype(float)
    result = paired_permutation_test(a, b)
    assert result.n_resamples == 10000 and 0.0 < result.pvalue <= 1.0


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([1.0, 2.0], [1.0], r"same queries; got 2 and 1"),
        ([1.0, np.nan], [1.0, 2.0], r"'a' must be finite; entry 1"),
        ([], [], r"needs at least 1"),
        ([[1.0]], [[1.0]], r"must be 1-D"),
    ],
)
def test_bad_inputs(a, b, match) -> None:
    with pytest.raises(BenchmarkError, match=match):
        paired_permutation_test(a, b)


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match=r"'n_resamples' parameter of paired_permutation_test"):
        paired_permutation_test([1.0], [0.0], n_resamples=0)
    with pytest.raises(ConfigError, match=r"'seed' parameter of paired_permutation_test"):
        paired_permutation_test([1.0], [0.0], seed=-1)
