"""Train / valid / test rows: (user, history, ordered item), before queries and clicks are attached.

Every row has at least one history item (the prompt carries the user's recent items). Histories keep the
``history_len`` most recent items, most recent last. Rules (docs/DATA.md "Splits"):

- leave-one-out by order (no timestamps): per user, test = last item, valid = second last, train = every
  earlier item with a non-empty prefix;
- temporal (timestamps): global cutoffs at quantiles of all interaction times; train = interactions at or
  before the valid cutoff, valid / test = each user's first interaction after the valid / test cutoff;
- given rows (files that already hold (history, target) rows, e.g. UniSRec's train/valid/test.inter).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from benchmark.data.canonical import positions_within
from benchmark.errors import DataError


@dataclasses.dataclass(frozen=True)
class Rows:
    users: np.ndarray  # (N,) int64
    history: np.ndarray  # (N, H) int64, left-padded with -1, most recent item last
    targets: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.targets)

    def take(self, index: np.ndarray) -> Rows:
        return Rows(self.users[index], self.history[index], self.targets[index])


@dataclasses.dataclass(frozen=True)
class SplitRows:
    train: Rows
    valid: Rows
    test: Rows


def rows_from_lists(users: Sequence[int], histories: Sequence[Sequence[int]], targets: Sequence[int],
                    history_len: int) -> Rows:
    """Rows from explicit (user, history list, target) triples; rows with an empty history are dropped."""
    users_a = np.asarray(users, dtype=np.int64)
    targets_a = np.asarray(targets, dtype=np.int64)
    history = np.full((len(targets_a), history_len), -1, dtype=np.int64)
    for row, items in enumerate(histories):
        recent = list(items)[-history_len:]
        if recent:
            history[row, history_len - len(recent):] = recent
    keep = history[:, -1] >= 0
    return Rows(users_a[keep], history[keep], targets_a[keep])


def _histories(items: np.ndarray, starts: np.ndarray, positions: np.ndarray, history_len: int) -> np.ndarray:
    """History matrix for targets at flat ``positions`` of a user-sorted sequence; ``starts[i]`` is the first
    flat position of that target's user."""
    idx = positions[:, None] - np.arange(history_len, 0, -1, dtype=np.int64)[None, :]
    inside = idx >= starts[:, None]
    return np.where(inside, items[np.clip(idx, 0, None)], -1)


def _flat(interactions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """users, items, k (position within the user's sequence), user start position for every event."""
    frame = interactions.sort_values(["user", "order"], kind="stable")
    users = frame["user"].to_numpy(dtype=np.int64)
    items = frame["item"].to_numpy(dtype=np.int64)
    k = positions_within(users)
    starts = np.arange(len(users), dtype=np.int64) - k
    return users, items, k, starts


def leave_one_out(interactions: pd.DataFrame, history_len: int) -> SplitRows:
    """Per user: test = last item, valid = second last, train = items 1..n-3 (vectorised)."""
    users, items, k, starts = _flat(interactions)
    group_start = np.flatnonzero(k == 0)
    sizes = np.diff(np.r_[group_start, len(users)])
    from_end = np.repeat(sizes, sizes) - 1 - k  # 0 = the user's last item
    split = {
        "test": (from_end == 0) & (k >= 1),
        "valid": (from_end == 1) & (k >= 1),
        "train": (from_end >= 2) & (k >= 1),
    }
    rows = {}
    for name, mask in split.items():
        pos = np.flatnonzero(mask)
        rows[name] = Rows(users[pos], _histories(items, starts[pos], pos, history_len), items[pos])
    return SplitRows(**rows)


def temporal_cutoffs(times: np.ndarray, valid_quantile: float, test_quantile: float) -> tuple[int, int]:
    """The valid and test cutoffs: the interaction times at the given quantiles (an actual timestamp)."""
    if (times < 0).any():
        raise DataError("a temporal split needs a timestamp on every interaction; some are missing (-1).")
    cut_valid = int(np.quantile(times, valid_quantile, method="lower"))
    cut_test = int(np.quantile(times, test_quantile, method="lower"))
    return cut_valid, cut_test


def temporal(interactions: pd.DataFrame, history_len: int, valid_quantile: float,
             test_quantile: float) -> tuple[SplitRows, dict[str, int]]:
    """Global-cutoff split: train = events with time <= c_valid; valid = each user's first event in
    (c_valid, c_test]; test = each user's first event after c_test. Histories hold every earlier event of the
    user (what a system would know at that moment), so test histories may include valid-period events."""
    frame = interactions.sort_values(["user", "order"], kind="stable")
    times = frame["time"].to_numpy(dtype=np.int64)
    cut_valid, cut_test = temporal_cutoffs(times, valid_quantile, test_quantile)
    users, items, k, starts = _flat(frame)
    has_history = k >= 1
    masks = {
        "train": has_history & (times <= cut_valid),
        "valid": has_history & (times > cut_valid) & (times <= cut_test),
        "test": has_history & (times > cut_test),
    }
    rows = {}
    for name, mask in masks.items():
        pos = np.flatnonzero(mask)
        if name != "train":  # one per user: the first event of the window
            first = np.r_[True, users[pos][1:] != users[pos][:-1]] if len(pos) else np.zeros(0, dtype=bool)
            pos = pos[first]
        rows[name] = Rows(users[pos], _histories(items, starts[pos], pos, history_len), items[pos])
    return SplitRows(**rows), {"valid_cutoff": cut_valid, "test_cutoff": cut_test}
