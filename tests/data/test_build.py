"""End to end: BuiltDataset contract, determinism, cache behaviour, the registered formats on fixtures."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from benchmark.data import (
    DataConfig,
    SyntheticConfig,
    build_dataset,
    build_from_canonical,
    list_datasets,
    sources,
)
from benchmark.data.dataset import TRAIN_COLUMNS, eval_columns
from benchmark.data.loaders import load_amazon18
from benchmark.data.splits import leave_one_out

from .helpers import FIXTURES, data_cli, register_fixture, replace_spec

SMALL = DataConfig(synthetic=SyntheticConfig(n_items=120, n_users=80, branching=(3, 2, 2)))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """One small synthetic build shared by the read-only tests, in its own cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRBENCH_CACHE", str(tmp_path_factory.mktemp("synthetic-cache")))
        yield build_dataset("synthetic", SMALL)


def test_registry_lists_the_four_datasets() -> None:
    assert list_datasets() == ["amazon18-scientific", "amazon18-games", "amazon14-office", "synthetic"]


def test_contract_columns_and_types(synthetic) -> None:
    ds = synthetic
    assert list(ds.train.columns) == list(TRAIN_COLUMNS) and list(ds.preference.columns) == list(TRAIN_COLUMNS)
    columns = list(eval_columns(ds.config.protocol))
    assert list(ds.valid.columns) == columns and list(ds.test.columns) == columns
    assert ds.items["item_id"].tolist() == list(range(len(ds.items)))
    assert list(ds.items.columns) == ["item_id", "source_id", "title", "category", "brand", "text"]
    row = ds.train.iloc[0]
    assert all(isinstance(row[c], list) and all(type(v) is int for v in row[c])
               for c in ("history", "exposed", "clicks", "relevance"))
    assert isinstance(row["query"], str) and isinstance(ds.test.iloc[0]["relevant"], list)
    assert ds.item_popularity.shape == (len(ds.items),) and ds.item_popularity.dtype == np.int64
    assert ds.stats["synthetic"] is True


def test_impression_invariants(synthetic) -> None:
    ds, k, h = synthetic, synthetic.config.clicks.exposure_k, synthetic.config.history_len
    for row in ds.train.itertuples(index=False):
        assert 1 <= len(row.history) <= h and len(row.exposed) == len(row.clicks) == len(row.relevance) <= k
        assert len(set(row.exposed)) == len(row.exposed)
        at = row.exposed.index(row.target)  # always exposed ...
        assert row.clicks[at] == 1 and row.relevance[at] == 2  # ... clicked, the only grade-2 item
        assert row.relevance.count(2) == 1
    assert ds.train["impression_id"].tolist() == list(range(len(ds.train)))
    # item_popularity = click counts in train.
    counts = np.zeros(len(ds.items), dtype=np.int64)
    for exposed, clicks in zip(ds.train["exposed"], ds.train["clicks"]):
        for item, c in zip(exposed, clicks):
            counts[item] += c
    np.testing.assert_array_equal(ds.item_popularity, counts)


def test_preference_rows(synthetic) -> None:
    ds = synthetic
    eligible = {r.impression_id for r in ds.train.itertuples() if 1 in r.clicks and 0 in r.clicks}
    ids = ds.preference["impression_id"].tolist()
    assert set(ids) == eligible and len(ids) == len(eligible)
    assert ids != sorted(ids)  # shuffled
    first = ds.preference.iloc[0]
    assert first.to_dict() == ds.train.iloc[first["impression_id"]].to_dict()


def test_eval_splits(synthetic) -> None:
    ds = synthetic
    for split in (ds.valid, ds.test):
        assert sorted(split["query_id"]) == list(range(len(split)))
        assert split["query_id"].tolist() != list(range(len(split)))  # seeded shuffle
        for row in split.itertuples(index=False):
            assert row.target in row.relevant and row.relevant == sorted(row.relevant)
            assert len(row.history) >= 1
    assert ds.stats["positives_per_query"]["median"] >= 3
    assert ds.stats["pseudo_negative_rate"] > 0


def test_same_seed_same_hash_other_seed_other_hash(synthetic) -> None:
    again = build_dataset("synthetic", SMALL, force=True)
    assert (again.split_hash, again.test_hash) == (synthetic.split_hash, synthetic.test_hash)
    assert again.train.equals(synthetic.train) and again.test.equals(synthetic.test)
    other = build_dataset("synthetic", dataclasses.replace(SMALL, seed=1))
    assert other.split_hash != synthetic.split_hash and other.test_hash != synthetic.test_hash
    assert other.key != synthetic.key


