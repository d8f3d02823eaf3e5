"""ACRQ: the anchored k-means update by hand, head items coded by the head-fitted anchors alone, frozen anchors
for the other items, codes in range, seeded determinism, and a build that never reads validation or test."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import DataError
from benchmark.sids import SidConfig, build_sids
from benchmark.sids.acrq import acrq_codes, anchored_kmeans, nearest
from benchmark.sids.buckets import popularity_buckets
from benchmark.sids.config import AcrqConfig
from benchmark.sids.rqkmeans import rq_kmeans

from .conftest import make_dataset
from .test_dualtower import PoisonedDataset, query_dataset

SIZES = (6, 4, 3)


def test_anchored_kmeans_golden() -> None:
    # 1-D residuals 0, 1 | 10, 12 with anchors 0 and 10: M = 4, K = 2, so the prior weight is w * 2 items.
    x = np.array([[0.0], [1.0], [10.0], [12.0]], dtype=np.float32)
    anchors = np.array([[0.0], [10.0]], dtype=np.float32)
    centroids, assign = anchored_kmeans(x, anchors, weight=1.0, iters=10)
    # C_0 = (0 + 1 + 2 * 0) / (2 + 2) = 0.25; C_1 = (10 + 12 + 2 * 10) / (2 + 2) = 10.5
    np.testing.assert_allclose(centroids[:, 0], [0.25, 10.5])
    assert assign.tolist() == [0, 0, 1, 1]
    plain, _ = anchored_kmeans(x, anchors, weight=0.0, iters=10)  # w = 0: the cluster means
    np.testing.assert_allclose(plain[:, 0], [0.5, 11.0])
    pinned, _ = anchored_kmeans(x, anchors, weight=1e6, iters=10)  # a huge prior keeps the anchors
    np.testing.assert_allclose(pinned[:, 0], [0.0, 10.0], atol=1e-4)


def test_anchored_kmeans_keeps_an_unused_anchor() -> None:
    x = np.array([[0.0], [1.0]], dtype=np.float32)
    centroids, assign = anchored_kmeans(x, np.array([[0.0], [50.0]], dtype=np.float32), weight=0.0, iters=5)
    np.testing.assert_allclose(centroids[:, 0], [0.5, 50.0])
    assert assign.tolist() == [0, 0]


def _data(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    popularity = rng.integers(0, 50, size=n)
    return x, popularity


def test_head_items_are_coded_by_the_anchors_fitted_on_head_items_only() -> None:
    x, popularity = _data()
    head = popularity_buckets(popularity) == "head"
    result = acrq_codes(x, popularity, SIZES, seed=3, iters=10, anchor_weight=1.0)
    assert np.array_equal(result.head, head)
    # The anchors are RQ-KMeans of the head items alone, and every head item keeps its anchor codes.
    reference = rq_kmeans(x[head], SIZES, seed=3, iters=10)
    for anchor, expected in zip(result.anchors, reference.codebooks):
        np.testing.assert_array_equal(anchor, expected)
    np.testing.assert_array_equal(result.codes[head], reference.codes)
    # Moving every non-head item changes none of that.
    moved = x.copy()
    moved[~head] += np.random.default_rng(1).normal(scale=3.0, size=moved[~head].shape).astype(np.float32)
    again = acrq_codes(moved, popularity, SIZES, seed=3, iters=10, anchor_weight=1.0)
    np.testing.assert_array_equal(again.codes[head], result.codes[head])
    np.testing.assert_array_equal(again.anchors[0], result.anchors[0])


def test_other_items_use_frozen_anchors_then_the_regularised_last_stage() -> None:
    x, popularity = _data()
    result = acrq_codes(x, popularity, SIZES, seed=0, iters=10, anchor_weight=0.5)
    rest = ~result.head
    residual = x[rest].astype(np.float32).copy()
    for level in range(len(SIZES) - 1):
        np.testing.assert_array_equal(result.codes[rest, level], nearest(residual, result.anchors[level]))
        residual -= result.anchors[level][result.codes[rest, level]]
    np.testing.assert_array_equal(result.codes[rest, -1], nearest(residual, result.last))
    # the last stage is the anchored k-means of those residuals from the head-fitted last level
    expected, _ = anchored_kmeans(residual, result.anchors[-1], 0.5, 10)
    np.testing.assert_allclose(result.last, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(result.last, result.anchors[-1])  # the tail residuals did move it
    for level, size in enumerate(SIZES):
        assert result.codes[:, level].min() >= 0 and result.codes[:, level].max() < size
    assert list(result.residual_mse) == sorted(result.residual_mse, reverse=True)


def test_seeded_and_deterministic() -> None:
    x, popularity = _data()
    a = acrq_codes(x, popularity, SIZES, seed=5, iters=10, anchor_weight=1.0)
    b = acrq_codes(x, popularity, SIZES, seed=5, iters=10, anchor_weight=1.0)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.last, b.last)


def test_no_head_items_is_a_clear_error() -> None:
    x, _ = _data(n=6)
    with pytest.raises(DataError, match="no item is in the head bucket"):
        acrq_codes(x, np.zeros(6), (2, 2), seed=0, iters=5, anchor_weight=1.0)


def test_build_reads_no_validation_or_test_rows_and_hashes_its_setting() -> None:
    dataset = query_dataset(PoisonedDataset)
    config = SidConfig(builder="acrq", codebook_sizes=(4, 3, 2))
    catalog = build_sids(dataset, config)
    info = catalog.build_info
    assert info["builder"] == "acrq" and info["acrq"]["head_items"] == int(
        (popularity_buckets(dataset.item_popularity) == "head").sum())
    assert catalog.config["acrq"] == {"anchor_weight": 1.0} and "tower" not in catalog.config
    assert len(catalog.codebooks) == 3 and catalog.codebooks[-1].shape == (2, 384)
    again = build_sids(dataset, config, force=True)
    np.testing.assert_array_equal(again.codes, catalog.codes)
    other = build_sids(dataset, SidConfig(builder="acrq", codebook_sizes=(4, 3, 2), acrq=AcrqConfig(0.0)))
    assert other.build_info["build_key"] != info["build_key"]
    assert "acrq" not in build_sids(make_dataset(), SidConfig(encoder="cooccurrence")).config
