from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmark.artifacts import cache_root
from benchmark.errors import ArtifactMismatchError, ConfigError
from benchmark.sids import SidConfig, build_key, build_sids, load_catalog
from benchmark.sids import builders as builders_module

from .conftest import make_dataset

COOC = SidConfig(encoder="cooccurrence", codebook_sizes=(4, 3, 2), cooccurrence_dim=8)


def test_build_is_cached_and_deterministic(tiny_dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = build_sids(tiny_dataset, COOC)
    directory = cache_root() / "sids" / "tiny" / build_key(tiny_dataset, COOC)
    assert (directory / "catalog.json").is_file() and (directory / "codebook_2.npy").is_file()
    assert catalog.codes.shape == (24, 3) and catalog.codebook_sizes == (4, 3, 2)
    assert catalog.split_hash == "split-a" and catalog.name == "tiny"

    def fail(*args, **kwargs):
        raise AssertionError("a cached catalog must not be recomputed")

    monkeypatch.setattr(builders_module, "quantize", fail)
    again = build_sids(tiny_dataset, dataclasses.replace(COOC, batch_size=3))  # speed knob: same key
    assert again.catalog_hash == catalog.catalog_hash
    monkeypatch.undo()
    rebuilt = build_sids(tiny_dataset, COOC, force=True)
    np.testing.assert_array_equal(rebuilt.codes, catalog.codes)
    assert rebuilt.catalog_hash == catalog.catalog_hash and rebuilt.stats() == catalog.stats()
    seed_one = dataclasses.replace(COOC, seed=1)
    assert build_key(tiny_dataset, seed_one) != directory.name
    assert build_sids(tiny_dataset, seed_one).config["seed"] == 1


def test_build_stats_are_complete(tiny_dataset) -> None:
    stats = build_sids(tiny_dataset, COOC).stats()
    assert stats["n_items"] == 24 and stats["codebook_sizes"] == [4, 3, 2]
    assert 0 < stats["distinct_sids"] <= 24
    mse = stats["residual_mse"]
    assert len(mse) == 3 and mse[0] > mse[1] > mse[2] >= 0
    pairs = stats["preference_pairs"]
    assert pairs["n_pairs"] == sum(sum(c) * (len(c) - sum(c)) for c in tiny_dataset.preference["clicks"])
    assert 0 <= pairs["share_same_sid"] <= pairs["share_first_two_tokens"] <= pairs["share_first_token"] <= 1


def test_catalog_of_another_split_is_rejected(tiny_dataset) -> None:
    catalog = build_sids(tiny_dataset, COOC)
    directory = cache_root() / "sids" / "tiny" / build_key(tiny_dataset, COOC)
    other = make_dataset(split_hash="split-b")
    assert build_key(other, COOC) != build_key(tiny_dataset, COOC)
    with pytest.raises(ArtifactMismatchError, match="split-a.*split-b"):
        load_catalog(directory, expected_split_hash=other.split_hash)
    assert build_sids(other, COOC).split_hash == "split-b" != catalog.split_hash


def test_text_encoder_groups_near_identical_titles(tiny_dataset) -> None:
    """Items whose texts differ only by a model number get the same first SID token."""
    catalog = build_sids(tiny_dataset, SidConfig(codebook_sizes=(8, 3), levels=2))
    template = np.arange(24) // 6 * 2 + np.arange(24) % 2  # 8 templates, see conftest.TOPICS
    first = catalog.codes[:, 0]
    for t in range(8):
        assert len(set(first[template == t])) == 1, (t, first[template == t])
    assert len(set(first)) == 8
    assert catalog.build_info["embedding_dim"] == 384
    # regression values (all-MiniLM-L6-v2 + faiss, seed 0); a change means the SIDs changed
    stats = catalog.stats()
    assert stats["residual_mse"] == pytest.approx([0.025702, 0.018010], rel=1e-3)
    assert stats["distinct_sids"] == 16 and stats["collision_rate"] == pytest.approx(16 / 24)


def test_empty_text_catalog_builds_with_cooccurrence() -> None:
    dataset = make_dataset(empty_text=True, name="kuaisar-like")
    catalog = build_sids(dataset, COOC)
    assert catalog.codes.shape == (24, 3)
    with pytest.raises(ConfigError, match="cooccurrence"):
        build_sids(dataset, SidConfig())
