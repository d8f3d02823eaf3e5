"""How each registered dataset becomes canonical tables and split rows (docs/DATA.md "Datasets").

Each function takes the resolved (checksum-verified) files and the DataConfig and returns
``(CanonicalData, SplitRows, notes)``; ``notes`` (e.g. the temporal cutoffs) go to the manifest.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.data.canonical import (
    CATEGORY_SEPARATOR,
    CanonicalData,
    make_interactions,
    make_items,
    validate,
)
from benchmark.data.categories import segment_word_paths
from benchmark.data.config import DataConfig
from benchmark.data.loaders._io import int_column, read_table
from benchmark.data.loaders.recbole import parse_unisrec_text, read_atomic, read_int_sequences
from benchmark.data.loaders.rechorus import load_rechorus_files, read_item_index
from benchmark.data.splits import SplitRows, leave_one_out, rows_from_lists, temporal
from benchmark.data.synthetic import generate
from benchmark.errors import DataError

SourceResult = tuple[CanonicalData, SplitRows, dict[str, Any]]
SCIENTIFIC_ROOT = "Industrial & Scientific"
# Temporal split of amazon14-office: cutoffs at these quantiles of all interaction times (docs/DATA.md).
OFFICE_VALID_QUANTILE = 0.8
OFFICE_TEST_QUANTILE = 0.9


def _sequences_to_interactions(users: np.ndarray, histories: list[list[int]], targets: np.ndarray) -> pd.DataFrame:
    """Full sequences (history + target per user) as canonical interactions in sequence order."""
    lengths = np.array([len(h) + 1 for h in histories], dtype=np.int64)
    flat_users = np.repeat(users, lengths)
    flat_items = np.fromiter((i for h, t in zip(histories, targets) for i in (*h, t)), dtype=np.int64,
                             count=int(lengths.sum()))
    return make_interactions(flat_users, flat_items, None)


def _check_ids(path: Path, ids: np.ndarray, n: int, what: str) -> None:
    if len(ids) and (ids.min() < 0 or ids.max() >= n):
        bad = int(ids[(ids < 0) | (ids >= n)][0])
        raise DataError(f"{path}: {what} {bad} is outside 0..{n - 1} (the id range of the item / user files).")


def amazon18_scientific(files: dict[str, Path], config: DataConfig) -> SourceResult:
    """UniSRec's Scientific: ASIN -> index, UniSRec text, train/valid/test.inter rows."""
    index_path, text_path = files["Scientific.item2index"], files["Scientific.text"]
    index = read_table(index_path, "item index (ASIN \\t index, no header)", "\t", ["asin", "index"],
                       header=["asin", "index"])
    positions = int_column(index, "index", index_path, "an integer item index")
    asins = index["asin"].str.strip().to_numpy(dtype=object)
    n_items = len(asins)
    if not np.array_equal(np.sort(positions), np.arange(n_items)):
        raise DataError(f"{index_path}: item indices must be exactly 0..{n_items - 1}.")
    by_index = np.empty(n_items, dtype=object)
    by_index[positions] = asins
    text = read_atomic(text_path, "UniSRec item text (item_id:token, text:token_seq)",
                       {"item_id": "token", "text": "token_seq"})
    texts = dict(zip(text["item_id"].str.strip().tolist(), text["text"].tolist()))
    missing = [a for a in by_index if a not in texts]
    if missing:
        raise DataError(f"{text_path}: no text for item {missing[0]!r} (expected one row per ASIN of {index_path.name}).")
    parsed = [parse_unisrec_text(texts[a], SCIENTIFIC_ROOT) for a in by_index]
    words = [p[1][len(SCIENTIFIC_ROOT):].strip() if p[1] else "" for p in parsed]
    levels = segment_word_paths(words)
    categories = [CATEGORY_SEPARATOR.join((SCIENTIFIC_ROOT, *lv)) if lv else "" for lv in levels]
    items = make_items(list(by_index), titles=[p[0] for p in parsed], categories=categories,
                       brands=[p[2] for p in parsed], texts=[texts[a].strip() for a in by_index])

    split: dict[str, Any] = {}
    for name in ("train", "valid", "test"):
        path = files[f"Scientific.{name}.inter"]
        users, histories, targets = read_int_sequences(path)
        _check_ids(path, targets, n_items, "item id")
        _check_ids(path, np.fromiter((i for h in histories for i in h), dtype=np.int64), n_items, "item id")
        split[name] = (users, histories, targets)
    users, histories, targets = split["test"]
    n_users = int(max(u.max() for u, _, _ in split.values())) + 1
    interactions = _sequences_to_interactions(users, histories, targets)
    data = validate(CanonicalData(items, interactions, tuple(str(u) for u in range(n_users)),
                                  "amazon18-scientific (UniSRec RecBole files)"))
    rows = SplitRows(**{name: rows_from_lists(*split[name], config.history_len) for name in split})
    return data, rows, {"split": "given rows (UniSRec train/valid/test.inter)"}


