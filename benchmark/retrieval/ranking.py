"""Shared by every baseline: the global popularity order, items -> SIDs at first occurrence, and the checks
on what ``rank`` is given. A SID keeps the score of the item that first put it in the ranking, so a baseline
whose item scores are non-increasing gives non-increasing SID scores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from benchmark.config import check_number
from benchmark.errors import DataError

Sid = tuple[int, ...]


def popularity_order(popularity: np.ndarray) -> np.ndarray:
    """(N,) item ids by training popularity descending, ties by item id ascending."""
    popularity = np.asarray(popularity, dtype=np.float64)
    return np.lexsort((np.arange(len(popularity)), -popularity))  # last key is the primary one


def item_sids(catalog: Any, n_items: int) -> list[Sid]:
    """The SID of every item 0..n_items-1 (``catalog.sid_of``), as plain tuples of ints."""
    return [tuple(int(c) for c in catalog.sid_of(item)) for item in range(n_items)]


def extend_ranking(
    sids: list[Sid],
    scores: list[float],
    seen: set[Sid],
    items: Iterable[int],
    item_scores: Iterable[float],
    sid_of: list[Sid],
    beam_width: int,
) -> None:
    """Append the SIDs of ``items`` (in order) not yet in ``seen`` until ``beam_width`` SIDs, in place."""
    for item, score in zip(items, item_scores):
        if len(sids) >= beam_width:
            return
        sid = sid_of[int(item)]
        if sid not in seen:
            seen.add(sid)
            sids.append(sid)
            scores.append(float(score))


def check_rank_args(owner: str, frame: pd.DataFrame, beam_width: int) -> None:
    """``rank``'s inputs: an int beam width >= 1 and a frame with the eval columns a baseline reads."""
    check_number(owner, "beam_width", beam_width, low=1, integer=True)
    missing = [c for c in ("query_id", "query") if c not in frame.columns]
    if missing:
        raise DataError(f"{owner}.rank: the frame lacks column(s) {missing}; it has {list(frame.columns)}.")


def check_fit_args(owner: str, dataset: Any, catalog: Any) -> int:
    """The number of items, after checking that the catalog and the popularity cover the same items."""
    n_items = len(dataset.item_popularity)
    n_catalog = getattr(catalog, "n_items", n_items)
    if n_catalog != n_items:
        raise DataError(
            f"{owner}: the SID catalog has {n_catalog} items but dataset {getattr(dataset, 'name', '?')!r} has "
            f"{n_items}; build the catalog from this dataset."
        )
    return n_items
