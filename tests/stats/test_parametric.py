"""Paired t-test and Wilcoxon signed-rank test against scipy and first principles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from benchmark.errors import BenchmarkError
from benchmark.stats import paired_t_test, wilcoxon_test


@pytest.mark.parametrize("seed", range(5))
def test_t_test_matches_scipy_and_the_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random(60)
    b = a + rng.normal(0.03, 0.1, size=60)
    result = paired_t_test(a, b)
    reference = sps.ttest_rel(a, b)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-10)
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    assert result.statistic == pytest.approx(t, rel=1e-10)
    assert result.pvalue == pytest.approx(2 * sps.t.sf(abs(t), df=len(d) - 1), rel=1e-8)
    assert result.n == 60


def test_t_test_golden() -> None:
    # d = [1, 2, 3]: mean 2, sd 1, t = 2 / (1 / sqrt 3) = 2 sqrt 3 ~ 3.4641, df 2
    result = paired_t_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert result.statistic == pytest.approx(2 * math.sqrt(3))
    # two-sided p for t(2): 1 - t / sqrt(t^2 + 2) = 1 - 3.4641 / sqrt(14) ~ 0.07418
    assert result.pvalue == pytest.approx(1 - 2 * math.sqrt(3) / math.sqrt(14), rel=1e-10)


def test_t_test_degenerate_cases() -> None:
    x = np.array([0.25, 0.5, 0.75])   # exactly representable, so x + 0.125 - x is exactly constant
    assert paired_t_test(x, x).pvalue == 1.0 and paired_t_test(x, x).statistic == 0.0
    constant = paired_t_test(x + 0.125, x)
    assert constant.pvalue == 0.0 and constant.statistic == math.inf
    assert paired_t_test(x - 0.125, x).statistic == -math.inf


def test_t_test_needs_two_pairs() -> None:
    with pytest.raises(BenchmarkError, match=r"at least 2"):
        paired_t_test([1.0], [0.0])


def exact_wilcoxon_p(d: np.ndarray) -> tuple[float, float]:
    """(min(W+, W-), two-sided exact p) by enumerating all 2^n signs of the ranks 1..n (no ties)."""
    ranks = sps.rankdata(np.abs(d))
    w_plus = ranks[d > 0].sum()
    n = len(d)
    null = [sum(r for r, s in zip(range(1, n + 1), signs) if s) for signs in itertools.product((0, 1), repeat=n)]
    null = np.array(null, dtype=float)
    lower = np.mean(null <= w_plus)
    upper = np.mean(null >= w_plus)
    total = n * (n + 1) / 2
    return min(w_plus, total - w_plus), min(1.0, 2 * min(lower, upper))


@pytest.mark.parametrize("seed", range(3))
def test_wilcoxon_small_sample_is_the_exact_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random(10)
    b = a + rng.normal(0.2, 0.3, size=10)  # continuous: no ties, no zeros
    stat, p = exact_wilcoxon_p(a - b)
    result = wilcoxon_test(a, b)
    assert result.statistic == stat
    assert result.pvalue == pytest.approx(p, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_wilcoxon_matches_scipy_with_ties_and_zeros(seed: int) -> None:
    # metric-like data: reciprocal ranks with many ties and zero differences
    rng = np.random.default_rng(seed)
    a = 1.0 / rng.integers(1, 6, size=200)
    b = np.where(rng.random(200) < 0.3, a, 1.0 / rng.integers(1, 6, size=200))
    result = wilcoxon_test(a, b)
    reference = sps.wilcoxon(a, b, zero_method="wilcox")
    assert result.statistic == reference.statistic
    assert result.pvalue == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.n == 200


def test_wilcoxon_all_zero_differences() -> None:
    x = np.array([0.1, 0.4, 0.4])
    result = wilcoxon_test(x, x)
    assert result.pvalue == 1.0 and result.statistic == 0.0


def test_wilcoxon_bad_inputs() -> None:
    with pytest.raises(BenchmarkError, match=r"same queries"):
        wilcoxon_test([1.0, 2.0], [1.0])
