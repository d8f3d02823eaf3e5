"""Canonical tables every loader produces: items and interactions (DESIGN.md section 3).

``items``: one row per item, ``item_id`` dense 0..n-1 (row i has item_id i), ``source_id`` (ASIN or the
source's own id, as a string), ``title``, ``category`` (path levels joined with " > ", "" if none), ``brand``,
``text`` (the encoder input; "" where the source has no item text, e.g. KuaiSAR's anonymised captions).

``interactions``: one row per (user, item) event, ``user`` dense int, ``item`` (an item_id), ``time`` (unix
seconds, -1 when the source has no timestamps), ``order`` (0-based position in the user's chronological
sequence). Sources with logged search queries add a ``query`` column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from benchmark.errors import DataError

ITEM_COLUMNS = ("item_id", "source_id", "title", "category", "brand", "text")
INTERACTION_COLUMNS = ("user", "item", "time", "order")
CATEGORY_SEPARATOR = " > "


@dataclasses.dataclass(frozen=True)
class CanonicalData:
    items: pd.DataFrame
    interactions: pd.DataFrame
    user_ids: tuple[str, ...]  # dense user index -> the source's user id
    source: str  # which loader / files produced it, for messages and manifests

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)


def make_items(
    source_ids: Sequence[str],
    titles: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    brands: Sequence[str] | None = None,
    texts: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The items table in dense-id order; missing text columns become "" (never NaN)."""
    n = len(source_ids)

    def column(values: Sequence[str] | None) -> list[str]:
        if values is None:
            return [""] * n
        return ["" if v is None else str(v) for v in values]

    items = pd.DataFrame(
        {
            "item_id": np.arange(n, dtype=np.int64),
            "source_id": [str(s) for s in source_ids],
            "title": column(titles),
            "category": column(categories),
            "brand": column(brands),
            "text": column(texts),
        }
    )
    return items


def compose_text(title: str, category: str, brand: str) -> str:
    """The encoder input for sources without their own item text: "title. category words. brand" (the
    UniSRec convention, so public and user-brought data embed alike)."""
    parts = [title.strip(), category.replace(CATEGORY_SEPARATOR, " ").strip(), brand.strip()]
    return ". ".join(p for p in parts if p)


def make_interactions(
    users: np.ndarray,
    items: np.ndarray,
    times: np.ndarray | None,
    tiebreak: np.ndarray | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Interactions sorted by (user, time, tiebreak) with a per-user ``order`` column.

    ``tiebreak`` (default: input position) orders events with equal timestamps, e.g. file order of a log whose
    times have day granularity. ``extra`` columns (e.g. a logged ``query``) are carried along in the same order.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    n = len(users)
    times = np.full(n, -1, dtype=np.int64) if times is None else np.asarray(times, dtype=np.int64)
    tiebreak = np.arange(n, dtype=np.int64) if tiebreak is None else np.asarray(tiebreak, dtype=np.int64)
    order = np.lexsort((tiebreak, times, users))
    users, items, times = users[order], items[order], times[order]
    frame = pd.DataFrame({"user": users, "item": items, "time": times, "order": positions_within(users)})
    for name, values in (extra or {}).items():
        frame[name] = np.asarray(values, dtype=object)[order]
    return frame


def positions_within(groups: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal values (``groups`` must be sorted)."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n, dtype=np.int64) - run_start


def dense_ids(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Map source ids to dense ints in sorted order (numerically when every id is a number):
    (codes, distinct ids in dense order)."""
    series = pd.Series(list(values), dtype=object)
    if len(series) and all(isinstance(v, str) and v.isdigit() for v in series):
        codes, uniques = pd.factorize(series.astype(np.int64), sort=True)
    else:
        codes, uniques = pd.factorize(series, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def validate(data: CanonicalData) -> CanonicalData:
    """Check the invariants downstream code relies on; a violation is a DataError naming the table/column."""
    items, inter = data.items, data.interactions
    missing = [c for c in ITEM_COLUMNS if c not in items.columns]
    if missing:
        raise DataError(f"{data.source}: items table lacks column(s) {missing}; expected {list(ITEM_COLUMNS)}.")
    if len(items) == 0:
        raise DataError(f"{data.source}: no items were read; expected at least one item.")
    if not np.array_equal(items["item_id"].to_numpy(), np.arange(len(items))):
        raise DataError(f"{data.source}: item_id must be dense 0..n-1 in row order.")
    missing = [c for c in INTERACTION_COLUMNS if c not in inter.columns]
    if missing:
        raise DataError(
            f"{data.source}: interactions table lacks column(s) {missing}; expected {list(INTERACTION_COLUMNS)}."
        )
    if len(inter) == 0:
        raise DataError(f"{data.source}: no interactions were read; expected at least one (user, item) event.")
    item_col = inter["item"].to_numpy()
    if item_col.min() < 0 or item_col.max() >= len(items):
        bad = int(item_col[(item_col < 0) | (item_col >= len(items))][0])
        raise DataError(f"{data.source}: interaction item {bad} is not an item_id in 0..{len(items) - 1}.")
    user_col = inter["user"].to_numpy()
    if user_col.min() < 0 or user_col.max() >= len(data.user_ids):
        raise DataError(f"{data.source}: interaction users must be dense 0..{len(data.user_ids) - 1}.")
    return data
