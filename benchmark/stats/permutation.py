"""Seeded paired randomization (sign-flip permutation) test, optionally cluster-aware.

Under H0 (the two systems are exchangeable on every query) the sign of each paired difference is a fair
coin, so the null distribution of the mean difference is that of mean(s * d) over sign vectors s. Rows that
share a query string are not independent (the test set's 8,442 rows are 654 query clusters), so flipping
signs per row is anti-conservative; with ``clusters`` the sign flips per cluster instead. Unlike ranx's
randomization test, every draw comes from an explicit ``numpy.random.Generator`` seeded by the caller, so
identical inputs and seed give an identical p-value on every rerun.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.stats._validate import check_resamples, check_seed, paired_differences

# Sign matrices are drawn in chunks of about this many entries (~32 MB as float64): large enough for BLAS
# to be efficient, small enough for a 10k x 8k test to fit comfortably in memory. The chunking depends only
# on n, so the random stream (hence the p-value) does not depend on the machine.
_CHUNK_ENTRIES = 1 << 22


@dataclasses.dataclass(frozen=True)
class PermutationResult:
    """statistic = mean(a - b); pvalue two-sided; n pairs; exact = full enumeration of 2^C sign vectors;
    n_resamples = sign vectors evaluated (2^C when exact); n_clusters = C, the units whose signs flip
    (None, the default, means one cluster per pair and is stored as n)."""

    statistic: float
    pvalue: float
    n: int
    exact: bool
    n_resamples: int
    n_clusters: int | None = None

    def __post_init__(self) -> None:
        if self.n_clusters is None:
            object.__setattr__(self, "n_clusters", self.n)


def _tolerance(diffs: np.ndarray) -> float:
    # Sign-flipped sums equal to the observed one in exact arithmetic can differ from it by rounding;
    # they must count as "at least as extreme" (the identity flip always does). Roundoff in a sum is
    # bounded by a small multiple of eps * sum|d|, far below the gap between distinct sums of metric values.
    return 1e-11 * float(np.abs(diffs).sum())


def _cluster_sums(owner: str, diffs: np.ndarray, clusters: Any) -> np.ndarray:
    """(C,) sums of ``diffs`` per cluster, clusters in sorted label order (so the sign each cluster gets in
    a Monte Carlo draw, hence the p-value, depends only on the labels, not on the row order)."""
    labels = np.asarray(clusters)
    if labels.ndim != 1 or labels.shape[0] != diffs.shape[0]:
        raise BenchmarkError(
            f"{owner}: 'clusters' must be a 1-D array of one label per pair ({diffs.shape[0]},); "
            f"got shape {labels.shape}."
        )
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        # np.unique merges NaNs into one label: unlabelled rows would silently become one cluster
        bad = int(np.flatnonzero(np.isnan(labels))[0])
        raise BenchmarkError(f"{owner}: 'clusters' must not contain NaN; entry {bad} is NaN.")
    try:
        _, inverse = np.unique(labels, return_inverse=True)
    except TypeError as exc:
        raise BenchmarkError(f"{owner}: 'clusters' labels must be mutually comparable (ints or strings). {exc}") from exc
    # bincount adds in row order: deterministic, and a singleton cluster's sum is its difference, bit for bit
    return np.bincount(inverse.reshape(-1), weights=diffs)


def _exact_count(diffs: np.ndarray, threshold: float) -> tuple[int, int]:
    n = diffs.shape[0]
    codes = np.arange(1 << n, dtype=np.int64)[:, None]                  # (2^n, 1)
    bits = (codes >> np.arange(n, dtype=np.int64)) & 1                 # (2^n, n) every sign vector once
    sums = (1.0 - 2.0 * bits) @ diffs                                   # (2^n,)
    return int(np.count_nonzero(np.abs(sums) >= threshold)), 1 << n


def _monte_carlo_count(diffs: np.ndarray, threshold: float, n_resamples: int, rng: np.random.Generator) -> int:
    n = diffs.shape[0]
    n_bytes = (n + 7) // 8
    chunk = max(1, _CHUNK_ENTRIES // n)
    total = float(diffs.sum())
    count = 0
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        # one random bit per sign: 8x fewer draws than one integer per sign
        packed = rng.integers(0, 256, size=(rows, n_bytes), dtype=np.uint8)
        bits = np.unpackbits(packed, axis=1, count=n).astype(np.float64)   # (rows, n) in {0, 1}
        # sum((1 - 2 b) d) = sum(d) - 2 b.d
        sums = total - 2.0 * (bits @ diffs)                                 # (rows,)
        count += int(np.count_nonzero(np.abs(sums) >= threshold))
    return count


def paired_permutation_test(
    a: Any, b: Any, n_resamples: int = 10000, seed: int = 0, clusters: Any = None
) -> PermutationResult:
    r"""Two-sided paired sign-flip test of H0: E[a - b] = 0 on per-query metric arrays.

    With d = a - b (n pairs), observed T = mean(d), and per-cluster sums D_c = sum_{i in c} d_i over the C
    clusters (C = n and D = d when ``clusters`` is None), H0 makes the clusters' signs independent fair
    coins, so the null distribution of T is that of sum_c s_c D_c / n:

    - exact (2^C <= n_resamples): p = |{s in {-1,1}^C : |sum_c s_c D_c| >= n |T|}| / 2^C;
    - otherwise, with R = n_resamples sign vectors drawn uniformly from a Generator seeded by ``seed``:
      p = (|{r : |sum_c s_{r,c} D_c| >= n |T|}| + 1) / (R + 1)  (Phipson & Smyth 2010: never 0, valid
      at level alpha).

    Clusters are ordered by sorted unique label, so identical inputs and seed give identical p-values;
    ``clusters=np.arange(n)`` gives exactly the p-value of ``clusters=None``.

    Args:
        a, b: (n,) per-query metrics of two systems on the same queries, same order.
        n_resamples: Monte Carlo sign vectors (int >= 1); also the exact-enumeration threshold.
        seed: seed of the numpy Generator (int >= 0).
        clusters: None (every pair its own cluster) or (n,) labels (ints or strings); pairs with equal
            labels (e.g. rows sharing a query string) flip sign together.

    Returns:
        PermutationResult. All-zero differences give p = 1.
    """
    owner = "paired_permutation_test"
    diffs = paired_differences(owner, a, b)
    n_resamples = check_resamples(owner, n_resamples)
    seed = check_seed(owner, seed)
    n = diffs.shape[0]
    sums = diffs if clusters is None else _cluster_sums(owner, diffs, clusters)     # (C,)
    n_clusters = sums.shape[0]
    observed = float(diffs.mean())
    # tolerance from the rows: it also bounds the roundoff of forming the cluster sums
    threshold = abs(float(diffs.sum())) - _tolerance(diffs)
    if n_clusters < 63 and (1 << n_clusters) <= n_resamples:
        count, total = _exact_count(sums, threshold)
        pvalue, exact = count / total, True
    else:
        count = _monte_carlo_count(sums, threshold, n_resamples, np.random.default_rng(seed))
        pvalue, exact, total = (count + 1) / (n_resamples + 1), False, n_resamples
    return PermutationResult(
        statistic=observed, pvalue=pvalue, n=n, exact=exact, n_resamples=total, n_clusters=n_clusters
    )
