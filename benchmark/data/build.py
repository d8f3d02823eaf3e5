"""The data pipeline: files -> canonical tables -> split rows -> queries -> exposures -> clicks -> BuiltDataset.

Randomness comes only from ``numpy.random.default_rng([seed, stream])`` with one fixed stream per step, so each
step is reproducible on its own and adding a step never shifts the draws of another.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from benchmark.config import to_dict
from benchmark.data import cache
from benchmark.data.canonical import ITEM_COLUMNS, CanonicalData
from benchmark.data.clicks import simulate_clicks
from benchmark.data.config import DataConfig
from benchmark.data.dataset import (
    SEEN_COLUMN,
    BuiltDataset,
    content_hash,
    list_array,
    padded_list_array,
    table_to_frame,
)
from benchmark.data.holdout import hold_out_queries
from benchmark.data.queries import KIND_NAMES, QueryTable, build_queries
from benchmark.data.ranker import expose
from benchmark.data.registry import get_spec
from benchmark.data.resolve import resolve_files
from benchmark.data.splits import Rows, SplitRows
from benchmark.data.stats import impression_stats, positives_per_query, seen_stats
from benchmark.errors import DataError

log = logging.getLogger(__name__)

# One random stream per step (see module docstring).
STREAM_TRAIN_QUERY, STREAM_VALID_QUERY, STREAM_TEST_QUERY = 1, 2, 3
STREAM_RANKER, STREAM_CLICKS, STREAM_PREFERENCE, STREAM_VALID_ORDER, STREAM_TEST_ORDER = 4, 5, 6, 7, 8
STREAM_HOLDOUT = 9  # protocol 2 query hold-out


def build_dataset(name: str, config: DataConfig | None = None, data_dir: str | Path | None = None,
                  force: bool = False) -> BuiltDataset:
    """Build (or load from the cache) the dataset ``name`` under ``config``.

    A cached build is returned without touching the raw files; otherwise they are looked up in ``data_dir`` /
    $GRBENCH_DATA, then the user cache, then downloaded (see resolve.py).
    The cache entry is keyed by the input checksums + resolved config + format version; ``force`` rebuilds.
    Bad input raises DataError / ConfigError and writes nothing to the cache.
    """
    config = DataConfig() if config is None else config
    spec = get_spec(name)
    file_hashes = {f.name: f.sha256 for f in spec.files}
    key = cache.cache_key(name, file_hashes, config, spec.synthetic)
    directory = cache.dataset_dir(name, key)
    if not force:
        cached = cache.load(directory, key)
        if cached is not None:
            log.info("loaded %s from %s", name, directory)
            cached.config = config
            return cached
    # The key needs only the registered checksums, so a cached build is found without the raw files.
    files = resolve_files(spec, data_dir)
    start = time.perf_counter()
    log.info("building %s (key %s)", name, key)
    data, rows, notes = spec.source(files, config)
    tables, popularity, stats = assemble(name, data, rows, config, progress=True)
    stats.update({"synthetic": spec.synthetic, **notes})
    built = _to_built(name, config, key, tables, popularity, stats, directory)
    stats["build_seconds"] = round(time.perf_counter() - start, 3)  # everything but writing the cache
    manifest = {
        "format_version": cache.FORMAT_VERSION,
        "dataset": name,
        "key": key,
        "split_hash": built.split_hash,
        "test_hash": built.test_hash,
        "config": to_dict(config),
        "files": file_hashes,
        "source": data.source,
        "citation": spec.citation,
        "stats": stats,
    }
    cache.save(directory, tables, manifest)
    log.info("built %s in %.1f s -> %s", name, stats["build_seconds"], directory)
    return built


def _to_built(name: str, config: DataConfig, key: str, tables: dict[str, pa.Table], popularity: np.ndarray,
              stats: dict[str, Any], path: Path | None) -> BuiltDataset:
    """The in-memory dataset from its Arrow tables (the same conversion a cache load does)."""
    train = table_to_frame(tables["train"])
    order = tables["preference"].column("impression_id").to_numpy()
    return BuiltDataset(
        name=name, config=config, key=key,
        split_hash=content_hash({k: tables[k] for k in ("items", "train", "preference", "valid", "test")}),
        test_hash=content_hash({"test": tables["test"]}),
        items=table_to_frame(tables["items"]), train=train, preference=train.iloc[order].reset_index(drop=True),
        valid=table_to_frame(tables["valid"]), test=table_to_frame(tables["test"]),
        item_popularity=popularity, stats=stats, path=path,
    )


def _rng(config: DataConfig, stream: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, stream])


def assemble(name: str, data: CanonicalData, rows: SplitRows, config: DataConfig,
             progress: bool = False) -> tuple[dict[str, pa.Table], np.ndarray, dict[str, Any]]:
    """Queries, exposures and clicks for split rows: the Arrow tables of a built dataset, the training click
    counts per item and the statistics (without build time).

    Under protocol 2 the held-out queries are drawn right after every row has its query, and the training rows
    asking a held-out query are dropped before exposure: the ranker proxy's popularity (``ordered``) then counts
    only the kept training rows, as a log without those queries would. Every other step draws from its own
    stream exactly as under protocol 1, which runs none of this and so builds the tables it always built."""
    n_items = data.n_items
    for split, part in (("train", rows.train), ("valid", rows.valid), ("test", rows.test)):
        if len(part) == 0:
            raise DataError(f"{data.source}: the {split} split is empty (too few interactions per user).")
    queries, (q_train, q_valid, q_test), held = choose_queries(data, rows, config)
    texts = np.asarray(queries.texts, dtype=object)
    # Query identity is its text (two query ids may share one): hold-out and seen flags compare text ids.
    _, text_ids = np.unique(texts.astype(str), return_inverse=True)
    text_ids = text_ids.astype(np.int64).reshape(-1)
    n_train_before = len(rows.train)
    if config.protocol == 2:
        kept = np.flatnonzero(~np.isin(text_ids[q_train], text_ids[held]))
        if len(kept) == 0:
            raise DataError(f"{data.source}: every training row asks a held-out query "
                            f"(unseen_query_share={config.unseen_query_share}); too few queries for protocol 2.")
        rows = SplitRows(rows.train.take(kept), rows.valid, rows.test)
        q_train = q_train[kept]
    seen_text = np.zeros(int(text_ids.max()) + 1 if len(text_ids) else 0, dtype=bool)
    seen_text[text_ids[q_train]] = True

    # The ranker knows what the log shows: how often each item was ordered in training.
    ordered = np.bincount(rows.train.targets, minlength=n_items)
    exposure = expose(rows.train.targets, q_train, queries, ordered, config.ranker, config.clicks.exposure_k,
                      _rng(config, STREAM_RANKER), progress=progress)
    clicks = simulate_clicks(exposure.grades, config.clicks, _rng(config, STREAM_CLICKS))
    shown = exposure.items >= 0

    train = pa.table({
        "impression_id": pa.array(np.arange(len(rows.train), dtype=np.int64)),
        "user": pa.array(rows.train.users),
        "query": pa.array(texts[q_train].tolist(), type=pa.string()),
        "history": padded_list_array(rows.train.history),
        "exposed": padded_list_array(exposure.items),
        "clicks": padded_list_array(clicks.astype(np.int64), keep=shown),
        "relevance": padded_list_array(exposure.grades.astype(np.int64), keep=shown),
        "target": pa.array(rows.train.targets),
    })
    clicked = (clicks > 0) & shown
    has_pair = clicked.any(axis=1) & (shown & ~clicked).any(axis=1)
    candidates = np.flatnonzero(has_pair)
    preference = candidates[_rng(config, STREAM_PREFERENCE).permutation(len(candidates))]
    # query_seen only under protocol 2: protocol 1 tables (and hashes) stay as they were.
    seen_valid = seen_text[text_ids[q_valid]] if config.protocol == 2 else None
    seen_test = seen_text[text_ids[q_test]] if config.protocol == 2 else None
    valid = _eval_table(rows.valid, q_valid, queries, texts, _rng(config, STREAM_VALID_ORDER), seen_valid)
    test = _eval_table(rows.test, q_test, queries, texts, _rng(config, STREAM_TEST_ORDER), seen_test)
    popularity = np.bincount(exposure.items[clicked], minlength=n_items).astype(np.int64)
    items = pa.table({
        column: pa.array(data.items[column].to_numpy(dtype=np.int64)) if column == "item_id"
        else pa.array([str(v) for v in data.items[column].tolist()], type=pa.string())
        for column in ITEM_COLUMNS
    })
    tables = {
        "items": items,
        "train": train,
        "preference": pa.table({"impression_id": pa.array(preference.astype(np.int64))}),
        "valid": valid,
        "test": test,
        "item_popularity": pa.table({"clicks": pa.array(popularity)}),
    }
    stats = _stats(name, data, rows, queries, (q_train, q_valid, q_test), exposure, clicks, len(preference), ordered)
    stats["protocol"] = config.protocol
    stats["seen"] = seen_stats(
        held_out_queries=len(held), removed_train_rows=n_train_before - len(rows.train),
        train_keys=text_ids[q_train] * n_items + rows.train.targets,
        valid_seen=seen_text[text_ids[q_valid]], test_seen=seen_text[text_ids[q_test]],
        test_text_ids=text_ids[q_test], test_keys=text_ids[q_test] * n_items + rows.test.targets,
        test_target_ordered=ordered[rows.test.targets],
    )
    return tables, popularity, stats


def choose_queries(data: CanonicalData, rows: SplitRows, config: DataConfig
                   ) -> tuple[QueryTable, tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The query table, the query id of every train / valid / test row (train rows before any hold-out) and
    the sorted held-out query ids: under protocol 2 a size-stratified ``unseen_query_share`` of the queries
    that occur in any split (holdout.py), under protocol 1 none."""
    queries = build_queries(data.items, config.min_positives, config.max_query_words, config.max_term_items,
                            config.seed)
    q_train = queries.choose(rows.train.targets, _rng(config, STREAM_TRAIN_QUERY))
    q_valid = queries.choose(rows.valid.targets, _rng(config, STREAM_VALID_QUERY))
    q_test = queries.choose(rows.test.targets, _rng(config, STREAM_TEST_QUERY))
    held = np.empty(0, dtype=np.int64)
    if config.protocol == 2:
        candidates = np.unique(np.concatenate([q_train, q_valid, q_test]))
        held = hold_out_queries(candidates, queries.relevant.sizes[candidates], config.unseen_query_share,
                                _rng(config, STREAM_HOLDOUT))
    return queries, (q_train, q_valid, q_test), held


