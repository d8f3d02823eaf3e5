"""Builds on the real public files (GRBENCH_DATA): the acceptance figures of docs/DATA.md."""

from __future__ import annotations

import pytest

from benchmark.data import DataConfig, build_dataset

pytestmark = pytest.mark.publicdata


def _check(ds) -> None:
    stats = ds.stats
    assert stats["positives_per_query"]["median"] >= 3
    assert stats["pseudo_negative_rate"] > 0
    assert stats["impressions"] == len(ds.train) > 0 and len(ds.test) > 0
    assert stats["target_forced_share"] < 0.1


def test_amazon18_scientific(public_data_dir) -> None:
    # Protocol 1: the counts and hashes of builds made before protocol 2 (its figures: test_protocol2.py).
    ds = build_dataset("amazon18-scientific", DataConfig(protocol=1), data_dir=public_data_dir)
    _check(ds)
    assert (len(ds.items), len(ds.train), len(ds.valid), len(ds.test)) == (4385, 34101, 8442, 8442)
    assert ds.stats["interactions"] == 59384 and ds.stats["queries"]["test_protocol_share"]["category"] > 0.95
    assert ds.stats["build_seconds"] < 60
    again = build_dataset("amazon18-scientific", DataConfig(protocol=1), data_dir=public_data_dir, force=True)
    assert (again.split_hash, again.test_hash) == (ds.split_hash, ds.test_hash)
    other = build_dataset("amazon18-scientific", DataConfig(protocol=1, seed=1), data_dir=public_data_dir)
    assert other.split_hash != ds.split_hash and other.test_hash != ds.test_hash


def test_amazon14_office(public_data_dir, monkeypatch) -> None:
    ds = build_dataset("amazon14-office", data_dir=public_data_dir)
    _check(ds)
    # Once built, the cache serves the dataset without the raw files (`grbench data stats NAME` needs no --data-dir).
    monkeypatch.delenv("GRBENCH_DATA")
    assert build_dataset("amazon14-office").split_hash == ds.split_hash
    assert ds.stats["interactions"] == 53258 and ds.stats["split"].startswith("temporal")
    assert ds.stats["valid_cutoff"] < ds.stats["test_cutoff"]


@pytest.mark.slow
def test_amazon18_games(public_data_dir) -> None:
    ds = build_dataset("amazon18-games", data_dir=public_data_dir)
    _check(ds)
    assert (len(ds.items), ds.stats["interactions"], len(ds.test)) == (16859, 440264, 50546)
    assert ds.stats["build_seconds"] < 180
