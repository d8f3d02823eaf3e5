"""Holm step-down adjustment: golden values and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import BenchmarkError
from benchmark.stats import holm


def test_holm_golden() -> None:
    # sorted: 0.005 (#3), 0.01 (#0), 0.03 (#2), 0.04 (#1); m = 4
    # scaled: 4*0.005 = 0.02, 3*0.01 = 0.03, 2*0.03 = 0.06, 1*0.04 = 0.04
    # running max: 0.02, 0.03, 0.06, 0.06 -> back in input order
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02], rtol=1e-12)


def test_holm_caps_at_one() -> None:
    # 2*0.6 = 1.2 -> 1; max(1.2, 0.9) -> 1
    np.testing.assert_array_equal(holm([0.6, 0.9]), [1.0, 1.0])


def test_holm_edge_cases() -> None:
    assert holm([]).shape == (0,)
    np.testing.assert_array_equal(holm([0.2]), [0.2])
    np.testing.assert_allclose(holm([0.01, 0.01]), [0.02, 0.02])   # ties: 2*0.01, max(0.02, 1*0.01)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=12))
def test_holm_invariants(pvalues) -> None:
    p = np.array(pvalues, dtype=float)
    adjusted = holm(p)
    assert np.all(adjusted >= p) and np.all(adjusted <= 1.0)
    assert np.all(adjusted <= np.minimum(1.0, len(p) * p) + 1e-15)   # never worse than Bonferroni
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0)                      # monotone in the raw p-values


@pytest.mark.parametrize("bad", [[0.1, 1.5], [-0.1], [np.nan], [[0.1]]])
def test_holm_rejects_invalid_pvalues(bad) -> None:
    with pytest.raises(BenchmarkError):
        holm(bad)
