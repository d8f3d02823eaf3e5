from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.sids import default_codebook_sizes
from benchmark.sids.rqkmeans import kmeans_level, rq_kmeans


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True iff labelings a and b group the items identically (codes are known up to renaming)."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_default_sizes_reproduce_the_paper_and_scale_to_small_catalogs() -> None:
    assert default_codebook_sizes(170_000_000, 3) == (8192, 4096, 2048)  # paper section 3
    assert default_codebook_sizes(4385, 3) == (242, 121, 61)  # amazon18-scientific
    assert default_codebook_sizes(16859, 3) == (379, 190, 95)  # amazon18-games
    sizes = default_codebook_sizes(16859, 3)
    assert math.prod(sizes) / 16859 == pytest.approx(8192 * 4096 * 2048 / 170e6, rel=0.02)
    # clipped to [2, n_items]: never more centroids than items, never a one-code level
    assert default_codebook_sizes(5, 3) == (5, 5, 5)
    assert default_codebook_sizes(1, 2) == (2, 2)
    assert default_codebook_sizes(10_000, 1) == (10_000,)
    assert default_codebook_sizes(10_000, 2, capacity_per_item=1.0) == (141, 71)


def hierarchical_points(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4 far-apart clusters (level 0) x the same 2 sub-offsets (level 1) + noise; true labels of both."""
    rng = np.random.default_rng(seed)
    centers = np.array([[10, 0, 0, 0], [-10, 0, 0, 0], [0, 10, 0, 0], [0, -10, 0, 0]], dtype=np.float32)
    offsets = np.array([[0, 0, 1, 0], [0, 0, -1, 0]], dtype=np.float32)
    top = np.repeat(np.arange(4), 10)
    sub = np.tile(np.repeat(np.arange(2), 5), 4)
    x = centers[top] + offsets[sub] + rng.normal(0, 0.01, size=(40, 4)).astype(np.float32)
    return x, top, sub


def test_well_separated_clusters_get_their_known_codes() -> None:
    x, top, sub = hierarchical_points()
    result = rq_kmeans(x, (4, 2, 5), seed=0, iters=20)
    assert result.codes.shape == (40, 3) and result.codes.dtype == np.int64
    assert same_partition(result.codes[:, 0], top)
    assert same_partition(result.codes[:, 1], sub)
    # the third level only splits noise: each (top, sub) group of 5 gets up to 5 codes
    assert result.codebooks[0].shape == (4, 4)
    np.testing.assert_allclose(np.sort(np.abs(result.codebooks[0]).max(axis=1)), 10.0, atol=0.05)
    np.testing.assert_allclose(np.sort(np.abs(result.codebooks[1][:, 2])), [1.0, 1.0], atol=0.05)


def test_residual_error_falls_level_by_level_and_matches_the_codebooks() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    result = rq_kmeans(x, (16, 8, 4), seed=0, iters=20)
    mse = [float(np.mean(np.sum(x.astype(np.float64) ** 2, axis=1))), *result.residual_mse]
    assert all(a > b for a, b in zip(mse, mse[1:])), mse
    reconstruction = sum(cb[result.codes[:, level]] for level, cb in enumerate(result.codebooks))
    expected = float(np.mean(np.sum((x - reconstruction).astype(np.float64) ** 2, axis=1)))
    assert result.residual_mse[-1] == pytest.approx(expected, rel=1e-4)


def test_same_seed_same_codes() -> None:
    x = np.random.default_rng(2).normal(size=(500, 16)).astype(np.float32)
    a = rq_kmeans(x, (20, 10, 5), seed=7, iters=15)
    b = rq_kmeans(x, (20, 10, 5), seed=7, iters=15)
    np.testing.assert_array_equal(a.codes, b.codes)
    assert a.residual_mse == b.residual_mse
    others = [rq_kmeans(x, (20, 10, 5), seed=s, iters=15).codes for s in (8, 9)]
    assert any(not np.array_equal(a.codes, o) for o in others)  # the seed is actually used


def test_fewer_distinct_points_than_centroids_is_exact() -> None:
    x = np.array([[1, 0], [0, 1], [1, 0], [0, 0]], dtype=np.float32)
    centroids, assign = kmeans_level(x, 6, seed=0, iters=5)
    # one code per distinct point, numbered in lexicographic order of the points: (0,0) (0,1) (1,0)
    np.testing.assert_array_equal(assign, [2, 1, 2, 0])
    assert centroids.shape == (6, 2)
    np.testing.assert_array_equal(centroids[assign], x)
    np.testing.assert_array_equal(centroids[3:], 0.0)
    result = rq_kmeans(x, (6, 3), seed=0, iters=5)
    assert result.residual_mse == (0.0, 0.0)
    np.testing.assert_array_equal(result.codes[:, 1], 0)  # zero residuals: one distinct point at level 1


def test_rejects_bad_embeddings() -> None:
    from benchmark.errors import ConfigError

    with pytest.raises(ConfigError, match="NaN"):
        rq_kmeans(np.array([[np.nan, 1.0]], dtype=np.float32), (2,), seed=0, iters=2)
    with pytest.raises(ConfigError, match="non-empty"):
        rq_kmeans(np.zeros((0, 3), dtype=np.float32), (2,), seed=0, iters=2)
