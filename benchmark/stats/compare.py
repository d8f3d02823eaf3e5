"""Comparing systems on per-query metrics: seed pooling, pairing by query id, permutation tests + Holm.

The one implementation behind the tables' significance marks (``benchmark.tables.markers``), the
leaderboard's tests against reference systems (``benchmark.leaderboard.references``) and ``grbench compare``:

1. ``pool_seeds``: a system trained with several seeds is one set of per-query values, the per-query mean
   over seeds (only queries scored in every seed), so tests compare systems on the same queries, not seeds;
2. ``pair_by_query``: two systems' values on their shared query ids, in ascending id order (the order fixes
   which sign each query gets in a Monte Carlo draw, hence the p-value for a given seed); ``align_labels``
   gives the cluster label (e.g. the query string) of each of those ids;
3. ``compare_family``: a two-sided paired permutation test per pair (``paired_permutation_test``, seeded
   Generator, signs flipped per cluster when labels are given), Holm-adjusted over the family of pairs
   tested together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.stats.multiple import holm
from benchmark.stats.permutation import PermutationResult, paired_permutation_test


def _ids_values(owner: str, ids: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    i = np.asarray(ids, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if i.ndim != 1 or v.shape != i.shape:
        raise BenchmarkError(f"{owner}: query ids and values must be 1-D of one length; got {i.shape} and {v.shape}.")
    if np.unique(i).size != i.size:
        raise BenchmarkError(f"{owner}: query ids must be distinct.")
    return i, v


def pool_seeds(query_ids: Sequence[Any], values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-query mean over seeds, on the queries scored in every seed.

    .. math:: \bar x_q = \frac1S \sum_{s=1}^S x_{s,q}, \qquad q \in \bigcap_s Q_s

    Args:
        query_ids: S arrays (Q_s,) of distinct query ids, one per seed.
        values: S arrays (Q_s,) of one metric, aligned with ``query_ids``.

    Returns:
        (ids (Q,) int64 ascending, means (Q,) float64).
    """
    if len(query_ids) != len(values) or not values:
        raise BenchmarkError("pool_seeds: give one (query_ids, values) pair per seed, at least one.")
    pairs = [_ids_values("pool_seeds", i, v) for i, v in zip(query_ids, values)]
    shared = np.unique(pairs[0][0])   # ascending
    for ids, _ in pairs[1:]:
        shared = np.intersect1d(shared, ids, assume_unique=True)
    aligned = []
    for ids, v in pairs:
        order = np.argsort(ids, kind="stable")
        aligned.append(v[order][np.searchsorted(ids[order], shared)])   # (Q,) in ``shared`` order
    return shared, np.mean(aligned, axis=0)


def pair_by_query(ids_a: Any, a: Any, ids_b: Any, b: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values of two systems on their shared query ids: (ids (Q,) ascending, a (Q,), b (Q,))."""
    ids_a, a = _ids_values("pair_by_query", ids_a, a)
    ids_b, b = _ids_values("pair_by_query", ids_b, b)
    shared, in_a, in_b = np.intersect1d(ids_a, ids_b, assume_unique=True, return_indices=True)
    return shared, a[in_a], b[in_b]


def align_labels(ids: Any, label_ids: Any, labels: Any) -> np.ndarray:
    """Cluster labels of ``ids`` (Q,), looked up in the mapping ``label_ids`` (M,) -> ``labels`` (M,).

    Typical use: ``ids, a, b = pair_by_query(...)`` then ``align_labels(ids, test_ids, test_query_strings)``
    gives ``clusters`` for ``compare_family`` / ``paired_permutation_test``. Every id must have a label.
    """
    owner = "align_labels"
    wanted = np.asarray(ids, dtype=np.int64)
    keys = np.asarray(label_ids, dtype=np.int64)
    values = np.asarray(labels)
    if wanted.ndim != 1 or keys.ndim != 1 or values.shape != keys.shape:
        raise BenchmarkError(
            f"{owner}: ids, label_ids and labels must be 1-D, label_ids and labels of one length; "
            f"got {wanted.shape}, {keys.shape} and {values.shape}."
        )
    if np.unique(keys).size != keys.size:
        raise BenchmarkError(f"{owner}: label_ids must be distinct.")
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    pos = np.searchsorted(sorted_keys, wanted)          # (Q,) in [0, M]; M or a different key: no label
    found = pos < keys.size
    found[found] = sorted_keys[pos[found]] == wanted[found]
    if not found.all():
        missing = np.flatnonzero(~found)
        raise BenchmarkError(f"{owner}: {missing.size} id(s) have no label, e.g. query id {int(wanted[missing[0]])}.")
    return values[order][pos]


@dataclasses.dataclass(frozen=True)
class PairedComparison:
    """One pair of a family: ``test`` the permutation test (statistic = mean_q(a_q - b_q), raw two-sided
    pvalue), ``pvalue_holm`` its p-value Holm-adjusted over the family it was tested with."""

    test: PermutationResult
    pvalue_holm: float


def compare_family(
    pairs: Sequence[tuple[Any, Any]],
    n_resamples: int = 10_000,
    seed: int = 0,
    progress: Callable[[], object] | None = None,
    clusters: Sequence[Any] | None = None,
) -> list[PairedComparison]:
    """Paired permutation test of every (a, b) pair (same seed for each), Holm-corrected together.

    Args:
        pairs: (a (Q_i,), b (Q_i,)) per comparison, paired by position (see ``pair_by_query``).
        n_resamples, seed: of ``paired_permutation_test``.
        progress: called after each test (e.g. a progress bar's update).
        clusters: None (per-query sign flips everywhere) or one entry per pair: None or (Q_i,) cluster
            labels aligned with that pair (see ``align_labels``).

    Returns:
        One PairedComparison per pair, in input order ([] for no pairs).
    """
    if clusters is None:
        clusters = [None] * len(pairs)
    elif len(clusters) != len(pairs):
        raise BenchmarkError(
            f"compare_family: 'clusters' must have one entry per pair ({len(pairs)}); got {len(clusters)}."
        )
    results = []
    for (a, b), labels in zip(pairs, clusters):
        results.append(paired_permutation_test(a, b, n_resamples=n_resamples, seed=seed, clusters=labels))
        if progress is not None:
            progress()
    adjusted = holm([r.pvalue for r in results]) if results else []
    return [PairedComparison(r, float(p)) for r, p in zip(results, adjusted)]
