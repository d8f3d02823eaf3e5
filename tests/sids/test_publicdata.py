"""SIDs of the primary public dataset at defaults (embeds 4,385 texts: about a minute on 2 idle cores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.artifacts import cache_root
from benchmark.data import build_dataset
from benchmark.errors import ArtifactMismatchError
from benchmark.sids import SidConfig, build_key, build_sids, load_catalog
from benchmark.sids.embed import embed_items
from benchmark.sids.rqkmeans import rq_kmeans

pytestmark = [pytest.mark.publicdata, pytest.mark.slow]


def test_scientific_sids_at_defaults(public_data_dir: Path) -> None:
    dataset = build_dataset("amazon18-scientific", data_dir=public_data_dir)
    config = SidConfig()
    catalog = build_sids(dataset, config)
    stats = catalog.stats()
    assert stats["n_items"] == 4385 and stats["codebook_sizes"] == [242, 121, 61]
    # the default scaling's promise: mostly unique SIDs with some collisions (paper: 170M items on 130M SIDs)
    assert 0.0 < stats["collision_rate"] < 0.5
    assert 1.0 < stats["items_per_sid_mean"] < 1.6
    assert stats["codebook_usage"] == [1.0, 1.0, 1.0]
    mse = stats["residual_mse"]
    assert 1.0 > mse[0] > mse[1] > mse[2] > 0.0  # unit-norm embeddings: ||x||^2 = 1 before level 0
    # regression values measured at seed 0 (tolerances absorb BLAS / thread-count rounding differences)
    assert stats["collision_rate"] == pytest.approx(0.448, abs=0.03)
    assert mse == pytest.approx([0.4034, 0.3609, 0.3389], abs=0.005)
    pairs = stats["preference_pairs"]
    assert pairs["share_first_token"] == pytest.approx(0.246, abs=0.03)
    assert pairs["share_first_two_tokens"] == pytest.approx(0.050, abs=0.015)

    # same seed, same codes (the embeddings come from the cache here; the rebuild of the codes is real)
    embeddings, _ = embed_items(dataset, config)
    again = rq_kmeans(embeddings, catalog.codebook_sizes, seed=config.seed, iters=config.kmeans_iters)
    np.testing.assert_array_equal(again.codes, catalog.codes)

    directory = cache_root() / "sids" / dataset.name / build_key(dataset, config)
    assert (
        load_catalog(directory, expected_split_hash=dataset.split_hash).catalog_hash == catalog.catalog_hash
    )
    with pytest.raises(ArtifactMismatchError, match=dataset.split_hash):
        load_catalog(directory, expected_split_hash="0" * 64)
