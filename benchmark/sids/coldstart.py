"""Cold-start items (issue #16): a seeded share of the catalog held out of every training signal.

Which items are cold (rule ``COLD_RULE``): with ``N`` catalog items and share ``s``, the first ``round(s * N)``
entries of ``numpy.random.default_rng([data seed, COLD_STREAM]).permutation(N)``, sorted. The seed is the
dataset's (``DataConfig.seed``), not the run's training seed, so every seed and every SID builder of one split
holds out the same items and their test rows form one subset. The draw is uniform over items (not stratified by
popularity): the cold test rows are the test rows whose ordered item happens to be drawn.

``hold_out_cold(dataset, share)`` is the same split with the cold items erased from training, a ``BuiltDataset``
whose consumers (training examples, preference candidates, the SID builders' popularity and dual-tower pairs,
the non-learned baselines, the tokenizer vocabulary) need no change:

- a ``train`` row whose ordered item (``target``) is cold is dropped: a cold item is never a training target;
- in every other ``train`` row the cold items are removed from ``exposed`` (with their ``clicks`` and
  ``relevance``) and from ``history``: a cold item is never a clicked positive, an unclicked negative or a
  prompt item. The remaining items keep their order; their exposure ranks are their positions in the shortened
  list (the clicks were simulated with the cold items shown: the log is the same log with their entries erased);
- ``preference`` keeps the seeded order of the surviving rows that still have >= 1 click and >= 1 unclicked
  exposure (the rule the split was built with);
- ``item_popularity`` is recounted from the clicks of the filtered ``train`` rows, so every cold item counts 0
  (it orders the items of a SID and feeds the popularity baseline and the buckets);
- ``valid`` and ``test`` are unchanged (validation curves and the evaluation see every row), and so is
  ``test_hash``; ``split_hash`` becomes a hash of the original split hash and the cold rule, share, seed and
  items, so every cache keyed on it (SID catalog, SFT and method checkpoints) is the cold variant's own.
  Their ``query_seen`` keeps its meaning on the full split: a query whose training rows all ordered cold items
  leaves training but stays flagged seen (amazon18-scientific, quick settings: 7 of 832 training queries,
  2 of 8,442 test rows).

Cold items keep their SIDs: every builder embeds all item texts, and what a builder learns (the dual tower's
(query, clicked item) pairs, the popularity) comes from the filtered split only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np
import pandas as pd

from benchmark.artifacts import canonical_json
from benchmark.errors import ConfigError

COLD_STREAM = 16  # the generator stream of the cold draw (issue #16); the data build uses streams 1-9
COLD_RULE = "uniform-items-v1"  # the rule above; a change of rule must change this name (it is hashed)
DEFAULT_COLD_START = 0.05  # issue #16: "a seeded share of items, default 5%"


def check_share(share: Any, key: str = "cold_start") -> float:
    """``share`` as a float in [0, 1), or ConfigError naming ``key``."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= float(share) < 1.0:
        raise ConfigError(f"The {key!r} parameter must be a float in the range [0, 1). Got {share!r} instead.")
    return float(share)


def cold_start_config(share: float) -> dict[str, Any]:
    """What a run's key hashes of its cold-start setting (only runs with a share > 0 carry it)."""
    return {"share": check_share(share), "rule": COLD_RULE, "stream": COLD_STREAM}


def cold_items(n_items: int, share: float, seed: int) -> np.ndarray:
    """(round(share * n_items),) sorted int64 ids of the cold items of a catalog of ``n_items`` (``COLD_RULE``)."""
    share = check_share(share)
    n_cold = int(round(share * n_items))
    drawn = np.random.default_rng([int(seed), COLD_STREAM]).permutation(n_items)[:n_cold]
    return np.sort(drawn).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class ColdCounts:
    """What holding out the cold items removed (stored in the filtered dataset's ``stats["cold_start"]``)."""

    share: float
    seed: int
    items: int  # cold items
    train_rows_dropped: int  # training impressions whose ordered item is cold
    train_rows_edited: int  # kept impressions that lost a cold exposure or history item
    exposures_removed: int  # cold entries erased from kept impressions' exposed lists
    clicks_removed: int  # ... of which clicked
    preference_before: int
    preference_after: int
    valid_rows: int  # valid / test rows whose ordered item is cold (kept; the cold subset)
    test_rows: int

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "rule": COLD_RULE}


