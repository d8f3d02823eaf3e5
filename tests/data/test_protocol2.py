"""Data protocol 2 (DESIGN.md section 3): held-out queries, the query_seen column, the training-only vocabulary,
and protocol 1 builds that stay byte-identical to the builds made before protocol 2 existed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import numpy as np
import pytest

from benchmark.data import DataConfig, SyntheticConfig, build_dataset
from benchmark.data.build import choose_queries
from benchmark.data.dataset import EVAL_COLUMNS, SEEN_COLUMN, eval_columns
from benchmark.data.holdout import N_SIZE_BUCKETS, hold_out_queries, size_buckets, stratum_quota
from benchmark.data.registry import get_spec
from benchmark.data.resolve import resolve_files
from benchmark.data.stats import format_stats
from benchmark.errors import ConfigError

SMALL = DataConfig(synthetic=SyntheticConfig(n_items=200, n_users=120))

# Computed with the code before protocol 2 existed (commit baef1b5, whose DataConfig had no protocol field) by
# build_dataset("synthetic", DataConfig(<the same other settings>)) -> (split_hash, test_hash, sha256 of
# item_popularity as little-endian int64). Protocol 1 must reproduce them exactly, so old results stay valid.
PROTOCOL1_HASHES = {
    "default": ("7b2880afb5189565af8327a0176fcb06157a0632acd9930ef710ad8ed34e0c94",
                "7a7360536ac193d539c950aabe1024aa9a6949051145be00c56b7d3a0f95f2ec",
                "ca1d00f7a452b363066fa8a33f843168377a1095f93c17369971299192cf49aa"),
    "seed3": ("354699dc51d9296b77889003b8d5a178dfcae1b4d2b48b808085e3ef3c868294",
              "9ca9347f7e3bef996b441195b5f51d8d33b66f3dc56cdc2f82874b83d4a0bfe7",
              "5b74352639f369922eb4763448ebe4d6de67dbede207ea0db62a11e4540ba00a"),
    "small": ("2983063ea751942787e7fb9fdc2686a46ef0030a83997ba0bbe0c39b97f0d6a3",
              "5be48fddf1b91c6dab6cb47d839a91c052dd7bc38c335558e6df03f77a947bf0",
              None),
}
PROTOCOL1_CONFIGS = {"default": DataConfig(protocol=1), "seed3": DataConfig(protocol=1, seed=3),
                     "small": dataclasses.replace(SMALL, protocol=1)}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRBENCH_CACHE", str(tmp_path_factory.mktemp("protocol2-cache")))
        yield


@pytest.fixture(scope="module")
def v2(cache):
    """The default synthetic dataset under protocol 2 (the default protocol)."""
    return build_dataset("synthetic")


@pytest.fixture(scope="module")
def v1(cache):
    return build_dataset("synthetic", DataConfig(protocol=1))


def _choice(config: DataConfig):
    """The query choice of a synthetic build (what assemble draws before exposure)."""
    spec = get_spec("synthetic")
    data, rows, _ = spec.source(resolve_files(spec, None), config)
    return choose_queries(data, rows, config)


@pytest.mark.parametrize("name", sorted(PROTOCOL1_HASHES))
def test_protocol1_reproduces_the_builds_before_protocol2(cache, name: str) -> None:
    ds = build_dataset("synthetic", PROTOCOL1_CONFIGS[name])
    split_hash, test_hash, popularity = PROTOCOL1_HASHES[name]
    assert (ds.split_hash, ds.test_hash) == (split_hash, test_hash)
    if popularity is not None:
        assert hashlib.sha256(ds.item_popularity.astype("<i8").tobytes()).hexdigest() == popularity
    assert tuple(ds.valid.columns) == tuple(ds.test.columns) == EVAL_COLUMNS == eval_columns(1)
    assert ds.stats["protocol"] == 1 and ds.stats["seen"]["held_out_queries"] == 0


@pytest.mark.parametrize("field,value,allowed", [
    ("protocol", 3, "an int in the range [1, 2]"), ("protocol", 0, "an int in the range [1, 2]"),
    ("protocol", 2.0, "an int in the range [1, 2]"), ("protocol", True, "an int in the range [1, 2]"),
    ("unseen_query_share", 1.0, "a float in the range [0, 1)"),
    ("unseen_query_share", -0.1, "a float in the range [0, 1)"),
])
def test_protocol_fields_are_validated(field: str, value, allowed: str) -> None:
    with pytest.raises(ConfigError) as info:
        DataConfig(**{field: value})
    assert str(info.value) == f"The '{field}' parameter of DataConfig must be {allowed}. Got {value!r} instead."


def test_defaults() -> None:
    config = DataConfig()
    assert (config.protocol, config.unseen_query_share) == (2, 0.15)


def test_size_buckets_and_quota_golden() -> None:
    # 10 queries ranked by (size, position): ties keep their order, 2 per quintile.
    sizes = np.array([5, 1, 1, 9, 3, 3, 3, 7, 2, 4])
    np.testing.assert_array_equal(size_buckets(sizes), [3, 0, 0, 4, 1, 2, 2, 4, 1, 3])
    assert [stratum_quota(n, 0.15) for n in (0, 1, 3, 4, 7, 10, 100)] == [0, 0, 0, 1, 1, 2, 15]
    assert stratum_quota(10, 0.25) == 3  # 2.5 rounds up


def test_hold_out_is_stratified_and_seeded() -> None:
    candidates = np.arange(100, 600, 5)  # 100 query ids
    sizes = (np.arange(100) * 7919) % 53 + 3
    held = hold_out_queries(candidates, sizes, 0.15, np.random.default_rng(0))
    assert len(held) == 15 and np.all(np.diff(held) > 0) and set(held) <= set(candidates)
    buckets = size_buckets(sizes)
    for b in range(N_SIZE_BUCKETS):
        assert np.isin(candidates[buckets == b], held).sum() == 3
    np.testing.assert_array_equal(held, hold_out_queries(candidates, sizes, 0.15, np.random.default_rng(0)))
    assert not np.array_equal(held, hold_out_queries(candidates, sizes, 0.15, np.random.default_rng(1)))
    assert len(hold_out_queries(candidates, sizes, 0.0, np.random.default_rng(0))) == 0


def test_held_out_share_per_size_bucket(v2) -> None:
    queries, (q_train, q_valid, q_test), held = _choice(v2.config)
    candidates = np.unique(np.concatenate([q_train, q_valid, q_test]))
    buckets = size_buckets(queries.relevant.sizes[candidates])
    assert len(held) == v2.stats["seen"]["held_out_queries"] > 0
    for b in range(N_SIZE_BUCKETS):
        members = candidates[buckets == b]
        n_held = int(np.isin(members, held).sum())
        assert n_held == stratum_quota(len(members), 0.15)
        assert abs(n_held - 0.15 * len(members)) <= 0.5
    # Size strata: every query of a lower bucket is at most as large as any of a higher one.
    sizes = queries.relevant.sizes[candidates]
    for b in range(N_SIZE_BUCKETS - 1):
        assert sizes[buckets == b].max() <= sizes[buckets == b + 1].min()


def test_no_held_out_query_in_train_or_preference(v1, v2) -> None:
    queries, _, held = _choice(v2.config)
    held_texts = {queries.texts[q] for q in held}
    assert held_texts and not held_texts & set(v2.train["query"]) and not held_texts & set(v2.preference["query"])
    # Valid/test rows keep their queries (and order): the protocol-1 eval tables plus query_seen.
    assert held_texts & set(v2.test["query"])
    for split in ("valid", "test"):
        frame = getattr(v2, split)
        assert tuple(frame.columns) == eval_columns(2) and frame[SEEN_COLUMN].dtype == np.int64
        assert frame.drop(columns=SEEN_COLUMN).equals(getattr(v1, split))
    # Train = the protocol-1 rows whose query is kept, in order, renumbered densely.
    kept = v1.train[~v1.train["query"].isin(held_texts)].reset_index(drop=True)
    assert len(v2.train) == len(kept) == len(v1.train) - v2.stats["seen"]["removed_train_rows"]
    for column in ("user", "query", "history", "target"):
        assert v2.train[column].tolist() == kept[column].tolist()
    assert v2.train["impression_id"].tolist() == list(range(len(v2.train)))
    assert set(v2.preference["impression_id"]) <= set(v2.train["impression_id"])


def test_query_seen_matches_the_training_table(v2) -> None:
    train_queries = set(v2.train["query"])
    for frame in (v2.valid, v2.test):
        assert set(frame[SEEN_COLUMN].unique()) == {0, 1}
        in_train = frame["query"].isin(train_queries).to_numpy()
        np.testing.assert_array_equal(frame[SEEN_COLUMN].to_numpy() == 1, in_train)
    seen = v2.stats["seen"]
    test_unseen = v2.test[SEEN_COLUMN] == 0
    assert seen["test_unseen_row_share"] == pytest.approx(test_unseen.mean(), abs=1e-6)
    assert seen["query_seen_share"]["test"] == pytest.approx(1 - test_unseen.mean(), abs=1e-6)
    distinct = v2.test.drop_duplicates("query")
    assert seen["test_unseen_distinct_share"] == pytest.approx((distinct[SEEN_COLUMN] == 0).mean(), abs=1e-6)
    pairs = set(zip(v2.train["query"], v2.train["target"]))
    pair_seen = [p in pairs for p in zip(v2.test["query"], v2.test["target"])]
    assert seen["test_pair_seen_share"] == pytest.approx(np.mean(pair_seen), abs=1e-6)
    assert seen["test_target_seen_share"] == pytest.approx(v2.test["target"].isin(set(v2.train["target"])).mean(),
                                                          abs=1e-6)
    assert "held-out queries" in format_stats(v2.stats)


def test_default_synthetic_protocol2_regression_values(v2) -> None:
    """Exact counts of the default smoke dataset under protocol 2 (a protocol change must show up here)."""
    s, seen = v2.stats, v2.stats["seen"]
    assert s["protocol"] == 2 and (s["impressions"], s["valid_rows"], s["test_rows"]) == (2212, 400, 400)
    assert (seen["held_out_queries"], seen["removed_train_rows"]) == (5, 336)
    assert seen["test_unseen_row_share"] == pytest.approx(0.115)
    assert seen["test_unseen_distinct_share"] == pytest.approx(5 / 36, abs=1e-6)


def test_same_seed_same_tables_other_seed_other_hold_out(v2) -> None:
    again = build_dataset("synthetic", force=True)
    assert (again.split_hash, again.test_hash) == (v2.split_hash, v2.test_hash)
    assert again.train.equals(v2.train) and again.test.equals(v2.test) and again.preference.equals(v2.preference)
    other_config = DataConfig(seed=1)
    _, _, held = _choice(v2.config)
    _, _, other_held = _choice(other_config)
    assert not np.array_equal(held, other_held)
    other = build_dataset("synthetic", other_config)
    assert other.split_hash != v2.split_hash and other.test_hash != v2.test_hash
    # A cached load carries query_seen with the same dtype as a fresh build.
    cached = build_dataset("synthetic")
    assert cached.test.equals(v2.test) and cached.valid.equals(v2.valid)


def test_share_zero_keeps_training_but_flags_eval_queries(cache, v1) -> None:
    ds = build_dataset("synthetic", DataConfig(unseen_query_share=0.0))
    assert ds.stats["seen"]["held_out_queries"] == 0 and len(ds.train) == len(v1.train)
    assert ds.test.drop(columns=SEEN_COLUMN).equals(v1.test)


def _words(texts) -> set[str]:
    return {w for t in texts for w in re.findall(r"\w+|[^\w\s]+", str(t).lower())}


def test_vocabulary_queries_follow_the_protocol(v1, v2) -> None:
    assert v2.vocabulary_queries() == v2.train["query"].tolist()
    assert v1.vocabulary_queries() == [*v1.train["query"], *v1.valid["query"], *v1.test["query"]]


@pytest.mark.parametrize("protocol", [1, 2])
def test_prepared_tokenizer_learns_training_words_only_under_protocol2(cache, protocol: int) -> None:
    from benchmark.suite.stages import _build_prepared

    data = {"protocol": protocol, "synthetic": {"n_items": 200, "n_users": 120}}
    prepared = _build_prepared("synthetic", json.dumps(data), json.dumps({"encoder": "cooccurrence"}), None)
    ds, tokenizer = prepared.dataset, prepared.tokenizer
    vocab = set(tokenizer.fast.get_vocab())
    train_words = _words(ds.train["query"])
    eval_only = _words([*ds.valid["query"], *ds.test["query"]]) - train_words
    assert train_words <= vocab
    if protocol == 2:
        assert eval_only and not eval_only & vocab
        word = sorted(eval_only)[0]
        assert tokenizer.fast(word, add_special_tokens=False)["input_ids"] == [tokenizer.unk_id]
    else:
        assert eval_only <= vocab  # protocol 1 keeps its old vocabulary (reproducing its results)


@pytest.mark.publicdata
def test_amazon18_scientific_protocol2(public_data_dir) -> None:
    ds = build_dataset("amazon18-scientific", data_dir=public_data_dir)
    seen = ds.stats["seen"]
    assert ds.stats["protocol"] == 2 and ds.stats["build_seconds"] < 60
    assert seen["test_unseen_distinct_share"] > 0.10 and seen["test_unseen_row_share"] > 0.05
    unseen = set(ds.test.loc[ds.test[SEEN_COLUMN] == 0, "query"]) | set(ds.valid.loc[ds.valid[SEEN_COLUMN] == 0, "query"])
    assert unseen and not unseen & set(ds.train["query"])
    assert (ds.test[SEEN_COLUMN] == 1).equals(ds.test["query"].isin(set(ds.train["query"])))
