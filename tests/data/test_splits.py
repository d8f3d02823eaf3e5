"""Split rules, hand-computed."""

from __future__ import annotations

import numpy as np

from benchmark.data.canonical import make_interactions
from benchmark.data.splits import leave_one_out, rows_from_lists, temporal


def _rows(rows) -> list[tuple[int, list[int], int]]:
    return [(int(u), [int(i) for i in h if i >= 0], int(t)) for u, h, t in zip(rows.users, rows.history, rows.targets)]


def test_leave_one_out_golden() -> None:
    # User 0 bought 10, 11, 12, 13 in that order; user 1 bought 20, 21; input deliberately unordered.
    inter = make_interactions(np.array([1, 0, 0, 1, 0, 0]), np.array([21, 12, 10, 20, 11, 13]), None,
                              tiebreak=np.array([1, 2, 0, 0, 1, 3]))
    split = leave_one_out(inter, history_len=2)
    assert _rows(split.test) == [(0, [11, 12], 13), (1, [20], 21)]
    assert _rows(split.valid) == [(0, [10, 11], 12)]  # user 1's second-last item has no history
    assert _rows(split.train) == [(0, [10], 11)]
    assert split.test.history.tolist()[1] == [-1, 20]  # left-padded, most recent last


def test_temporal_golden() -> None:
    # Times 1..10; cutoffs at the 0.6 / 0.8 quantiles ("lower") = 6 and 8.
    users = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    items = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    times = np.array([1, 3, 7, 9, 10, 2, 4, 5, 6, 8])
    split, cutoffs = temporal(make_interactions(users, items, times), history_len=5, valid_quantile=0.6,
                              test_quantile=0.8)
    assert cutoffs == {"valid_cutoff": 6, "test_cutoff": 8}
    assert _rows(split.train) == [(0, [1], 2), (1, [6], 7), (1, [6, 7], 8), (1, [6, 7, 8], 9)]
    assert _rows(split.valid) == [(0, [1, 2], 3), (1, [6, 7, 8, 9], 10)]
    # First event after the test cutoff only; its history includes the valid-period event 3.
    assert _rows(split.test) == [(0, [1, 2, 3], 4)]


def test_rows_from_lists_truncates_and_drops_empty_histories() -> None:
    rows = rows_from_lists([0, 1, 2], [[1, 2, 3, 4], [], [5]], [9, 8, 7], history_len=3)
    assert _rows(rows) == [(0, [2, 3, 4], 9), (2, [5], 7)]


def test_content_hash_is_canonical_and_pinned() -> None:
    import hashlib

    import pyarrow as pa

    from benchmark.data.dataset import content_hash

    table = pa.table({"a": pa.array([1, 2], pa.int64()), "s": pa.array(["x", "yz"]), "l": pa.array([[1], [2, 3]])})
    same = pa.table({"a": pa.array([1, 2], pa.int32()), "s": pa.array(["x", "yz"], pa.large_string()),
                     "l": pa.array([[1], [2, 3]], pa.list_(pa.int32()))})
    # Hand-built digest of the documented canonical form (docs/DATA.md section 7).
    digest = hashlib.sha256()
    digest.update(b"\x01t:2\x01")
    digest.update(b"\x00a:int\x00" + np.array([1, 2], "<i8").tobytes())
    digest.update(b"\x00s:str\x00" + np.array([1, 2], "<i8").tobytes() + b"xyz")
    digest.update(b"\x00l:list<int>\x00" + np.array([1, 2], "<i8").tobytes() + np.array([1, 2, 3], "<i8").tobytes())
    assert content_hash({"t": table}) == content_hash({"t": same}) == digest.hexdigest()
    assert content_hash({"t": table}) == "e09470fd2710765a6200ab8790037d272525911ff4462a9806d5010a16730e50"
    assert content_hash({"t": table.slice(0, 1)}) != content_hash({"t": table})
