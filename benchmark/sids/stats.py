"""Statistics of a SID assignment (DESIGN.md section 4) and of the preference pairs it induces (section 3).

- collision rate: share of items whose SID is shared with at least one other item;
- items per SID: mean (n_items / distinct SIDs) and max;
- codebook use per level: distinct codes used / codebook size;
- code lengths: tokens per SID (mean, min, max and the count of items per length ``code_length_counts``; L for
  every item of a fixed-length catalog, for which ``code_stats`` leaves them out). Variable-length SIDs are rows right-padded with -1 (``SidCatalog``);
  two SIDs are equal only when their lengths are too, so (1,) and (1, 2) do not collide, and a "first d tokens"
  prefix of a SID shorter than d is the whole SID;
- preference pairs: over every (positive, negative) pair of a preference impression (positive = clicked,
  negative = exposed and unclicked), the share whose SIDs share the first token, the first two tokens, and the
  whole SID. The paper reports 34.6% / 1.9% for its training pairs on JD.com (section 1). Reported for all
  clicked x unclicked pairs and for the ordered item y_w* x unclicked pairs (what the pairwise baselines
  train on).
- per popularity bucket (``bucket_stats``): the collision rate, code lengths, items per SID, prefix-sharing
  shares and target-pair shares of the head / torso / tail items (``benchmark.sids.buckets``) and overall.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.errors import DataError


def code_stats(codes: np.ndarray, codebook_sizes: Sequence[int]) -> dict[str, Any]:
    """Collision, items-per-SID and codebook-use statistics of an (N, L) code matrix."""
    n_items = len(codes)
    _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    shared = counts[inverse.reshape(-1)] > 1
    used = [int(len(np.unique(codes[codes[:, level] >= 0, level]))) for level in range(codes.shape[1])]
    lengths = code_lengths(codes)
    return {
        "n_items": int(n_items),
        "levels": int(codes.shape[1]),
        "codebook_sizes": [int(k) for k in codebook_sizes],
        "distinct_sids": int(len(counts)),
        "collision_rate": float(shared.mean()) if n_items else 0.0,
        "colliding_sids": int((counts > 1).sum()),
        "items_per_sid_mean": float(n_items / len(counts)) if n_items else 0.0,
        "items_per_sid_max": int(counts.max()) if n_items else 0,
        "codebook_used": used,
        "codebook_usage": [u / k for u, k in zip(used, codebook_sizes)],
        # Only for variable-length codes: a fixed-length catalog's statistics (stored in run.json) keep the
        # keys they had before variable lengths existed.
        **(_length_stats(lengths, codes.shape[1]) if (lengths < codes.shape[1]).any() else {}),
    }


def code_lengths(codes: np.ndarray) -> np.ndarray:
    """(N,) number of codes of each row of an (N, L) matrix whose shorter SIDs are right-padded with -1."""
    return (np.asarray(codes) >= 0).sum(axis=1).astype(np.int64)


def _length_stats(lengths: np.ndarray, levels: int) -> dict[str, Any]:
    n = len(lengths)
    return {
        "code_length_mean": float(lengths.mean()) if n else None,
        "code_length_min": int(lengths.min()) if n else None,
        "code_length_max": int(lengths.max()) if n else None,
        # index l-1 holds the number of SIDs of l codes
        "code_length_counts": [int(c) for c in np.bincount(lengths, minlength=levels + 1)[1:]] if n else None,
    }


def _flatten_impressions(preference: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, item, clicked) arrays over every exposure of every preference impression."""
    exposed = preference["exposed"].tolist()
    clicks = preference["clicks"].tolist()
    lengths = np.array([len(e) for e in exposed], dtype=np.int64)
    if any(len(e) != len(c) for e, c in zip(exposed, clicks)):
        raise DataError("preference impressions: 'exposed' and 'clicks' must have the same length per row.")
    row = np.repeat(np.arange(len(exposed), dtype=np.int64), lengths)
    item = (
        np.concatenate([np.asarray(e, dtype=np.int64) for e in exposed])
        if len(exposed)
        else np.zeros(0, np.int64)
    )
    clicked = (
        np.concatenate([np.asarray(c) for c in clicks]).astype(bool) if len(clicks) else np.zeros(0, bool)
    )
    return row, item, clicked


