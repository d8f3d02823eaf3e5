"""Mean and sample standard deviation across seeds."""

from __future__ import annotations

import math

import pytest

from benchmark.errors import BenchmarkError
from benchmark.stats import seed_summary


def test_seed_summary_golden() -> None:
    # mean 0.32; deviations -0.02, 0, 0.02 -> (0.0004 + 0 + 0.0004) / (3 - 1) = 0.0004 -> std 0.02
    summary = seed_summary([0.30, 0.32, 0.34])
    assert summary.mean == pytest.approx(0.32)
    assert summary.std == pytest.approx(0.02)
    assert summary.n_seeds == 3


def test_one_seed_has_undefined_std() -> None:
    summary = seed_summary([0.5])
    assert summary.mean == 0.5 and math.isnan(summary.std) and summary.n_seeds == 1


def test_seed_summary_rejects_bad_input() -> None:
    with pytest.raises(BenchmarkError, match=r"at least 1"):
        seed_summary([])
    with pytest.raises(BenchmarkError, match=r"finite"):
        seed_summary([0.1, float("inf")])