def hold_out_cold(dataset: Any, share: float) -> Any:
    """``dataset`` (a ``BuiltDataset``) with the cold items of ``share`` erased from training (module docstring);
    the input is left unchanged. ``share == 0`` returns ``dataset`` itself."""
    share = check_share(share)
    if share == 0.0:
        return dataset
    n_items = len(dataset.items)
    seed = int(dataset.config.seed)
    cold = cold_items(n_items, share, seed)
    is_cold = np.zeros(n_items, dtype=bool)
    is_cold[cold] = True
    train, edited, removed, clicks_removed = _filter_train(dataset.train, is_cold)
    kept = set(train["impression_id"].tolist())
    by_id = train.set_index("impression_id", drop=False)
    order = [i for i in dataset.preference["impression_id"].tolist() if i in kept]
    preference = by_id.loc[order].reset_index(drop=True) if order else train.iloc[:0].copy()
    preference = preference[[_has_pair(c) for c in preference["clicks"]]].reset_index(drop=True)
    popularity = _click_counts(train, n_items)
    counts = ColdCounts(
        share=share, seed=seed, items=len(cold), train_rows_dropped=len(dataset.train) - len(train),
        train_rows_edited=edited, exposures_removed=removed, clicks_removed=clicks_removed,
        preference_before=len(dataset.preference), preference_after=len(preference),
        valid_rows=int(is_cold[dataset.valid["target"].to_numpy(dtype=np.int64)].sum()),
        test_rows=int(is_cold[dataset.test["target"].to_numpy(dtype=np.int64)].sum()),
    )
    identity = {"split_hash": dataset.split_hash, **cold_start_config(share), "seed": seed,
                "items": hashlib.sha256(cold.tobytes()).hexdigest()}
    return dataclasses.replace(
        dataset, train=train, preference=preference, item_popularity=popularity,
        split_hash=hashlib.sha256(canonical_json(identity).encode()).hexdigest(),
        stats={**dataset.stats, "cold_start": counts.as_dict()},
    )


def cold_mask(dataset: Any) -> np.ndarray | None:
    """(N,) bool: the cold items of a dataset made by ``hold_out_cold``; None for any other dataset."""
    stats = getattr(dataset, "stats", None)
    record = stats.get("cold_start") if isinstance(stats, dict) else None
    if not record:
        return None
    mask = np.zeros(len(dataset.items), dtype=bool)
    mask[cold_items(len(dataset.items), record["share"], record["seed"])] = True
    return mask


def _filter_train(train: pd.DataFrame, is_cold: np.ndarray) -> tuple[pd.DataFrame, int, int, int]:
    """(kept rows with the cold items erased, rows edited, exposures removed, clicked exposures removed)."""
    targets = train["target"].to_numpy(dtype=np.int64)
    frame = train[~is_cold[targets]].reset_index(drop=True)
    has_relevance = "relevance" in frame.columns
    history, exposed, clicks, relevance = [], [], [], []
    edited = removed = clicks_removed = 0
    columns = zip(frame["history"], frame["exposed"], frame["clicks"],
                  frame["relevance"] if has_relevance else [None] * len(frame))
    for hist, shown, clicked, grades in columns:
        keep = [not is_cold[int(i)] for i in shown]
        warm_history = [int(h) for h in hist if not is_cold[int(h)]]
        if not all(keep) or len(warm_history) != len(hist):
            edited += 1
        removed += keep.count(False)
        clicks_removed += sum(1 for k, c in zip(keep, clicked) if not k and c)
        history.append(warm_history)
        exposed.append([int(i) for i, k in zip(shown, keep) if k])
        clicks.append([int(c) for c, k in zip(clicked, keep) if k])
        if has_relevance:
            relevance.append([int(g) for g, k in zip(grades, keep) if k])
    frame = frame.assign(history=history, exposed=exposed, clicks=clicks)
    if has_relevance:
        frame = frame.assign(relevance=relevance)
    return frame, edited, removed, clicks_removed


def _has_pair(clicks: list[int]) -> bool:
    return any(clicks) and not all(clicks)


def _click_counts(train: pd.DataFrame, n_items: int) -> np.ndarray:
    """(N,) int64 clicks per item over ``train`` (how ``item_popularity`` is counted at build time)."""
    items = [int(i) for shown, clicked in zip(train["exposed"], train["clicks"]) for i, c in zip(shown, clicked) if c]
    return np.bincount(np.asarray(items, dtype=np.int64), minlength=n_items).astype(np.int64)
