"""Cluster-aware sign-flip test (rows sharing a query string flip together) and the test across seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from benchmark.errors import BenchmarkError
from benchmark.stats import (
    PermutationResult,
    align_labels,
    compare_family,
    holm,
    paired_permutation_test,
    seed_level_test,
)


def brute_force_cluster_p(d: list[float], labels: list[object]) -> float:
    """Share of all 2^C cluster sign vectors whose |sum_c s_c D_c| reaches |sum d| (plain Python loops)."""
    sums: dict[object, float] = {}
    for value, label in zip(d, labels):
        sums[label] = sums.get(label, 0.0) + value
    observed = abs(sum(d))
    hits = total = 0
    for signs in itertools.product((1.0, -1.0), repeat=len(sums)):
        total += 1
        if abs(sum(s * c for s, c in zip(signs, sums.values()))) >= observed - 1e-12:
            hits += 1
    return hits / total


def test_exact_golden_six_rows_three_clusters() -> None:
    # interleaved clusters: q1 = 1.5 + 0.5 = 2, q2 = -0.25 - 0.75 = -1, q3 = 0.25 + 0.75 = 1; observed sum 2.
    # The 8 sign sums of (2, -1, 1) are 2, 0, 4, 2, -2, -4, 0, -2: |sum| >= 2 for 6 of them -> p = 6/8
    d = [1.5, -0.25, 0.25, 0.5, -0.75, 0.75]
    labels = ["q1", "q2", "q3", "q1", "q2", "q3"]
    result = paired_permutation_test(d, np.zeros(6), clusters=labels)
    assert result.exact and result.n_resamples == 8
    assert result.n == 6 and result.n_clusters == 3
    assert result.statistic == pytest.approx(2 / 6)
    assert result.pvalue == 0.75
    assert brute_force_cluster_p(d, labels) == 0.75
    # per row the same differences look more significant: 28 of the 2^6 sign vectors reach |sum| = 2
    per_row = paired_permutation_test(d, np.zeros(6))
    assert per_row.pvalue == pytest.approx(brute_force_cluster_p(d, list(range(6))), abs=1e-12)
    assert per_row.pvalue == 28 / 64


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_matches_brute_force_on_random_clusters(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random(25)
    b = a - rng.normal(0.05, 0.2, size=25)
    labels = rng.integers(0, 9, size=25)
    result = paired_permutation_test(a, b, clusters=labels)
    n_clusters = np.unique(labels).size
    assert result.exact and result.n_resamples == 2 ** n_clusters and result.n_clusters == n_clusters
    assert result.pvalue == pytest.approx(brute_force_cluster_p(list(a - b), list(labels)), abs=1e-12)


@pytest.mark.parametrize(("n", "n_resamples"), [(10, 10000), (200, 2000)])   # exact path, Monte Carlo path
def test_singleton_clusters_equal_per_row_test(n: int, n_resamples: int) -> None:
    # sorted labels 0..n-1 keep the row order and a singleton's sum is its difference bit for bit,
    # so the same sign matrix meets the same vector: identical p-values, Monte Carlo included
    rng = np.random.default_rng(4)
    a = rng.random(n)
    b = a - rng.normal(0.03, 0.2, size=n)
    per_row = paired_permutation_test(a, b, n_resamples=n_resamples, seed=4)
    clustered = paired_permutation_test(a, b, n_resamples=n_resamples, seed=4, clusters=np.arange(n))
    assert clustered == per_row
    assert per_row.n_clusters == n and per_row.exact == (n == 10)


def test_duplicated_rows_fool_the_per_row_test_but_not_the_clustered_one() -> None:
    # 12 independent queries whose differences are not significant; each then appears as 30 test rows
    d = np.array([0.30, -0.10, 0.25, 0.05, -0.20, 0.15, 0.40, -0.35, 0.10, 0.20, -0.05, 0.12])
    once = paired_permutation_test(d, np.zeros(12))
    assert once.exact and once.pvalue > 0.2
    rows = np.repeat(d, 30)                                 # (360,)
    labels = np.repeat(np.arange(12), 30)
    per_row = paired_permutation_test(rows, np.zeros(360), seed=0)
    assert not per_row.exact and per_row.pvalue < 0.05
    clustered = paired_permutation_test(rows, np.zeros(360), seed=0, clusters=labels)
    # every cluster sum is 30 d_c: a uniform scale leaves the set of sign vectors reaching |sum| unchanged
    assert clustered.exact and clustered.n_clusters == 12
    assert clustered.pvalue == once.pvalue


def test_same_seed_same_p_and_p_depends_on_labels_not_row_order() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    a = rng.random(n)
    b = a - rng.normal(0.01, 0.3, size=n)
    labels = rng.integers(0, 150, size=n)
    first = paired_permutation_test(a, b, n_resamples=2000, seed=3, clusters=labels)
    assert not first.exact and first.n_clusters == np.unique(labels).size
    assert paired_permutation_test(a.copy(), b.copy(), n_resamples=2000, seed=3, clusters=labels.copy()) == first
    # clusters are drawn in sorted label order, so shuffling the rows changes nothing
    order = rng.permutation(n)
    shuffled = paired_permutation_test(a[order], b[order], n_resamples=2000, seed=3, clusters=labels[order])
    assert shuffled.pvalue == first.pvalue
    # strings sorting like the ints give the same clusters in the same order
    names = np.array([f"query {k:03d}" for k in labels])
    assert paired_permutation_test(a, b, n_resamples=2000, seed=3, clusters=names).pvalue == first.pvalue
    others = {paired_permutation_test(a, b, n_resamples=2000, seed=s, clusters=labels).pvalue for s in range(4, 9)}
    assert others - {first.pvalue}


def test_monte_carlo_agrees_with_exact_on_fourteen_clusters() -> None:
    rng = np.random.default_rng(2)
    n = 70
    a = rng.random(n)
    b = a - rng.normal(0.04, 0.3, size=n)
    labels = np.arange(n) % 14
    exact = paired_permutation_test(a, b, n_resamples=16384, clusters=labels)
    assert exact.exact and exact.n_resamples == 16384
    assert 0.05 < exact.pvalue < 0.95   # the check is only informative away from 0 and 1
    mc = paired_permutation_test(a, b, n_resamples=4000, seed=0, clusters=labels)
    assert not mc.exact
    # count ~ Binomial(4000, p): 4 standard deviations, plus the +1 of (count + 1) / (R + 1)
    tolerance = 4 * math.sqrt(exact.pvalue * (1 - exact.pvalue) / 4000) + 1 / 4001
    assert abs(mc.pvalue - exact.pvalue) < tolerance


@pytest.mark.parametrize(
    ("clusters", "match"),
    [
        ([0, 1], r"paired_permutation_test: 'clusters' must be a 1-D array of one label per pair \(4,\); "
                 r"got shape \(2,\)"),
        ([[0, 1, 2, 3]], r"'clusters' must be a 1-D array .* got shape \(1, 4\)"),
        ([0.0, 1.0, np.nan, 1.0], r"'clusters' must not contain NaN; entry 2"),
        (np.array([0, "a", 1, "b"], dtype=object), r"'clusters' labels must be mutually comparable"),
    ],
)
def test_bad_clusters(clusters, match) -> None:
    with pytest.raises(BenchmarkError, match=match):
        paired_permutation_test([1.0, 2.0, 3.0, 4.0], np.zeros(4), clusters=clusters)


def test_result_defaults_one_cluster_per_pair() -> None:
    # constructors written before clusters existed keep working
    result = PermutationResult(statistic=0.1, pvalue=0.5, n=7, exact=False, n_resamples=99)
    assert result.n_clusters == 7


def test_align_labels_and_clustered_family() -> None:
    labels = align_labels([9, 2, 4], [2, 4, 7, 9], ["q-b", "q-a", "q-c", "q-a"])
    np.testing.assert_array_equal(labels, ["q-a", "q-b", "q-a"])
    with pytest.raises(BenchmarkError, match=r"align_labels: 1 id\(s\) have no label, e.g. query id 5"):
        align_labels([2, 5], [2, 4], ["x", "y"])
    with pytest.raises(BenchmarkError, match=r"label_ids must be distinct"):
        align_labels([2], [2, 2], ["x", "y"])

    rng = np.random.default_rng(1)
    pairs = [(rng.random(30), rng.random(30)) for _ in range(3)]
    clusters = [np.arange(30) % 5, None, np.arange(30) % 12]
    tested = compare_family(pairs, n_resamples=999, seed=2, clusters=clusters)
    raw = [paired_permutation_test(a, b, n_resamples=999, seed=2, clusters=c) for (a, b), c in zip(pairs, clusters)]
    assert [t.test for t in tested] == raw
    assert [t.test.n_clusters for t in tested] == [5, 30, 12]
    assert [t.pvalue_holm for t in tested] == [float(p) for p in holm([r.pvalue for r in raw])]
    assert compare_family(pairs, n_resamples=999, seed=2) == compare_family(pairs, 999, 2, clusters=[None] * 3)
    with pytest.raises(BenchmarkError, match=r"compare_family: 'clusters' must have one entry per pair \(3\); got 2"):
        compare_family(pairs, clusters=[None, None])


def test_seed_level_test_golden() -> None:
    # d = 0.01, 0.04, 0.01: mean 0.02, var (1 + 4 + 1)e-4 / 2 = 3e-4, t = 0.02 / (sqrt(3e-4) / sqrt(3)) = 2;
    # all d > 0, so only the all-+ and all-- of 8 sign vectors reach |sum| -> sign-flip p = 2/8
    a, b = [0.31, 0.35, 0.33], [0.30, 0.31, 0.32]
    result = seed_level_test(a, b)
    assert result.n_seeds == 3
    assert result.mean_diff == pytest.approx(0.02)
    assert result.std_diff == pytest.approx(math.sqrt(3e-4))
    assert result.pvalue_t == pytest.approx(sps.ttest_rel(a, b).pvalue, rel=1e-12)
    assert result.pvalue_t == pytest.approx(2 * sps.t.sf(2.0, df=2), rel=1e-9)
    assert result.pvalue_sign_flip == 0.25


def test_seed_level_test_against_scipy_and_enumeration() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(5)
    b = a - rng.normal(0.02, 0.05, size=5)
    result = seed_level_test(a, b)
    assert result.pvalue_t == pytest.approx(sps.ttest_rel(a, b).pvalue, rel=1e-12)
    assert result.std_diff == pytest.approx(np.std(a - b, ddof=1), rel=1e-12)
    assert result.pvalue_sign_flip == pytest.approx(brute_force_cluster_p(list(a - b), list(range(5))), abs=1e-12)


def test_seed_level_test_undefined_t() -> None:
    one = seed_level_test([0.4], [0.3])
    assert one.n_seeds == 1 and math.isnan(one.std_diff) and math.isnan(one.pvalue_t)
    assert one.pvalue_sign_flip == 1.0
    constant = seed_level_test([0.75, 0.5, 1.0], [0.5, 0.25, 0.75])   # d = 0.25 exactly on every seed
    assert constant.std_diff == 0.0 and math.isnan(constant.pvalue_t)
    assert constant.pvalue_sign_flip == 0.25
    with pytest.raises(BenchmarkError, match=r"seed_level_test: at most 16 seeds"):
        seed_level_test(np.ones(17), np.zeros(17))
    with pytest.raises(BenchmarkError, match=r"seed_level_test: paired samples must cover the same queries"):
        seed_level_test([0.1, 0.2], [0.1])
