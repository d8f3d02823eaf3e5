"""The SID-builder registry, ``SidConfig.builder``/``tower`` and the keys of default configs (unchanged)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from benchmark.artifacts import hash_json
from benchmark.config import load_config, to_dict
from benchmark.errors import ConfigError
from benchmark.registry import UnknownNameError
from benchmark.sids import SidConfig, build_key
from benchmark.sids.builders import Builder, builder_names, builder_settings, get_builder, register_builder
from benchmark.sids.catalog import CATALOG_FORMAT
from benchmark.sids.config import DualTowerConfig, hashed_settings, legacy_omitted
from benchmark.sids.embed import embedding_key
from benchmark.suite.matrix import plain_config

from .conftest import make_dataset

# The SidConfig fields before builders existed: a default config must hash exactly these.
LEGACY_FIELDS = ["levels", "codebook_sizes", "capacity_per_item", "seed", "kmeans_iters", "encoder", "pooling",
                 "max_length", "batch_size", "cooccurrence_dim"]


def test_registry_names_lookup_and_duplicates() -> None:
    assert builder_names()[:3] == ["rqkmeans", "dualtower", "sci"]
    assert get_builder("sci").settings == ("tower",) and get_builder("rqkmeans").settings == ()
    assert builder_settings(None) == ("acrq", "cqsid", "sarq", "tower")
    with pytest.raises(UnknownNameError, match="Did you mean 'dualtower'.*Available: acrq, cqsid, dualtower, rqkmeans, sarq, sci"):
        get_builder("dual-tower")
    with pytest.raises(ValueError, match="already registered"):
        register_builder(Builder(name="rqkmeans", description="again", build=get_builder("rqkmeans").build))
    with pytest.raises(ConfigError, match="The 'builder' parameter of SidConfig must be one of"):
        SidConfig(builder="rq-kmeans")


def test_default_config_hashes_as_before_builders_existed() -> None:
    dataset = make_dataset()
    for config in (SidConfig(), SidConfig(tower=DualTowerConfig(epochs=9))):  # tower: unused by rqkmeans
        assert legacy_omitted(config) == ("builder", "acrq", "cqsid", "sarq", "tower")
        assert list(plain_config(config)) == LEGACY_FIELDS
        assert list(hashed_settings(config)) == LEGACY_FIELDS
        # build_key as it was computed before (to_dict of the legacy fields, minus batch_size)
        settings = {k: v for k, v in to_dict(config).items() if k in LEGACY_FIELDS and k != "batch_size"}
        popularity = np.ascontiguousarray(dataset.item_popularity, dtype=np.float64)
        legacy = hash_json({
            "format": CATALOG_FORMAT,
            "dataset": dataset.name,
            "split_hash": dataset.split_hash,
            "popularity": hashlib.sha256(popularity.tobytes()).hexdigest(),
            "embedding": embedding_key(dataset, config),
            "config": settings,
        })
        assert build_key(dataset, config) == legacy


def test_tower_builders_hash_their_settings() -> None:
    dataset = make_dataset()
    keys = {build_key(dataset, SidConfig(builder=name)) for name in ("rqkmeans", "dualtower", "sci")}
    assert len(keys) == 3
    sci = plain_config(SidConfig(builder="sci"))
    assert sci["builder"] == "sci" and sci["tower"] == to_dict(DualTowerConfig())
    assert isinstance(sci["tower"]["lr"], float)
    tuned = SidConfig(builder="dualtower", tower=DualTowerConfig(epochs=9))
    assert build_key(dataset, tuned) != build_key(dataset, SidConfig(builder="dualtower"))


def test_builder_and_tower_from_overrides() -> None:
    config = load_config(SidConfig, None, ["builder=sci", "tower.epochs=2", "tower.head=linear", "tower.lr=1"])
    assert config.builder == "sci" and config.tower == DualTowerConfig(epochs=2, head="linear", lr=1.0)
    with pytest.raises(ConfigError, match="tower.head.*must be one of \\['mlp', 'linear'\\]. Got 'deep'"):
        load_config(SidConfig, None, ["tower.head=deep"])
    with pytest.raises(ConfigError, match="tower.temperature.*range \\(0, 100\\]. Got 0.0"):
        load_config(SidConfig, None, ["tower.temperature=0.0"])
    with pytest.raises(ConfigError, match="Unknown configuration key 'tower.epoch'"):
        load_config(SidConfig, None, ["tower.epoch=2"])