def _prefix_ids(codes: np.ndarray, depth: int) -> np.ndarray:
    """Dense id per item of its length-``depth`` SID prefix: equal ids <=> equal prefixes."""
    _, inverse = np.unique(codes[:, :depth], axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def _shared_pair_count(row: np.ndarray, key: np.ndarray, is_pos: np.ndarray, n_keys: int) -> int:
    """Number of (positive, negative) pairs within the same row whose keys are equal.

    Per row and key value v, pos_count(v) * neg_count(v) pairs share v; summed without enumerating pairs.
    """
    joint = row * n_keys + key
    pos_keys, pos_counts = np.unique(joint[is_pos], return_counts=True)
    neg_keys, neg_counts = np.unique(joint[~is_pos], return_counts=True)
    _, i, j = np.intersect1d(pos_keys, neg_keys, assume_unique=True, return_indices=True)
    return int(np.sum(pos_counts[i] * neg_counts[j]))


def preference_pair_shares(codes: np.ndarray, preference: Any) -> dict[str, Any]:
    """Shares of preference (positive, negative) pairs whose SIDs share leading tokens (module docstring)."""
    row, item, clicked = _flatten_impressions(preference)
    n_rows = int(row.max()) + 1 if len(row) else 0
    pos_per_row = np.bincount(row[clicked], minlength=n_rows)
    neg_per_row = np.bincount(row[~clicked], minlength=n_rows)
    n_pairs = int(np.sum(pos_per_row * neg_per_row))

    targets = preference["target"].to_numpy().astype(np.int64)
    negatives = ~clicked
    target_of_negative = targets[row[negatives]] if len(row) else np.zeros(0, np.int64)
    n_target_pairs = int(negatives.sum())

    depths = {"share_first_token": 1, "share_first_two_tokens": 2, "share_same_sid": codes.shape[1]}
    all_pairs: dict[str, Any] = {"n_pairs": n_pairs}
    target_pairs: dict[str, Any] = {"n_pairs": n_target_pairs}
    for name, depth in depths.items():
        if depth > codes.shape[1]:
            all_pairs[name] = target_pairs[name] = None
            continue
        ids = _prefix_ids(codes, depth)
        shared = _shared_pair_count(row, ids[item], clicked, int(ids.max()) + 1)
        all_pairs[name] = shared / n_pairs if n_pairs else None
        same = ids[target_of_negative] == ids[item[negatives]]
        target_pairs[name] = float(same.mean()) if n_target_pairs else None
    return {"preference_pairs": all_pairs, "target_pairs": target_pairs}


def _shares_prefix(codes: np.ndarray, depth: int) -> np.ndarray:
    """(N,) bool: the item's length-``depth`` SID prefix is also the prefix of at least one other item."""
    ids = _prefix_ids(codes, depth)
    return np.bincount(ids)[ids] > 1


def bucket_stats(
    codes: np.ndarray, popularity: np.ndarray, preference: Any | None = None
) -> dict[str, dict[str, Any]]:
    """SID statistics overall and per popularity bucket (``benchmark.sids.buckets``: head / torso / tail).

    Per group of items (``overall`` = every item), over the group's items:

    - ``n_items``; ``code_length_mean`` / ``_min`` / ``_max`` (tokens per SID: L for every item of a
      fixed-length catalog);
    - ``collision_rate``: share whose SID is shared with at least one other item of the catalog (any bucket);
    - ``items_per_sid_mean``: mean number of catalog items holding the item's SID (item-weighted: 1.0 means
      every item of the group is alone on its SID), ``items_per_sid_max``;
    - ``prefix_shared``: per depth d = 1..L, the share whose first d tokens are also the first d tokens of
      another item (d = L is the collision rate);
    - with ``preference``: ``target_pairs``, the ordered-item x unclicked pairs (as in
      :func:`preference_pair_shares`) whose ordered item is in the group: ``n_pairs`` and the shares whose
      SIDs share the first token, the first two tokens and the whole SID.
    """
    from benchmark.sids.buckets import BUCKETS, popularity_buckets

    codes = np.asarray(codes, dtype=np.int64)
    labels = popularity_buckets(popularity)
    n_items, levels = codes.shape
    group_size = np.bincount(_prefix_ids(codes, levels))[_prefix_ids(codes, levels)]
    shared = np.stack([_shares_prefix(codes, d) for d in range(1, levels + 1)], axis=1)  # (N, L)
    lengths = code_lengths(codes)
    pair_item = pair_target = None
    if preference is not None:
        row, item, clicked = _flatten_impressions(preference)
        targets = preference["target"].to_numpy().astype(np.int64)
        pair_item, pair_target = item[~clicked], targets[row[~clicked]] if len(row) else np.zeros(0, np.int64)
    depths = {"share_first_token": 1, "share_first_two_tokens": 2, "share_same_sid": levels}
    out: dict[str, dict[str, Any]] = {}
    for group in ("overall", *BUCKETS):
        mask = np.ones(n_items, bool) if group == "overall" else labels == group
        n = int(mask.sum())
        entry: dict[str, Any] = {
            "n_items": n,
            **_length_stats(lengths[mask], levels),
            "collision_rate": float(shared[mask, -1].mean()) if n else None,
            "items_per_sid_mean": float(group_size[mask].mean()) if n else None,
            "items_per_sid_max": int(group_size[mask].max()) if n else None,
            "prefix_shared": [float(v) for v in shared[mask].mean(axis=0)] if n else None,
        }
        if pair_item is not None and pair_target is not None:
            in_group = mask[pair_target]
            pairs: dict[str, Any] = {"n_pairs": int(in_group.sum())}
            for name, depth in depths.items():
                if depth > levels:
                    pairs[name] = None
                    continue
                ids = _prefix_ids(codes, depth)
                same = ids[pair_target[in_group]] == ids[pair_item[in_group]]
                pairs[name] = float(same.mean()) if len(same) else None
            entry["target_pairs"] = pairs
        out[group] = entry
    return out
