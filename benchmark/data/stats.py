"""Dataset statistics stored in every manifest and printed by ``grbench data stats`` (DESIGN.md section 3).

Definitions (docs/DATA.md "Statistics"): positives = clicked exposed items (the ordered item included);
negatives = exposed and unclicked; pseudo-negatives = negatives with graded truth >= 1; the pseudo-negative
rate = pseudo-negatives / negatives over all training impressions; positives per query = |relevant| of each
test query (clean ground truth).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _summary(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"min": 0.0, "median": 0.0, "mean": 0.0, "max": 0.0}
    return {"min": float(values.min()), "median": float(np.median(values)), "mean": float(values.mean()),
            "max": float(values.max())}


def impression_stats(exposed: np.ndarray, clicks: np.ndarray, grades: np.ndarray) -> dict[str, Any]:
    """Per-impression counts over padded (N, K) arrays (exposed item -1 = padding)."""
    shown = exposed >= 0
    clicked = (clicks > 0) & shown
    negative = shown & ~clicked
    pseudo = negative & (grades >= 1)
    positives = clicked.sum(axis=1)
    negatives = negative.sum(axis=1)
    n_neg = int(negatives.sum())
    per_rank = clicked.sum(axis=0) / np.maximum(shown.sum(axis=0), 1)
    return {
        "exposed_per_impression": float(shown.sum(axis=1).mean()) if len(shown) else 0.0,
        "positives_per_impression": {"mean": float(positives.mean()) if len(positives) else 0.0,
                                     "median": float(np.median(positives)) if len(positives) else 0.0},
        "negatives_per_impression": {"mean": float(negatives.mean()) if len(negatives) else 0.0,
                                     "median": float(np.median(negatives)) if len(negatives) else 0.0},
        "relevant_exposed_per_impression": float((shown & (grades >= 1)).sum(axis=1).mean()) if len(shown) else 0.0,
        "pseudo_negatives_per_impression": float(pseudo.sum(axis=1).mean()) if len(shown) else 0.0,
        "pseudo_negative_rate": float(pseudo.sum() / n_neg) if n_neg else 0.0,
        "click_rate_by_rank": [round(float(x), 6) for x in per_rank],
    }


def seen_stats(*, held_out_queries: int, removed_train_rows: int, train_keys: np.ndarray, valid_seen: np.ndarray,
               test_seen: np.ndarray, test_text_ids: np.ndarray, test_keys: np.ndarray,
               test_target_ordered: np.ndarray) -> dict[str, Any]:
    """How much of valid/test training covers (DESIGN.md 3 "Protocol version 2"), after any hold-out.

    ``*_seen``: per row, whether its query text occurs in the training table; ``test_text_ids``: per test row,
    the id of its query text; ``train_keys`` / ``test_keys``: text id * n_items + ordered item per row;
    ``test_target_ordered``: per test row, how often its ordered item is ordered in training.
    """
    test_seen = np.asarray(test_seen, dtype=bool)
    distinct, first = np.unique(test_text_ids, return_index=True)

    def share(mask: np.ndarray) -> float:
        return round(float(np.mean(mask)), 6) if len(mask) else 0.0

    return {
        "held_out_queries": int(held_out_queries),
        "removed_train_rows": int(removed_train_rows),
        "query_seen_share": {"valid": share(np.asarray(valid_seen, dtype=bool)), "test": share(test_seen)},
        "test_unseen_row_share": share(~test_seen),
        "test_unseen_distinct_share": share(~test_seen[first]) if len(distinct) else 0.0,
        "test_pair_seen_share": share(np.isin(test_keys, train_keys)),
        "test_target_seen_share": share(np.asarray(test_target_ordered) > 0),
    }


def positives_per_query(relevant_sizes: np.ndarray) -> dict[str, float]:
    return _summary(np.asarray(relevant_sizes, dtype=np.float64))


def format_stats(stats: dict[str, Any]) -> str:
    """A human-readable block (``grbench data stats`` without --json)."""
    q, ppq = stats["queries"], stats["positives_per_query"]
    pos, neg = stats["positives_per_impression"], stats["negatives_per_impression"]
    lines = [
        f"dataset            {stats['dataset']}{'  (synthetic, not public data)' if stats.get('synthetic') else ''}",
        f"split              {stats.get('split', '')}",
        f"users / items      {stats['users']:,} / {stats['items']:,}   interactions {stats['interactions']:,}",
        f"rows               train {stats['impressions']:,}  preference {stats['preference_rows']:,}  "
        f"valid {stats['valid_rows']:,}  test {stats['test_rows']:,}",
        f"queries            {q['distinct']:,} distinct texts; test: {q['test_distinct']:,} distinct over "
        f"{q['test_rows']:,} rows (protocol shares {q['test_protocol_share']})",
        f"positives/query    min {ppq['min']:g}  median {ppq['median']:g}  mean {ppq['mean']:.2f}  max {ppq['max']:g}"
        f"  (|relevant| of test queries)",
        f"per impression     exposed {stats['exposed_per_impression']:.2f}  positives mean {pos['mean']:.2f} "
        f"(median {pos['median']:g})  negatives mean {neg['mean']:.2f} (median {neg['median']:g})",
        f"pseudo-negatives   rate {stats['pseudo_negative_rate']:.4f} of negatives "
        f"({stats['pseudo_negatives_per_impression']:.2f} per impression)",
        f"click rate by rank {', '.join(f'{x:.3f}' for x in stats['click_rate_by_rank'])}",
        f"ordered item moved into the last slot: {stats['target_forced_share']:.4f} of impressions; "
        f"test targets unseen in train: {stats['test_targets_unseen_in_train']:.4f}",
        f"build seconds      {stats['build_seconds']:.2f}",
    ]
    seen = stats.get("seen")
    if seen is not None:
        lines.insert(-1, (
            f"protocol {stats.get('protocol', 1)}         held-out queries {seen['held_out_queries']:,} "
            f"({seen['removed_train_rows']:,} train rows dropped); test unseen queries: "
            f"{seen['test_unseen_row_share']:.4f} of rows, {seen['test_unseen_distinct_share']:.4f} of distinct; "
            f"test (query, target) seen in train {seen['test_pair_seen_share']:.4f}, "
            f"targets seen {seen['test_target_seen_share']:.4f}"))
    return "\n".join(lines)
