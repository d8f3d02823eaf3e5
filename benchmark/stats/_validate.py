"""Input checks shared by the statistical tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.config import check_number
from benchmark.errors import BenchmarkError


def as_sample(owner: str, name: str, values: Any, *, min_size: int = 1) -> np.ndarray:
    """A 1-D finite float64 array with at least ``min_size`` entries."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BenchmarkError(f"{owner}: {name!r} must be a 1-D array of numbers. {exc}") from exc
    if array.ndim != 1:
        raise BenchmarkError(f"{owner}: {name!r} must be 1-D, got shape {array.shape}.")
    if array.shape[0] < min_size:
        raise BenchmarkError(f"{owner}: {name!r} needs at least {min_size} value(s), got {array.shape[0]}.")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise BenchmarkError(f"{owner}: {name!r} must be finite; entry {bad} is {array[bad]!r}.")
    return array


def paired_differences(owner: str, a: Any, b: Any, *, min_size: int = 1) -> np.ndarray:
    """(n,) a - b for two per-query arrays over the same queries in the same order."""
    x = as_sample(owner, "a", a, min_size=min_size)
    y = as_sample(owner, "b", b, min_size=min_size)
    if x.shape != y.shape:
        raise BenchmarkError(
            f"{owner}: paired samples must cover the same queries; got {x.shape[0]} and {y.shape[0]} values."
        )
    return x - y


def check_resamples(owner: str, n_resamples: Any) -> int:
    check_number(owner, "n_resamples", n_resamples, low=1, integer=True)
    return int(n_resamples)


def check_seed(owner: str, seed: Any) -> int:
    check_number(owner, "seed", seed, low=0, integer=True)
    return int(seed)
