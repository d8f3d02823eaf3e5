"""Popularity buckets (head / torso / tail terciles) and the per-bucket SID statistics: golden values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.errors import DataError
from benchmark.sids.buckets import popularity_buckets
from benchmark.sids.stats import bucket_stats


@pytest.mark.parametrize(
    ("popularity", "expected"),
    [
        ([9, 5, 1], ["head", "torso", "tail"]),
        ([1, 5, 9], ["tail", "torso", "head"]),  # labels follow the counts, not the positions
        ([4, 3, 2, 1], ["head", "head", "torso", "tail"]),  # mean ranks 0,1,2,3 of 4: 3r/4 = 0, .75, 1.5, 2.25
        ([3, 3, 3], ["torso", "torso", "torso"]),  # one tie group: mean rank 1 of 3
        ([5, 5, 1, 1, 1, 0], ["head", "head", "torso", "torso", "torso", "tail"]),  # tie means 0.5 and 3
        ([0, 0, 0, 0, 1], ["tail", "tail", "tail", "tail", "head"]),  # zeros' mean rank 2.5 -> torso, but tail
        ([0, 0, 0], ["tail", "tail", "tail"]),
        ([7], ["head"]),
        # a tie group spanning head and torso goes by its mean rank: 2.5 of 9 -> 3r/n = 0.83 -> head (no torso)
        ([2, 2, 2, 2, 2, 2, 1, 1, 1], ["head"] * 6 + ["tail"] * 3),
    ],
)
def test_golden_buckets(popularity: list[int], expected: list[str]) -> None:
    assert popularity_buckets(np.array(popularity)).tolist() == expected


def test_empty_and_invalid_input() -> None:
    assert popularity_buckets(np.zeros(0, np.int64)).tolist() == []
    with pytest.raises(DataError, match=">= 0"):
        popularity_buckets(np.array([1, -1]))
    with pytest.raises(DataError, match="1-D numeric"):
        popularity_buckets(np.array([[1, 2]]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=40), st.randoms())
def test_buckets_are_a_monotone_function_of_popularity(counts: list[int], rnd) -> None:
    popularity = np.array(counts)
    labels = popularity_buckets(popularity)
    rank = {"head": 0, "torso": 1, "tail": 2}
    order = np.array([rank[x] for x in labels])
    # equal counts -> equal labels; more clicks -> never a colder bucket; zero clicks -> tail
    for a in range(len(counts)):
        for b in range(len(counts)):
            if counts[a] == counts[b]:
                assert labels[a] == labels[b]
            elif counts[a] > counts[b]:
                assert order[a] <= order[b]
    assert (labels[popularity == 0] == "tail").all()
    # permuting the items permutes the labels
    perm = np.array(rnd.sample(range(len(counts)), len(counts)))
    assert popularity_buckets(popularity[perm]).tolist() == labels[perm].tolist()


def test_without_ties_the_buckets_are_terciles() -> None:
    labels = popularity_buckets(np.arange(1, 31)[::-1])
    assert [(labels == b).sum() for b in ("head", "torso", "tail")] == [10, 10, 10]


def test_bucket_stats_golden() -> None:
    # items 0..5; popularity -> head {0, 1}, torso {2, 3}, tail {4, 5}
    codes = np.array([[0, 0], [0, 0], [0, 1], [1, 0], [1, 1], [1, 1]])
    popularity = np.array([9, 8, 5, 4, 1, 0])
    preference = pd.DataFrame(
        {"exposed": [[0, 1, 3], [4, 5, 2]], "clicks": [[1, 0, 0], [1, 0, 1]], "target": [0, 4]}
    )
    stats = bucket_stats(codes, popularity, preference)
    assert list(stats) == ["overall", "head", "torso", "tail"]
    head, torso, tail, overall = stats["head"], stats["torso"], stats["tail"], stats["overall"]
    assert head["n_items"] == torso["n_items"] == tail["n_items"] == 2 and overall["n_items"] == 6
    assert head["collision_rate"] == 1.0 and torso["collision_rate"] == 0.0 and tail["collision_rate"] == 1.0
    assert overall["collision_rate"] == pytest.approx(4 / 6)
    assert head["items_per_sid_mean"] == 2.0 and torso["items_per_sid_mean"] == 1.0
    assert overall["items_per_sid_mean"] == pytest.approx(10 / 6) and overall["items_per_sid_max"] == 2
    assert head["code_length_mean"] == 2.0 and head["code_length_min"] == head["code_length_max"] == 2
    # every item shares its first token with another; full SIDs: items 0,1 and 4,5
    assert overall["prefix_shared"] == [1.0, pytest.approx(4 / 6)]
    assert torso["prefix_shared"] == [1.0, 0.0]
    # ordered x unclicked pairs: row 0 (target 0, head): (0,1) same SID, (0,3) nothing shared;
    # row 1 (target 4, tail): (4,5) same SID
    assert head["target_pairs"] == {"n_pairs": 2, "share_first_token": 0.5, "share_first_two_tokens": 0.5,
                                    "share_same_sid": 0.5}
    assert tail["target_pairs"]["n_pairs"] == 1 and tail["target_pairs"]["share_same_sid"] == 1.0
    assert torso["target_pairs"] == {"n_pairs": 0, "share_first_token": None, "share_first_two_tokens": None,
                                     "share_same_sid": None}
    assert overall["target_pairs"]["n_pairs"] == 3
    assert "target_pairs" not in bucket_stats(codes, popularity)["overall"]
