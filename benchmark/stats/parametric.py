"""Paired t-test and Wilcoxon signed-rank test: scipy.stats with input checks and defined degenerate cases."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from benchmark.stats._validate import paired_differences


@dataclasses.dataclass(frozen=True)
class PairedTestResult:
    """statistic of the test, two-sided pvalue, n = pairs given (zeros included)."""

    statistic: float
    pvalue: float
    n: int


def paired_t_test(a: Any, b: Any) -> PairedTestResult:
    r"""Two-sided paired t-test of H0: E[a - b] = 0.

    .. math:: t = \frac{\bar d}{s_d / \sqrt n}, \quad d = a - b, \quad p = 2\,P(T_{n-1} \ge |t|)

    Degenerate cases scipy leaves as NaN are defined: all differences zero -> t = 0, p = 1 (no evidence of
    any difference); constant non-zero differences (s_d = 0) -> t = +-inf, p = 0.

    Args:
        a, b: (n,) per-query metrics on the same queries, n >= 2.
    """
    from scipy import stats as sps  # ~0.7 s: paid by the commands that test, not by every CLI start

    diffs = paired_differences("paired_t_test", a, b, min_size=2)
    n = diffs.shape[0]
    if np.all(diffs == 0):
        return PairedTestResult(statistic=0.0, pvalue=1.0, n=n)
    if np.all(diffs == diffs[0]):
        return PairedTestResult(statistic=math.copysign(math.inf, diffs[0]), pvalue=0.0, n=n)
    result = sps.ttest_rel(diffs, np.zeros_like(diffs))
    return PairedTestResult(statistic=float(result.statistic), pvalue=float(result.pvalue), n=n)


def wilcoxon_test(a: Any, b: Any) -> PairedTestResult:
    r"""Two-sided Wilcoxon signed-rank test of H0: the paired differences are symmetric about 0.

    .. math:: W = \min(W^+, W^-), \quad W^\pm = \sum_{i: \pm d_i > 0} \mathrm{rank}(|d_i|)

    Zero differences are dropped (Wilcoxon's convention, ``zero_method="wilcox"``); scipy picks the exact
    null distribution for small samples without ties and the normal approximation otherwise. All differences
    zero -> W = 0, p = 1.

    Args:
        a, b: (n,) per-query metrics on the same queries, n >= 1.
    """
    from scipy import stats as sps  # ~0.7 s: paid by the commands that test, not by every CLI start

    diffs = paired_differences("wilcoxon_test", a, b)
    n = diffs.shape[0]
    if np.all(diffs == 0):
        return PairedTestResult(statistic=0.0, pvalue=1.0, n=n)
    with warnings.catch_warnings():
        # scipy warns that it switches to the normal approximation when there are ties or zeros: expected
        warnings.simplefilter("ignore", UserWarning)
        result = sps.wilcoxon(diffs, zero_method="wilcox", alternative="two-sided")
    return PairedTestResult(statistic=float(result.statistic), pvalue=float(result.pvalue), n=n)
