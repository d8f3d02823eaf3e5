"""Seeded paired randomization (sign-flip permutation) test.

Under H0 (the two systems are exchangeable on every query) the sign of each paired difference is a fair
coin, so the null distribution of the mean difference is that of mean(s * d) over sign vectors s. Unlike
ranx's randomization test, every draw comes from an explicit ``numpy.random.Generator`` seeded by the caller,
so identical inputs and seed give an identical p-value on every rerun.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from benchmark.stats._validate import check_resamples, check_seed, paired_differences

# Sign matrices are drawn in chunks of about this many entries (~32 MB as float64): large enough for BLAS
# to be efficient, small enough for a 10k x 8k test to fit comfortably in memory. The chunking depends only
# on n, so the random stream (hence the p-value) does not depend on the machine.
_CHUNK_ENTRIES = 1 << 22


@dataclasses.dataclass(frozen=True)
class PermutationResult:
    """statistic = mean(a - b); pvalue two-sided; n pairs; exact = full enumeration of 2^n sign vectors;
    n_resamples = sign vectors evaluated (2^n when exact)."""

    statistic: float
    pvalue: float
    n: int
    exact: bool
    n_resamples: int


def _tolerance(diffs: np.ndarray) -> float:
    # Sign-flipped sums equal to the observed one in exact arithmetic can differ from it by rounding;
    # they must count as "at least as extreme" (the identity flip always does). Roundoff in a sum is
    # bounded by a small multiple of eps * sum|d|, far below the gap between distinct sums of metric values.
    return 1e-11 * float(np.abs(diffs).sum())


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


def paired_permutation_test(a: Any, b: Any, n_resamples: int = 10000, seed: int = 0) -> PermutationResult:
    r"""Two-sided paired sign-flip test of H0: E[a - b] = 0 on per-query metric arrays.

    With d = a - b (n pairs) and observed T = mean(d):

    - exact (2^n <= n_resamples): p = |{s in {-1,1}^n : |mean(s d)| >= |T|}| / 2^n;
    - otherwise, with R = n_resamples sign vectors drawn uniformly from a Generator seeded by ``seed``:
      p = (|{r : |mean(s_r d)| >= |T|}| + 1) / (R + 1)  (Phipson & Smyth 2010: never 0, valid at level alpha).

    Args:
        a, b: (n,) per-query metrics of two systems on the same queries, same order.
        n_resamples: Monte Carlo sign vectors (int >= 1); also the exact-enumeration threshold.
        seed: seed of the numpy Generator (int >= 0).

    Returns:
        PermutationResult. All-zero differences give p = 1.
    """
    owner = "paired_permutation_test"
    diffs = paired_differences(owner, a, b)
    n_resamples = check_resamples(owner, n_resamples)
    seed = check_seed(owner, seed)
    n = diffs.shape[0]
    observed = float(diffs.mean())
    threshold = abs(float(diffs.sum())) - _tolerance(diffs)
    if n < 63 and (1 << n) <= n_resamples:
        count, total = _exact_count(diffs, threshold)
        return PermutationResult(statistic=observed, pvalue=count / total, n=n, exact=True, n_resamples=total)
    count = _monte_carlo_count(diffs, threshold, n_resamples, np.random.default_rng(seed))
    pvalue = (count + 1) / (n_resamples + 1)
    return PermutationResult(statistic=observed, pvalue=pvalue, n=n, exact=False, n_resamples=n_resamples)
