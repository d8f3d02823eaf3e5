"""Popularity buckets of items: head / torso / tail = terciles of training-interaction counts.

``popularity_buckets(popularity)`` labels every item from its training click count (``item_popularity``,
DESIGN.md section 3) alone, so the same counts always give the same labels:

1. Items are ranked by popularity, most popular first; tied items share the mean of their ranks (average
   ranking, 0-based), so ties are never split between buckets by an arbitrary order such as the item id.
2. An item with mean rank r among n items falls in tercile ``floor(3 r / n)``: 0 = head, 1 = torso,
   2 = tail. Without ties this gives sizes ceil/floor of n/3 (e.g. 4 items -> 2 head, 1 torso, 1 tail).
3. Items never interacted with in training (popularity 0) are always ``tail``, even when they are so many
   that their mean rank would fall in the torso: an item with no training signal is as cold as it gets.

Hand-computed examples (tests/sids/test_buckets.py):

    [9, 5, 1]           -> head, torso, tail
    [3, 3, 3]           -> torso, torso, torso    (one tie group, mean rank 1 of 3)
    [0, 0, 0, 0, 1]     -> tail x4, head          (zeros are tail, not torso)

Cold-start items (``benchmark.sids.coldstart``) form a fourth label: ``item_buckets(popularity, cold)`` labels
the cold items ``cold`` and the others by the terciles above computed over the other items only, so the share
of cold items does not move the head/torso/tail thresholds of the rest.
"""

from __future__ import annotations

import numpy as np

from benchmark.errors import DataError

BUCKETS = ("head", "torso", "tail")
COLD = "cold"
LABELS = (*BUCKETS, COLD)  # every value of a per-query ``target_bucket`` (benchmark.results.schema.TARGET_BUCKETS)


def popularity_buckets(popularity: np.ndarray) -> np.ndarray:
    """(N,) labels in ``BUCKETS`` (a numpy str array) for (N,) non-negative training click counts."""
    counts = np.asarray(popularity)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.number):
        raise DataError(f"popularity_buckets needs a 1-D numeric array; got {counts.dtype} {counts.shape}.")
    if len(counts) and (not np.isfinite(counts).all() or (counts < 0).any()):
        raise DataError("popularity_buckets: popularity counts must be finite and >= 0.")
    n = len(counts)
    if n == 0:
        return np.zeros(0, dtype="<U5")
    values = -counts.astype(np.float64)  # ascending order of -count = most popular first
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # Tie groups in sorted order: start index of each group, and each group's mean rank (first + last) / 2.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], n] - 1
    group_of = np.repeat(np.arange(len(starts)), ends - starts + 1)
    mean_rank = np.empty(n, dtype=np.float64)
    mean_rank[order] = ((starts + ends) / 2.0)[group_of]
    tercile = np.minimum((3 * mean_rank) // n, 2).astype(np.int64)
    tercile[counts == 0] = 2
    return np.asarray(BUCKETS)[tercile]


def item_buckets(popularity: np.ndarray, cold: np.ndarray | None = None) -> np.ndarray:
    """(N,) labels in ``LABELS``: ``cold`` where the (N,) bool ``cold`` mask is set, else the popularity tercile
    among the non-cold items (``popularity_buckets`` of their counts). ``cold=None``: no cold items."""
    counts = np.asarray(popularity)
    if cold is None:
        return popularity_buckets(counts)
    mask = np.asarray(cold)
    if mask.dtype != bool or mask.shape != counts.shape:
        raise DataError(f"item_buckets: the cold mask must be a bool array of shape {counts.shape}; "
                        f"got {mask.dtype} {mask.shape}.")
    labels = np.full(len(counts), COLD, dtype="<U5")
    labels[~mask] = popularity_buckets(counts[~mask])
    return labels
