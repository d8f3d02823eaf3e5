"""Cold-start items (benchmark.sids.coldstart): the seeded draw, the filtered split computed by hand on a tiny
dataset, the labels of the evaluated rows, and on the real amazon18-scientific split (GRBENCH_DATA) that no
training example, preference candidate, tower pair or popularity count touches a cold item."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.data import DataConfig
from benchmark.data.dataset import BuiltDataset
from benchmark.errors import ConfigError, DataError
from benchmark.sids.buckets import item_buckets
from benchmark.sids.coldstart import (
    COLD_RULE,
    DEFAULT_COLD_START,
    check_share,
    cold_items,
    cold_mask,
    hold_out_cold,
)
from benchmark.suite.stages import eval_queries


# ------------------------------------------------------------------------------------------------ the draw
def test_the_cold_draw_is_seeded_sized_and_pinned() -> None:
    first = cold_items(4385, 0.05, 0)
    assert len(first) == 219 == round(0.05 * 4385)  # amazon18-scientific's catalog
    assert np.array_equal(first, cold_items(4385, 0.05, 0))  # same seed: same items
    assert np.array_equal(first, np.unique(first)) and first.min() >= 0 and first.max() < 4385
    assert not np.array_equal(first, cold_items(4385, 0.05, 1))  # another dataset seed: other items
    assert len(cold_items(4385, 0.0, 0)) == 0
    # a nested draw: a larger share holds out the same items plus more (the first k of one permutation)
    assert set(first) <= set(cold_items(4385, 0.10, 0).tolist())
    # regression: a change of the draw must rename COLD_RULE (it is hashed into the runs that use it)
    assert cold_items(20, 0.25, 0).tolist() == [1, 3, 8, 9, 12] and COLD_RULE == "uniform-items-v1"


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, "0.05", True, None])
def test_a_bad_share_names_the_key(bad) -> None:
    with pytest.raises(ConfigError, match=r"The 'sid_builders.cold_start' parameter must be a float in the range"):
        check_share(bad, "sid_builders.cold_start")


def test_the_profile_default_is_five_percent() -> None:
    from benchmark.suite.profiles import SidBuildersSettings, load_profile

    field = {f.name: f for f in SidBuildersSettings.__dataclass_fields__.values()}["cold_start"]
    assert field.default == DEFAULT_COLD_START == 0.05
    for name in ("smoke", "quick", "full"):
        assert load_profile(name).sid_builders.cold_start == 0.05
    with pytest.raises(ConfigError, match=r"'sid_builders.cold_start' parameter must be a float in the range"):
        load_profile("smoke", ["sid_builders.cold_start=1.5"])


# ------------------------------------------------------------------------------------- a tiny split by hand
def _tiny() -> BuiltDataset:
    """Six items; with data seed 1 and share 1/3 the cold items are 2 and 3 (pinned below)."""
    train = pd.DataFrame({
        "impression_id": [0, 1, 2, 3, 4],
        "user": [0, 1, 2, 3, 4],
        "query": ["a", "b", "a", "c", "c"],
        "history": [[3, 4], [], [1], [0], [5]],
        "exposed": [[0, 2, 1], [2, 4], [1, 3], [5, 4], [4, 0, 3]],
        "clicks": [[1, 1, 0], [1, 0], [1, 0], [1, 1], [1, 0, 1]],
        "relevance": [[2, 1, 0], [2, 0], [2, 0], [2, 1], [2, 0, 1]],
        "target": [0, 2, 1, 5, 4],
    })
    order = [4, 1, 0, 2]  # the seeded preference order: every row with a click and an unclicked exposure
    evaluation = {"user": [9, 9], "query": ["a", "b"], "history": [[], []], "relevant": [[0], [1]],
                  "query_seen": [1, 1]}
    return BuiltDataset(
        name="tiny", config=DataConfig(seed=1), key="k", split_hash="s" * 64, test_hash="t" * 64,
        items=pd.DataFrame({"item_id": range(6), "text": [f"item {i}" for i in range(6)]}),
        train=train, preference=train.iloc[order].reset_index(drop=True),
        valid=pd.DataFrame({"query_id": [0, 1], **evaluation, "target": [3, 0]}),
        test=pd.DataFrame({"query_id": [0, 1, 2, 3], **{k: v * 2 for k, v in evaluation.items()},
                           "target": [2, 4, 3, 1]}),
        item_popularity=np.array([1, 1, 2, 1, 2, 1]), stats={"items": 6},
    )


def test_holding_out_the_cold_items_of_a_tiny_split() -> None:
    dataset = _tiny()
    assert cold_items(6, 1 / 3, 1).tolist() == [2, 3]
    cold = hold_out_cold(dataset, 1 / 3)
    # row 1 ordered item 2 (cold): dropped; the others lose items 2 and 3 from history, exposed, clicks, relevance
    assert cold.train["impression_id"].tolist() == [0, 2, 3, 4]
    assert cold.train["history"].tolist() == [[4], [1], [0], [5]]
    assert cold.train["exposed"].tolist() == [[0, 1], [1], [5, 4], [4, 0]]
    assert cold.train["clicks"].tolist() == [[1, 0], [1], [1, 1], [1, 0]]
    assert cold.train["relevance"].tolist() == [[2, 0], [2], [2, 1], [2, 0]]
    # preference: the seeded order of the rows still holding a pair (row 2 lost its only negative, item 3)
    assert cold.preference["impression_id"].tolist() == [4, 0]
    assert cold.preference["exposed"].tolist() == [[4, 0], [0, 1]]
    # popularity recounted from the kept clicks: 0: row 0; 1: row 2; 4: rows 3 and 4; 5: row 3
    assert cold.item_popularity.tolist() == [1, 1, 0, 0, 2, 1]
    assert cold.stats["cold_start"] == {
        "share": 1 / 3, "seed": 1, "items": 2, "train_rows_dropped": 1, "train_rows_edited": 3,
        "exposures_removed": 3, "clicks_removed": 2, "preference_before": 4, "preference_after": 2,
        "valid_rows": 1, "test_rows": 2, "rule": COLD_RULE}
    # evaluation splits and the test hash unchanged; the split hash is the cold variant's own
    assert cold.valid is dataset.valid and cold.test is dataset.test and cold.test_hash == dataset.test_hash
    assert cold.split_hash != dataset.split_hash and len(cold.split_hash) == 64
    assert hold_out_cold(_tiny(), 1 / 3).split_hash == cold.split_hash
    assert hold_out_cold(_tiny(), 0.5).split_hash != cold.split_hash
    # the input is left as it was
    assert dataset.train["exposed"].tolist()[0] == [0, 2, 1] and "cold_start" not in dataset.stats
    assert dataset.item_popularity.tolist() == [1, 1, 2, 1, 2, 1]
    assert hold_out_cold(dataset, 0.0) is dataset
    assert cold_mask(cold).tolist() == [False, False, True, True, False, False] and cold_mask(dataset) is None


def test_cold_test_rows_are_labelled_cold_and_the_rest_bucketed_among_warm_items() -> None:
    cold = hold_out_cold(_tiny(), 1 / 3)
    # warm items 0, 1, 4, 5 with 1, 1, 2, 1 clicks: item 4 alone first (head), the tie of three at mean rank 2 of 4
    # -> tercile floor(3 * 2 / 4) = 1 (torso)
    frame = eval_queries(type("P", (), {"dataset": cold})(), "test", None)
    assert frame["target_bucket"].tolist() == ["cold", "head", "cold", "torso"]
    assert eval_queries(type("P", (), {"dataset": cold})(), "valid", None)["target_bucket"].tolist() == ["cold", "torso"]


def test_item_buckets_by_hand() -> None:
    popularity = np.array([9, 5, 1, 0, 7, 3])
    mask = np.array([False, False, False, True, False, True])
    # warm counts 9, 5, 1, 7 -> ranks 0, 2, 3, 1 of 4 -> terciles 0, 1, 2, 0
    assert item_buckets(popularity, mask).tolist() == ["head", "torso", "tail", "cold", "head", "cold"]
    assert item_buckets(popularity).tolist() == ["head", "torso", "tail", "tail", "head", "torso"]
    with pytest.raises(DataError, match="cold mask must be a bool array of shape"):
        item_buckets(popularity, np.array([0, 1, 0, 0, 0, 0]))


# ------------------------------------------------------------------------------ the real split (GRBENCH_DATA)
def _scientific(data_dir) -> tuple[BuiltDataset, BuiltDataset]:
    """amazon18-scientific under the quick profile's data settings (those of its sids runs), and its cold view."""
    from benchmark.data import build_dataset
    from benchmark.suite.matrix import expand, resolve
    from benchmark.suite.profiles import load_profile

    profile = load_profile("quick")
    spec = expand(profile, only=("sids",))[0]
    base = build_dataset(spec.dataset, resolve(spec).data, data_dir=data_dir)
    return base, hold_out_cold(base, spec.cold_start)


