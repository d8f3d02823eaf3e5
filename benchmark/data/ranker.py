"""The production-ranker proxy: which K items an impression exposes, in which order (docs/DATA.md).

For each impression (query q, ordered item t) a candidate pool is drawn: t itself, ``pool_relevant`` items of
q's relevant set, ``pool_near_miss`` near misses of t (items of the parent category outside the query node, or
items sharing a title term) and ``pool_popular`` items drawn proportionally to popularity. Each distinct
candidate gets the score

    s = relevance_weight * grade + popularity_weight * log(1 + pop) / log(1 + max pop) + noise_std * N(0, 1)

and the K best are exposed, best first. The ordered item is always exposed (the log shows it was bought from
this result list): when its score misses the top K it takes the last slot.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from tqdm.auto import tqdm

from benchmark.data.config import RankerConfig
from benchmark.data.queries import QueryTable

BATCH = 65_536  # impressions per vectorised step (bounds memory: BATCH x pool size)


@dataclasses.dataclass(frozen=True)
class Exposure:
    items: np.ndarray  # (N, K) int64 exposed item ids, best first; -1 pads lists shorter than K
    grades: np.ndarray  # (N, K) int8 graded truth of each exposed item; -1 on padding
    forced: np.ndarray  # (N,) bool, the ordered item was placed in the last slot by the always-exposed rule


def expose(
    targets: np.ndarray,
    queries: np.ndarray,
    table: QueryTable,
    popularity: np.ndarray,
    config: RankerConfig,
    k: int,
    rng: np.random.Generator,
    progress: bool = False,
) -> Exposure:
    """Expose up to ``k`` items for each impression (``targets``, ``queries``: (N,))."""
    n = len(targets)
    pop_score = np.log1p(popularity.astype(np.float64))
    pop_score = pop_score / pop_score.max() if pop_score.max() > 0 else pop_score
    weights = popularity.astype(np.float64)
    cdf = np.cumsum(weights if weights.sum() > 0 else np.ones_like(weights))
    cdf /= cdf[-1]
    items = np.full((n, k), -1, dtype=np.int64)
    grades = np.full((n, k), -1, dtype=np.int8)
    forced = np.zeros(n, dtype=bool)
    starts = range(0, n, BATCH)
    # disable=None: tqdm shows the bar only on a terminal.
    for start in tqdm(starts, desc="exposing items", unit="batch", disable=None if progress and n > BATCH else True):
        stop = min(start + BATCH, n)
        b_items, b_grades, b_forced = _expose_batch(
            targets[start:stop], queries[start:stop], table, pop_score, cdf, config, k, rng
        )
        items[start:stop, : b_items.shape[1]] = b_items
        grades[start:stop, : b_grades.shape[1]] = b_grades
        forced[start:stop] = b_forced
    return Exposure(items, grades, forced)


def _popular(cdf: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(shape), side="right"), len(cdf) - 1).astype(np.int64)


def _expose_batch(targets: np.ndarray, queries: np.ndarray, table: QueryTable, pop_score: np.ndarray,
                  cdf: np.ndarray, config: RankerConfig, k: int, rng: np.random.Generator):
    b = len(targets)
    # Relevant draws (with replacement; duplicates are removed below).
    rel_rows = np.repeat(queries[:, None], config.pool_relevant, axis=1)
    relevant = table.relevant.sample(rel_rows, rng.random(rel_rows.shape))
    # Near misses: a near-miss group of the ordered item, then an item of that group.
    near_rows = np.repeat(targets[:, None], config.pool_near_miss, axis=1)
    group = table.near.sample(near_rows, rng.random(near_rows.shape))
    near = np.full(group.shape, -1, dtype=np.int64)
    has_group = group >= 0
    near[has_group] = table.groups.sample(group[has_group], rng.random(int(has_group.sum())))
    # Items without near misses (or an empty group) draw popular items instead, so pools keep their size.
    missing = near < 0
    near[missing] = _popular(cdf, (int(missing.sum()),), rng)
    popular = _popular(cdf, (b, config.pool_popular), rng)
    pool = np.concatenate([targets[:, None], relevant, near, popular], axis=1)  # (B, M)
    pool = np.where(pool < 0, targets[:, None], pool)  # an empty relevant row repeats the target (deduped)

    grade = table.grades(queries, targets, pool)
    score = (config.relevance_weight * grade + config.popularity_weight * pop_score[pool]
             + config.noise_std * rng.standard_normal(pool.shape))
    # Remove duplicates: keep the first occurrence (column 0 is the ordered item itself).
    order = np.argsort(pool, axis=1, kind="stable")
    sorted_pool = np.take_along_axis(pool, order, axis=1)
    dup_sorted = np.zeros(pool.shape, dtype=bool)
    dup_sorted[:, 1:] = sorted_pool[:, 1:] == sorted_pool[:, :-1]
    dup = np.zeros(pool.shape, dtype=bool)
    np.put_along_axis(dup, order, dup_sorted, axis=1)
    score = np.where(dup, -np.inf, score)

    kk = min(k, pool.shape[1])
    top = np.argsort(-score, axis=1, kind="stable")[:, :kk]
    top_items = np.take_along_axis(pool, top, axis=1)
    top_grades = np.take_along_axis(grade, top, axis=1)
    valid = np.isfinite(np.take_along_axis(score, top, axis=1))
    top_items = np.where(valid, top_items, -1)
    top_grades = np.where(valid, top_grades, np.int8(-1)).astype(np.int8)
    forced = ~(top_items == targets[:, None]).any(axis=1)
    if forced.any():
        last = valid.sum(axis=1) - 1
        rows = np.flatnonzero(forced)
        top_items[rows, last[rows]] = targets[rows]
        top_grades[rows, last[rows]] = 2
    return top_items, top_grades, forced
