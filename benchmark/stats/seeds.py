"""Aggregation of one number across training seeds (DESIGN.md section 7: mean and standard deviation), and a
paired test of two methods over seeds (each seed one unit: the training run, not the query, is resampled)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.stats._validate import as_sample, paired_differences
from benchmark.stats.permutation import paired_permutation_test

# all 2^S sign vectors are enumerated as one (2^S, S) matrix: 16 seeds is ~8 MB and far above real seed counts
_MAX_SEEDS = 16


@dataclasses.dataclass(frozen=True)
class SeedSummary:
    """mean and sample standard deviation (ddof=1) over n_seeds values; std is NaN when n_seeds == 1."""

    mean: float
    std: float
    n_seeds: int


def seed_summary(values: Any) -> SeedSummary:
    r"""Mean and sample standard deviation of a metric across seeds.

    .. math:: \bar x = \frac1S \sum_s x_s, \qquad s = \sqrt{\frac{1}{S-1} \sum_s (x_s - \bar x)^2}

    One seed gives std = NaN, not 0: a spread cannot be estimated from one run, and 0 would claim a
    perfectly stable method. Reports render a NaN std as "no std" rather than "+- 0".

    Args:
        values: (S,) one number per seed (e.g. a run's mean Recall@10), S >= 1.
    """
    x = as_sample("seed_summary", "values", values)
    n = x.shape[0]
    std = float(np.std(x, ddof=1)) if n > 1 else math.nan
    return SeedSummary(mean=float(x.mean()), std=std, n_seeds=n)


@dataclasses.dataclass(frozen=True)
class SeedLevelTest:
    """Paired comparison of two methods across seeds. mean_diff and std_diff (ddof=1, NaN for one seed) of
    the per-seed differences; pvalue_t two-sided paired t-test (NaN when undefined); pvalue_sign_flip
    exact two-sided sign-flip p over all 2^n_seeds sign vectors."""

    mean_diff: float
    std_diff: float
    n_seeds: int
    pvalue_t: float
    pvalue_sign_flip: float


def seed_level_test(a_seed_means: Any, b_seed_means: Any) -> SeedLevelTest:
    r"""Paired tests of H0: E[a - b] = 0 with one unit per training seed.

    With d_s = a_s - b_s over S seeds (seed s of both methods paired, e.g. same data order):

    .. math:: t = \frac{\bar d}{s_d / \sqrt S}, \quad p_t = 2\,P(T_{S-1} \ge |t|), \qquad
              p_{flip} = \frac{|\{\sigma \in \{-1,1\}^S : |\sum_s \sigma_s d_s| \ge |\sum_s d_s|\}|}{2^S}

    p_t is NaN with fewer than 2 seeds or zero variance of d (s_d = 0: the t statistic is undefined, and
    scipy's +-inf / p = 0 for constant non-zero d would claim certainty from a handful of runs). p_flip is
    always defined, but can never fall below 2 / 2^S (0.25 for 3 seeds): read it as a bound on what S
    seeds can show.

    Args:
        a_seed_means, b_seed_means: (S,) one number per seed (e.g. a run's mean Recall@10), 1 <= S <= 16.
    """
    from scipy import stats as sps  # ~0.7 s: paid by the commands that test, not by every CLI start

    owner = "seed_level_test"
    diffs = paired_differences(owner, a_seed_means, b_seed_means)
    n = diffs.shape[0]
    if n > _MAX_SEEDS:
        raise BenchmarkError(f"{owner}: at most {_MAX_SEEDS} seeds can be enumerated exactly; got {n}.")
    std = float(np.std(diffs, ddof=1)) if n > 1 else math.nan
    pvalue_t = math.nan
    if n > 1 and std > 0:
        pvalue_t = float(sps.ttest_rel(diffs, np.zeros(n)).pvalue)
    flip = paired_permutation_test(diffs, np.zeros(n), n_resamples=1 << n)
    return SeedLevelTest(
        mean_diff=float(diffs.mean()), std_diff=std, n_seeds=n, pvalue_t=pvalue_t, pvalue_sign_flip=flip.pvalue
    )