@pytest.mark.publicdata
def test_no_training_signal_touches_a_cold_item_on_amazon18_scientific(public_data_dir) -> None:
    from benchmark.model import SidTokenizer
    from benchmark.sids.catalog import SidCatalog
    from benchmark.sids.dualtower import training_pairs
    from benchmark.training import build_examples

    base, cold = _scientific(public_data_dir)
    mask = cold_mask(cold)
    n = len(base.items)
    assert mask.sum() == round(0.05 * n) and 0.045 < mask.mean() < 0.055
    assert np.array_equal(np.flatnonzero(mask), cold_items(n, 0.05, base.config.seed))
    # the rows themselves: no cold target, click, exposure or history item in train or preference
    for frame in (cold.train, cold.preference):
        assert not mask[frame["target"].to_numpy(dtype=np.int64)].any()
        for column in ("exposed", "history"):
            assert not any(mask[i] for items in frame[column] for i in items), column
        assert all(len(e) == len(c) == len(r) for e, c, r in zip(frame["exposed"], frame["clicks"], frame["relevance"]))
    assert set(cold.preference["impression_id"]) <= set(cold.train["impression_id"])
    # popularity recount: the unfiltered recount is the build's own count, and cold items count 0
    from benchmark.sids.coldstart import _click_counts

    assert np.array_equal(_click_counts(base.train, n), base.item_popularity)
    assert (cold.item_popularity[mask] == 0).all() and (base.item_popularity[mask] > 0).any()
    # the dual tower's training pairs (what trained_tower reads) hold no cold item
    _, _, items = training_pairs(cold.train)
    assert len(items) and not mask[items].any()
    assert mask[training_pairs(base.train)[2]].any()  # ... while the full split's do
    # the training examples of both stages: no cold item is a positive, a negative or behind any candidate
    codes = np.stack([np.arange(n) // 100, np.arange(n) % 100], axis=1)  # one SID per item: no de-duplication
    catalog = SidCatalog(codes, (n // 100 + 1, 100), cold.item_popularity, cold.split_hash)
    tokenizer = SidTokenizer.build(cold.vocabulary_queries(), catalog.codebook_sizes)
    for stage, frame in (("sft", cold.train), ("preference", cold.preference)):
        examples = build_examples(frame, catalog, tokenizer, stage=stage, max_candidates=10_000)
        assert len(examples) == len(frame)
        assert not any(mask[i] for ex in examples for i in ex.item_ids), stage
        if stage == "preference":
            assert all(ex.n_negatives >= 1 for ex in examples)
    # the cold subset: test rows whose ordered item is cold, labelled; the evaluation splits are untouched
    test = eval_queries(type("P", (), {"dataset": cold})(), "test", None)
    labelled = test["target_bucket"].to_numpy() == "cold"
    assert np.array_equal(labelled, mask[test["target"].to_numpy(dtype=np.int64)])
    assert labelled.sum() == cold.stats["cold_start"]["test_rows"] > 0
    assert set(test["target_bucket"]) == {"head", "torso", "tail", "cold"}
    assert cold.test_hash == base.test_hash and len(cold.valid) == len(base.valid)
    stats = cold.stats["cold_start"]
    assert stats["train_rows_dropped"] == int(mask[base.train["target"].to_numpy(dtype=np.int64)].sum()) > 0
    assert len(cold.train) == len(base.train) - stats["train_rows_dropped"]