def _eval_table(part: Rows, q: np.ndarray, queries: QueryTable, texts: np.ndarray,
                rng: np.random.Generator, seen: np.ndarray | None = None) -> pa.Table:
    """valid/test rows in a seeded shuffled order; ``query_id`` is the row's position before shuffling.
    ``seen`` (protocol 2; per row before shuffling) adds the ``query_seen`` column: 1 when the row's query text
    occurs in the training table."""
    order = rng.permutation(len(part))
    relevant = queries.relevant.gather(q[order])
    table = pa.table({
        "query_id": pa.array(order.astype(np.int64)),
        "user": pa.array(part.users[order]),
        "query": pa.array(texts[q[order]].tolist(), type=pa.string()),
        "history": padded_list_array(part.history[order]),
        "relevant": list_array(relevant.offsets, relevant.values),
        "target": pa.array(part.targets[order]),
    })
    if seen is not None:
        table = table.append_column(SEEN_COLUMN, pa.array(seen[order].astype(np.int64)))
    return table


def _stats(name: str, data: CanonicalData, rows: SplitRows, queries: QueryTable,
           chosen: tuple[np.ndarray, np.ndarray, np.ndarray], exposure: Any, clicks: np.ndarray,
           n_preference: int, ordered: np.ndarray) -> dict[str, Any]:
    q_train, q_valid, q_test = chosen
    texts = np.asarray(queries.texts, dtype=object)
    kinds = queries.kinds[q_test]
    stats: dict[str, Any] = {
        "dataset": name,
        "users": int(data.n_users),
        "items": int(data.n_items),
        "interactions": int(len(data.interactions)),
        "impressions": int(len(rows.train)),
        "preference_rows": int(n_preference),
        "valid_rows": int(len(rows.valid)),
        "test_rows": int(len(rows.test)),
        "queries": {
            "distinct": int(len(set(texts[np.concatenate(chosen)].tolist()))),
            "train_distinct": int(len(set(texts[q_train].tolist()))),
            "test_distinct": int(len(set(texts[q_test].tolist()))),
            "test_rows": int(len(q_test)),
            "test_protocol_share": {KIND_NAMES[k]: round(float((kinds == k).mean()), 4) for k in KIND_NAMES},
        },
        "positives_per_query": positives_per_query(queries.relevant.sizes[q_test]),
        "target_forced_share": round(float(exposure.forced.mean()), 6),
        "test_targets_unseen_in_train": round(float((ordered[rows.test.targets] == 0).mean()), 6),
    }
    stats.update(impression_stats(exposure.items, clicks, exposure.grades))
    return stats


def build_from_canonical(name: str, data: CanonicalData, rows: SplitRows, config: DataConfig | None = None
                         ) -> BuiltDataset:
    """A BuiltDataset from canonical tables a user loaded (e.g. with ``benchmark.data.loaders``) and split
    rows (e.g. ``splits.leave_one_out``), in memory: no cache, same pipeline as registered datasets."""
    config = DataConfig() if config is None else config
    start = time.perf_counter()
    tables, popularity, stats = assemble(name, data, rows, config)
    stats["build_seconds"] = round(time.perf_counter() - start, 3)
    return _to_built(name, config, cache.cache_key(name, {}, config, False), tables, popularity, stats, None)