def test_cache_reuse_force_and_key_changes(monkeypatch) -> None:
    calls = []

    def counting_source(files, config):
        calls.append(config)
        return sources.synthetic(files, config)

    replace_spec(monkeypatch, "synthetic", source=counting_source)
    first = build_dataset("synthetic", SMALL)
    second = build_dataset("synthetic", SMALL)
    assert len(calls) == 1 and second.path == first.path and second.split_hash == first.split_hash
    assert second.train.equals(first.train) and second.preference.equals(first.preference)
    assert second.items.equals(first.items) and second.test.equals(first.test)  # same dtypes fresh or cached
    assert second.stats == json.loads(json.dumps(first.stats))
    build_dataset("synthetic", SMALL, force=True)
    assert len(calls) == 2
    changed = build_dataset("synthetic", dataclasses.replace(SMALL, history_len=3))
    assert len(calls) == 3 and changed.key != first.key
    assert max(len(h) for h in changed.train["history"]) == 3
    manifest = json.loads((first.path / "manifest.json").read_text())
    assert manifest["split_hash"] == first.split_hash and manifest["config"]["seed"] == 0


@pytest.mark.parametrize("fmt,counts", [("scientific", (6, 4, 4)), ("games", (6, 4, 4)), ("office", (12, 2, 2))])
def test_registered_formats_build_from_fixtures(monkeypatch, fmt: str, counts: tuple[int, int, int]) -> None:
    spec = register_fixture(monkeypatch, fmt)
    ds = build_dataset(f"fixture-{fmt}", DataConfig(min_positives=2), data_dir=FIXTURES.parent / "nowhere-dir")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == counts
    assert ds.path is not None and (ds.path / "manifest.json").is_file()
    # Not in the data dir: the files came through the download path (file:// URLs), verified, into the cache.
    downloaded = ds.path.parents[2] / "downloads" / f"fixture-{fmt}"
    assert sorted(p.name for p in downloaded.iterdir()) == sorted(f.name for f in spec.files)
    assert build_dataset(f"fixture-{fmt}", DataConfig(min_positives=2)).split_hash == ds.split_hash


def test_office_fixture_details(monkeypatch) -> None:
    register_fixture(monkeypatch, "office")
    ds = build_dataset("fixture-office", DataConfig(min_positives=2), data_dir=FIXTURES.parent / "fixtures-root")
    items = ds.items.set_index("source_id")
    assert items.loc["O6", "brand"] == "Paper Mate" and items.loc["O6", "title"] == "Paper Mate Pens Blue"
    assert items.loc["O8", "brand"] == "" and items.loc["O8", "title"] == "Generic Labels Roll ®"
    assert ds.stats["valid_cutoff"] == 16 * 86400 and ds.stats["test_cutoff"] == 18 * 86400
    assert sorted(ds.test["target"].tolist()) == sorted(items.index.get_indexer(["O7", "O8"]).tolist())


def test_build_from_canonical_for_user_brought_data() -> None:
    data = load_amazon18(FIXTURES / "amazon18/reviews.json", FIXTURES / "amazon18/meta.json")
    ds = build_from_canonical("my-amazon18", data, leave_one_out(data.interactions, 10), DataConfig(min_positives=1))
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (1, 1, 2) and ds.path is None
    assert ds.train.iloc[0]["target"] == 0 and ds.train.iloc[0]["history"] == [2]  # B001 after B003


def test_cli_list_build_stats(monkeypatch, capsys) -> None:
    assert data_cli(monkeypatch, ["data", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in list_datasets()) and "generated (not public data)" in out
    args = ["--set", "synthetic.n_items=120", "--set", "synthetic.n_users=80", "--set", "synthetic.branching=[3, 2, 2]"]
    assert data_cli(monkeypatch, ["data", "build", "synthetic", "--seed", "3", *args]) == 0
    out = capsys.readouterr().out
    assert "pseudo-negatives" in out and "split_hash" in out
    assert data_cli(monkeypatch, ["data", "stats", "synthetic", "--json", "--seed", "3", *args]) == 0
    payload = json.loads(capsys.readouterr().out)
    expected = build_dataset("synthetic", dataclasses.replace(SMALL, seed=3))
    assert payload["split_hash"] == expected.split_hash and payload["stats"]["impressions"] == len(expected.train)
    assert data_cli(monkeypatch, ["data"]) == 0


def test_default_synthetic_regression_values() -> None:
    """The default smoke dataset under protocol 1 (its values from before protocol 2 existed; protocol 2
    regression values are in test_protocol2.py); exact counts and tight statistics (a protocol change must
    show up here)."""
    ds = build_dataset("synthetic", DataConfig(protocol=1))
    s = ds.stats
    assert (s["users"], s["items"], s["interactions"]) == (400, 600, 3748)
    assert (s["impressions"], s["valid_rows"], s["test_rows"]) == (2548, 400, 400)
    assert s["queries"]["distinct"] == 36 and s["positives_per_query"]["median"] == 17
    assert abs(s["pseudo_negative_rate"] - 0.5016) < 0.005
    assert abs(s["positives_per_impression"]["mean"] - 1.930) < 0.01
    assert abs(s["click_rate_by_rank"][0] - 0.7626) < 0.005
    assert ds.test.iloc[0]["query"] == build_dataset("synthetic", DataConfig(protocol=1)).test.iloc[0]["query"]
