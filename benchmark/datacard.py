"""The data card of a built dataset: what its test split can and cannot measure (``grbench data card``).

A reader of any table needs, beside the numbers: how many test queries repeat training (and with which ordered
item), how many were held out, how many positives a query has, how noisy the simulated clicks are, what a
method with no trained parameters scores, and the highest value each metric can reach. The card computes all
of it from the built split, the SID catalog and the retrieval baselines (``benchmark.retrieval``, scored by
the one evaluator), and renders one Markdown file, a pure function of them (no clock, no machine state).

Reachable ceilings: SIDs collide, and an item-level ranking expands a SID to its items in catalog order
(training popularity, then item id), so even a perfect SID ranking can place the ordered item below the other
items of its SID. The item-level target ceilings are those of the best possible SID ranking (the ordered
item's SID first); SID-level target ceilings are 1; a category-level hit is always reachable.

Popularity buckets and cold start (issue #16): items per head / torso / tail tercile of training clicks
(``benchmark.sids.buckets``) and the evaluated test rows per bucket of their ordered item, on the full split and
under the ``sids`` experiment's cold start (``benchmark.sids.coldstart``: a seeded share of items held out of
training, whose test rows form the ``cold`` bucket), with what holding them out removes from training.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmark.evaluation import EvalConfig, select_queries
from benchmark.sids.coldstart import DEFAULT_COLD_START

CARD_METRICS = ("target_hit@10", "target_hit@100", "target_mrr", "target_sid_hit@8", "target_sid_mrr", "item_hit@10",
                "halluc@1")


@dataclasses.dataclass(frozen=True)
class Overlap:
    """Shares of test rows whose query / ordered item / (query, ordered item) pair occur in training."""

    query: float
    target: float
    pair: float
    unseen_rows: int
    unseen_distinct: int
    distinct: int


def overlap(train: pd.DataFrame, test: pd.DataFrame) -> Overlap:
    queries = set(train["query"].tolist())
    targets = set(train["target"].tolist())
    pairs = set(zip(train["query"].tolist(), train["target"].tolist()))
    seen = np.array([q in queries for q in test["query"]], dtype=bool)
    distinct = pd.unique(test["query"])
    return Overlap(
        query=float(seen.mean()),
        target=float(np.mean([t in targets for t in test["target"]])),
        pair=float(np.mean([p in pairs for p in zip(test["query"], test["target"])])),
        unseen_rows=int((~seen).sum()),
        unseen_distinct=int(sum(q not in queries for q in distinct)),
        distinct=int(len(distinct)),
    )


def target_positions(test: pd.DataFrame, catalog: Any) -> np.ndarray:
    """(Q,) 0-based position of each row's ordered item inside its SID's item list (catalog order)."""
    return np.array([catalog.items_for(catalog.sid_of(int(t))).index(int(t)) for t in test["target"]],
                    dtype=np.int64)


def ceilings(test: pd.DataFrame, catalog: Any, item_ks: Sequence[int]) -> dict[str, float]:
    """The highest mean each target metric can reach on ``test`` (module docstring)."""
    position = target_positions(test, catalog)
    out = {f"target_hit@{k}": float((position < k).mean()) for k in item_ks}
    out["target_mrr"] = float((1.0 / (position + 1)).mean())
    out["target_sid_hit@K"] = 1.0
    out["target_sid_mrr"] = 1.0
    out["item_hit@K (category level)"] = 1.0
    return out


def code_space(catalog: Any) -> dict[str, float]:
    """How much of the SID code space names an item: the chance a uniformly random SID is valid."""
    space = math.prod(int(size) for size in catalog.codebook_sizes)
    valid = len(catalog.sids())
    return {"valid_sids": valid, "code_space": space, "valid_share": valid / space}


@dataclasses.dataclass(frozen=True)
class BucketCounts:
    """Items and evaluated test rows per bucket, on the full split and under cold start (``cold_start``)."""

    items: dict[str, int]  # full split: head / torso / tail
    test_rows: dict[str, int]
    cold_items: dict[str, int]  # under cold start: head / torso / tail / cold
    cold_test_rows: dict[str, int]
    removed: dict[str, Any]  # hold_out_cold's counts (``ColdCounts``)


def bucket_counts(dataset: Any, test: pd.DataFrame, cold_start: float) -> BucketCounts:
    """Per-bucket counts of ``dataset`` (a ``BuiltDataset``) and its evaluated ``test`` rows, without and with
    the cold-start share ``cold_start`` held out (``hold_out_cold``: the buckets of the sids experiment's runs)."""
    from benchmark.sids.buckets import BUCKETS, LABELS, item_buckets
    from benchmark.sids.coldstart import cold_mask, hold_out_cold

    def count(labels: np.ndarray, names: Sequence[str]) -> dict[str, int]:
        return {name: int((labels == name).sum()) for name in names}

    targets = test["target"].to_numpy(dtype=np.int64)
    full = item_buckets(np.asarray(dataset.item_popularity))
    held = hold_out_cold(dataset, cold_start)
    cold = item_buckets(np.asarray(held.item_popularity), cold_mask(held))
    return BucketCounts(items=count(full, BUCKETS), test_rows=count(full[targets], BUCKETS),
                        cold_items=count(cold, LABELS), cold_test_rows=count(cold[targets], LABELS),
                        removed=dict(held.stats.get("cold_start", {})))


def baseline_scores(dataset: Any, catalog: Any, sid_config: Any, eval_config: EvalConfig) -> dict[str, dict]:
    """Mean metrics of every retrieval baseline on the evaluated test queries: all, seen and unseen."""
    from benchmark.inference import score_frame
    from benchmark.retrieval import get_retriever, retriever_names

    frame = select_queries(dataset.test, eval_config.max_queries)
    seen = frame["query_seen"].to_numpy() == 1 if "query_seen" in frame.columns else None
    out: dict[str, dict] = {}
    for name in retriever_names():
        ranker = get_retriever(name).fit(dataset, catalog, sid_config)
        per_query = score_frame(ranker.rank(frame, eval_config.beam_width), frame, catalog, eval_config)
        rows = {"all": {m: float(np.mean(v)) for m, v in per_query.items()}}
        if seen is not None:
            for subset, mask in (("seen", seen), ("unseen", ~seen)):
                rows[subset] = {m: float(np.mean(v[mask])) if mask.any() else float("nan")
                                for m, v in per_query.items()}
        out[name] = rows
    return out


def render_card(dataset: Any, catalog: Any, scores: Mapping[str, Mapping[str, Mapping[str, float]]],
                eval_config: EvalConfig, profile: str, cold_start: float = DEFAULT_COLD_START) -> str:
    """The Markdown card (see the module docstring); ``cold_start``: the share of the ``sids`` experiment
    (``sid_builders.cold_start``) its bucket section reports."""
    stats = dataset.stats
    protocol = int(getattr(dataset.config, "protocol", 1))
    test = select_queries(dataset.test, eval_config.max_queries)
    shared = overlap(dataset.train, test)
    ceiling = ceilings(test, catalog, eval_config.item_ks)
    space = code_space(catalog)
    positives = stats.get("positives_per_query", {})
    lines = [
        f"# Data card: {dataset.name} (protocol {protocol}, profile `{profile}`)",
        "",
        f"Generated by `grbench data card {dataset.name} --profile {profile}` from the built split "
        f"(split hash `{dataset.split_hash[:16]}`, test hash `{dataset.test_hash[:16]}`) and its SID catalog "
        f"(`{catalog.catalog_hash[:16]}`). Scores and overlaps are over the {len(test):,} evaluated test rows "
        f"(the profile's `eval.max_queries`).",
        "",
        "## Size",
        "",
        "| | value |",
        "|:---|---:|",
        f"| items | {stats.get('items', dataset.n_items):,} |",
        f"| users | {stats.get('users', 0):,} |",
        f"| training impressions | {len(dataset.train):,} |",
        f"| preference impressions (>= 1 click and >= 1 unclicked exposure) | {len(dataset.preference):,} |",
        f"| valid / test rows | {len(dataset.valid):,} / {len(dataset.test):,} |",
        f"| distinct evaluated test queries | {shared.distinct:,} |",
        f"| positives (relevant items) per query: median / mean / max | {positives.get('median', 0):g} / "
        f"{positives.get('mean', 0):.1f} / {positives.get('max', 0):g} |",
        f"| positives per impression (clicked) | {stats.get('positives_per_impression', {}).get('mean', 0):.2f} |",
        f"| negatives per impression (exposed, unclicked) | "
        f"{stats.get('negatives_per_impression', {}).get('mean', 0):.2f} |",
        f"| pseudo-negative rate (relevant but unclicked, of all negatives) | "
        f"{stats.get('pseudo_negative_rate', 0):.3f} |",
        "",
        "## Overlap of the evaluated test rows with training",
        "",
        "| | share of test rows |",
        "|:---|---:|",
        f"| query occurs in training (seen) | {shared.query:.3f} |",
        f"| ordered item was ordered in training | {shared.target:.3f} |",
        f"| (query, ordered item) pair occurs in training | {shared.pair:.3f} |",
        f"| unseen-query rows | {shared.unseen_rows:,} ({shared.unseen_rows / max(len(test), 1):.3f}) |",
        f"| unseen distinct queries | {shared.unseen_distinct:,} of {shared.distinct:,} "
        f"({shared.unseen_distinct / max(shared.distinct, 1):.3f}) |",
    ]
    seen_stats = stats.get("seen", {})
    if protocol >= 2 and "held_out_queries" in seen_stats:
        lines.append(f"| query nodes held out of training (protocol 2) | {seen_stats['held_out_queries']:,} "
                     f"({seen_stats.get('removed_train_rows', 0):,} training impressions removed) |")
    if protocol >= 2 and "target" in test.columns:
        lines += _bucket_lines(bucket_counts(dataset, test, cold_start), cold_start, len(test))
    lines += [
        "",
        "## Reachable ceilings",
        "",
        "The best value any ranking can reach (module `benchmark.datacard`): item-level target metrics are capped "
        "by SID collisions (the ordered item may follow more popular items of its own SID).",
        "",
        "| metric | ceiling |",
        "|:---|---:|",
        *[f"| {name} | {value:.4f} |" for name, value in ceiling.items()],
        "",
        f"SID code space: {space['valid_sids']:,} valid SIDs of {space['code_space']:,} possible codes "
        f"({space['valid_share']:.4f}): the chance that a uniformly random SID names an item, the scale against "
        "which hallucination rates are read.",
        "",
        "## Retrieval baselines",
        "",
        "Fitted on the training split only and scored by the same evaluator as every trained model "
        f"(beam width {eval_config.beam_width}). Query lookup: items ordered or clicked under the same query "
        "string in training, then global popularity; unseen queries get popularity only. Popularity, query "
        "lookup and zero-shot dense learn nothing; the dual tower (`dense-dualtower`) trains two small heads on "
        "the training split's (query, clicked item) pairs.",
        "",
    ]
    subsets = sorted({s for rows in scores.values() for s in rows}, key=("all", "seen", "unseen").index)
    header = "| baseline | subset | " + " | ".join(CARD_METRICS) + " |"
    lines += [header, "|:---|:---|" + "---:|" * len(CARD_METRICS)]
    for name, rows in scores.items():
        for subset in subsets:
            values = rows.get(subset, {})
            cells = " | ".join(_number(values.get(m)) for m in CARD_METRICS)
            lines.append(f"| {name} | {subset} | {cells} |")
    return "\n".join(lines) + "\n"


def _bucket_lines(counts: BucketCounts, cold_start: float, n_test: int) -> list[str]:
    removed = counts.removed
    lines = [
        "",
        "## Popularity buckets and cold start",
        "",
        "Buckets: terciles of training clicks (head, torso, tail; ties share a bucket, items never clicked in "
        "training are tail; `benchmark.sids.buckets`). Under cold start (the `sids` experiment, "
        f"`sid_builders.cold_start` = {cold_start:g}) a seeded share of items is held out of all training "
        "(`benchmark.sids.coldstart`) and the terciles are taken over the other items.",
        "",
        "| bucket | items | evaluated test rows | items (cold start) | evaluated test rows (cold start) |",
        "|:---|---:|---:|---:|---:|",
    ]
    for name in counts.cold_items:
        items, rows = counts.items.get(name), counts.test_rows.get(name)
        lines.append(f"| {name} | {'–' if items is None else f'{items:,}'} | "
                     f"{'–' if rows is None else f'{rows:,} ({rows / max(n_test, 1):.3f})'} | "
                     f"{counts.cold_items[name]:,} | {counts.cold_test_rows[name]:,} "
                     f"({counts.cold_test_rows[name] / max(n_test, 1):.3f}) |")
    if removed:
        lines += [
            "",
            f"Cold start removes from training: {removed['train_rows_dropped']:,} impressions ordering a cold item; "
            f"{removed['exposures_removed']:,} cold exposures ({removed['clicks_removed']:,} clicked) and the cold "
            f"history items erased from {removed['train_rows_edited']:,} other impressions; preference impressions "
            f"{removed['preference_before']:,} -> {removed['preference_after']:,}. Cold rows kept for evaluation: "
            f"{removed['valid_rows']:,} valid, {removed['test_rows']:,} test (all rows; the table above counts the "
            f"evaluated ones). Rule `{removed['rule']}`, dataset seed {removed['seed']}.",
        ]
    return lines


def _number(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.4f}"
