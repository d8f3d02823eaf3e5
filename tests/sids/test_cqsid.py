"""CQ-SID: groups (category nodes, dominant training queries), the category-aware loss and the code shares by
hand, the level-0 constraint in both regimes, determinism, and a build that never reads validation or test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.sids import SidConfig, build_sids
from benchmark.sids.config import CqSidConfig, DualTowerConfig
from benchmark.sids.cqsid import (
    category_loss,
    category_nodes,
    constrained_level,
    cqsid_codes,
    dominant_queries,
    item_groups,
    shares,
)

from .test_dualtower import PoisonedDataset, QueryDataset, query_dataset

TOWER = DualTowerConfig(epochs=3, batch_size=64, hidden=32, lr=3e-3)


def categorised(cls: type = QueryDataset, uncategorised: tuple[int, ...] = ()) -> QueryDataset:
    """The tiny query catalog with category paths Store > topic > sub-topic (a topic's items alternate
    between two templates, i.e. two sub-topics); items in ``uncategorised`` get no path."""
    dataset = query_dataset(cls)
    per_topic = len(dataset.items) // 4
    paths = [f"Store > topic {i // per_topic} > kind {i % 2}" for i in range(len(dataset.items))]
    for item in uncategorised:
        paths[item] = ""
    dataset.items = dataset.items.assign(category=paths)
    return dataset


def test_category_nodes_golden() -> None:
    paths = ["Dept > A > x", "Dept > B", "", "Dept > A > y"]
    # build_tree numbers nodes in order of appearance: Dept 0, A 1, x 2, B 3, y 4; Dept is the shared root.
    assert category_nodes(paths, 0).tolist() == [1, 3, -1, 1]
    assert category_nodes(paths, 1).tolist() == [2, 3, -1, 4]  # B has no level 1: its deepest node
    assert category_nodes(["A > x", "B > y"], 0).tolist() == [0, 2]  # two departments: no shared root


def test_dominant_queries_golden() -> None:
    train = pd.DataFrame({
        "query": ["b", "a", "a", "c"],
        "exposed": [[0, 1], [0, 2], [0, 1], [1, 3]],
        "clicks": [[1, 1], [1, 0], [0, 1], [1, 0]],
    })
    queries, dominant = dominant_queries(train, 5)
    assert queries == ["a", "b", "c"]
    # item 0: a x1, b x1 -> tie, "a" first; item 1: a, b, c once each -> "a"; items 2-4 never clicked
    assert dominant.tolist() == [0, 0, -1, -1, -1]
    train.loc[3, "clicks"] = [1, 0]
    train.loc[1, "clicks"] = [0, 0]
    train = pd.concat([train, train.iloc[[0]]], ignore_index=True)  # "b" clicks item 0 and 1 again
    assert dominant_queries(train, 5)[1].tolist() == [1, 1, -1, -1, -1]


def test_item_groups_categories_first_then_queries() -> None:
    dataset = categorised(uncategorised=(0, 1))
    groups = item_groups(dataset, 0)
    n = len(dataset.items)
    assert sorted(set(groups[2:].tolist())) == [0, 1, 2, 3]  # four topics
    _, dominant = dominant_queries(dataset.train, n)
    for item in (0, 1):  # a query group after the categories, or none when never clicked in training
        assert groups[item] == -1 if dominant[item] < 0 else groups[item] >= 4
    assert item_groups(categorised(), 1).max() == 7  # eight sub-topics, no query group


def test_category_loss_golden() -> None:
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    groups = np.array([0, 0, 1])  # items 0 and 1 share a group
    loss = category_loss(groups, weight=2.0, temperature=1.0)(q, v, torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))
    # row 0: logits (1, 0, 0.6), positives {0, 1}: 2 * (log(e + 1 + e^0.6) - log(e + 1))
    row0 = 2 * (math.log(math.e + 1 + math.exp(0.6)) - math.log(math.e + 1))
    # row 2 (group 1 alone): logits (1, 0, 0.6), positives {2}
    row2 = 2 * (math.log(math.e + 1 + math.exp(0.6)) - 0.6)
    assert loss[0].item() == pytest.approx(row0, rel=1e-6) and loss[2].item() == pytest.approx(row2, rel=1e-6)


def test_shares_golden() -> None:
    # sizes 6, 3, 1 over 5 codes: one each, 2 spare -> quotas 1.2, 0.6, 0.2 -> floors 1, 0, 0, the last
    # spare code to the largest remainder (0.6)
    assert shares(np.array([6, 3, 1]), 5).tolist() == [2, 2, 1]
    assert shares(np.array([1, 1]), 2).tolist() == [1, 1]
    assert shares(np.array([2, 2]), 5).tolist() == [3, 2]  # remainder tie: the lower group


def _clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 6)).astype(np.float32)
    groups = np.repeat(np.arange(6), 10)
    groups[:3] = -1  # three items without a group
    return x, groups


def test_level0_split_never_mixes_groups() -> None:
    x, groups = _clusters()
    centroids, codes = constrained_level(x, groups, 12, seed=0, iters=10)  # 6 groups <= 12 codes
    assert centroids.shape == (12, 6) and codes.min() >= 0 and codes.max() < 12
    grouped = groups >= 0
    for code in np.unique(codes[grouped]):
        assert len(np.unique(groups[grouped][codes[grouped] == code])) == 1
    assert len(np.unique(codes[grouped])) > 6  # groups got more than one code each
    used = np.unique(codes[grouped])
    for item in np.flatnonzero(~grouped):  # the nearest centroid in use
        distances = ((centroids[used] - x[item]) ** 2).sum(axis=1)
        assert codes[item] == used[np.argmin(distances)]


def test_level0_merge_keeps_every_group_on_one_code() -> None:
    x, groups = _clusters()
    centroids, codes = constrained_level(x, groups, 4, seed=0, iters=10)  # 6 groups > 4 codes
    assert codes.min() >= 0 and codes.max() < 4
    for group in range(6):
        assert len(np.unique(codes[groups == group])) == 1
    for code in np.unique(codes[groups >= 0]):  # centroid = mean of its grouped items
        members = (codes == code) & (groups >= 0)
        np.testing.assert_allclose(centroids[code], x[members].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_codes_in_range_and_seeded() -> None:
    x, groups = _clusters()
    codes, books, mse = cqsid_codes(x, groups, (8, 5, 3), seed=2, iters=10)
    again, _, _ = cqsid_codes(x, groups, (8, 5, 3), seed=2, iters=10)
    np.testing.assert_array_equal(codes, again)
    assert [b.shape[0] for b in books] == [8, 5, 3]
    assert (codes >= 0).all() and (codes < np.array([8, 5, 3])).all()
    assert list(mse) == sorted(mse, reverse=True)


def test_build_reads_no_validation_or_test_and_keeps_the_category_constraint() -> None:
    dataset = categorised(PoisonedDataset)
    config = SidConfig(builder="cqsid", codebook_sizes=(8, 3, 2), tower=TOWER)
    catalog = build_sids(dataset, config)
    groups = item_groups(dataset, 0)
    assert catalog.build_info["cqsid"] == {"groups": 4, "ungrouped_items": 0, "level0": "split"}
    for code in np.unique(catalog.codes[:, 0]):  # split: a level-0 code holds one topic
        assert len(np.unique(groups[catalog.codes[:, 0] == code])) == 1
    assert set(catalog.config) >= {"tower", "cqsid"} and "acrq" not in catalog.config
    np.testing.assert_array_equal(build_sids(dataset, config, force=True).codes, catalog.codes)
    merged = build_sids(dataset, SidConfig(builder="cqsid", codebook_sizes=(2, 3, 2), tower=TOWER))
    for group in range(4):  # merge: a topic's items share their level-0 code
        assert len(np.unique(merged.codes[groups == group, 0])) == 1


def test_tower_key_separates_cqsid_from_the_plain_dual_tower() -> None:
    dataset = categorised()
    keys = {
        build_sids(dataset, SidConfig(builder=name, codebook_sizes=(8, 3, 2), tower=TOWER, cqsid=cq)).build_info[
            "tower_key"]
        for name, cq in (("dualtower", CqSidConfig()), ("cqsid", CqSidConfig()),
                         ("cqsid", CqSidConfig(category_weight=1.0)))
    }
    assert len(keys) == 3