def amazon18_games(files: dict[str, Path], config: DataConfig) -> SourceResult:
    """LLMRank's Games: titles only; test.inter holds each user's full sequence -> leave-one-out."""
    item_path = files["Games.item"]
    frame = read_atomic(item_path, "RecBole item titles (item_id:token, title:token_seq)",
                        {"item_id": "token", "title": "token_seq"})
    ids = int_column(frame, "item_id", item_path, "an integer item id")
    n_items = len(ids)
    if not np.array_equal(ids, np.arange(n_items)):
        raise DataError(f"{item_path}: item ids must be 0..{n_items - 1} in order.")
    titles = [html.unescape(t).strip() for t in frame["title"].tolist()]  # LLMRank keeps HTML entities (&amp;)
    items = make_items([str(i) for i in ids], titles=titles, texts=titles)

    test_path, valid_path = files["Games.test.inter"], files["Games.valid.inter"]
    users, histories, targets = read_int_sequences(test_path)
    _check_ids(test_path, targets, n_items, "item id")
    _check_ids(test_path, np.fromiter((i for h in histories for i in h), dtype=np.int64), n_items, "item id")
    v_users, v_histories, v_targets = read_int_sequences(valid_path)
    # valid.inter must be test.inter minus the last item (LLMRank's layout); check rather than assume.
    full = {int(u): h for u, h in zip(users.tolist(), histories)}
    for lineno, (u, h, t) in enumerate(zip(v_users.tolist(), v_histories, v_targets.tolist()), start=2):
        seq = full.get(u)
        overlap = min(len(h), len(seq) - 1) if seq else 0
        if not seq or seq[-1] != t or h[len(h) - overlap:] != seq[len(seq) - 1 - overlap:-1]:
            raise DataError(f"{valid_path}: line {lineno}: the row of user {u} is not the user's test.inter sequence "
                            f"minus its last item (expected LLMRank's Games-6k layout).")
    interactions = _sequences_to_interactions(users, histories, targets)
    n_users = int(users.max()) + 1
    data = validate(CanonicalData(items, interactions, tuple(str(u) for u in range(n_users)),
                                  "amazon18-games (LLMRank RecBole files)"))
    return data, leave_one_out(interactions, config.history_len), {"split": "leave-one-out by order"}


def _office_brands(texts: list[str], brand_ids: np.ndarray) -> list[str]:
    """Office.text is title + " " + brand with no delimiter; item_meta.csv gives brand ids (no names). The
    brand name is the longest word suffix shared by all texts of a brand id (>= 2 items; at most 4 words)."""
    brands = [""] * len(texts)
    groups: dict[int, list[int]] = {}
    for i, b in enumerate(brand_ids.tolist()):
        if b > 0:  # 0 = unknown brand in ReChorus' encoding
            groups.setdefault(b, []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        words = [texts[i].split() for i in members]
        n = 0
        while n < 4 and all(len(w) > n + 1 for w in words) and len({w[-1 - n] for w in words}) == 1:
            n += 1
        if n:
            name = " ".join(words[0][-n:])
            for i in members:
                brands[i] = name
    return brands


def amazon14_office(files: dict[str, Path], config: DataConfig) -> SourceResult:
    """LRD's ReChorus Office: unix times -> temporal split at global cutoffs."""
    meta_path = files["item_meta.csv"]
    data = load_rechorus_files([files["train.csv"], files["dev.csv"], files["test.csv"]], meta_path,
                               text_file=files["Office.text"], item_index_file=files["Office.item2index"])
    meta = read_table(meta_path, "ReChorus item features (item_id, i_category, i_brand)", "\t",
                      ["item_id", "i_brand"])
    meta_ids = int_column(meta, "item_id", meta_path, "an integer item id")
    brand_of = dict(zip(meta_ids.tolist(), int_column(meta, "i_brand", meta_path, "an integer brand id").tolist()))
    index = {asin: number for number, asin in read_item_index(files["Office.item2index"]).items()}
    texts = [html.unescape(t) for t in data.items["text"].tolist()]
    brand_ids = np.array([brand_of.get(index.get(s, -1), 0) for s in data.items["source_id"]], dtype=np.int64)
    brands = _office_brands(texts, brand_ids)
    titles = [t[: len(t) - len(b)].strip() if b and t.endswith(b) else t for t, b in zip(texts, brands)]
    missing = [s for s, t in zip(data.items["source_id"], texts) if not t]
    if missing:
        raise DataError(f"{files['Office.text']}: no text for item {missing[0]!r} (expected one row per ASIN).")
    items = make_items(data.items["source_id"].tolist(), titles=titles, brands=brands, texts=texts)
    data = validate(CanonicalData(items, data.interactions, data.user_ids, "amazon14-office (LRD ReChorus files)"))
    rows, cutoffs = temporal(data.interactions, config.history_len, OFFICE_VALID_QUANTILE, OFFICE_TEST_QUANTILE)
    return data, rows, {"split": f"temporal: cutoffs at the {OFFICE_VALID_QUANTILE:g} / {OFFICE_TEST_QUANTILE:g} "
                                 f"quantiles of interaction times", **cutoffs}


def synthetic(files: dict[str, Path], config: DataConfig) -> SourceResult:
    data = generate(config.synthetic)
    return data, leave_one_out(data.interactions, config.history_len), {"split": "leave-one-out by order"}
