"""KuaiSAR (Sun et al., CIKM 2023; https://kuaisar.github.io/detailed_statistics.html): comma-separated CSV.

Fields relied on:
- ``rec_inter.csv``: ``user_id``, ``item_id``, ``timestamp`` (unix ms, float), ``click`` (0/1). Rows with
  click = 1 are interactions.
- ``src_inter.csv``: ``user_id``, ``item_id``, ``search_session_timestamp`` (unix ms), ``keyword`` (the
  anonymised query: a list of word ids such as "[20, 34, 3]"), ``click_cnt`` (> 0 = clicked). Clicked rows
  are interactions and keep their query as ``query`` = "kw20 kw34 kw3".
- ``item_features.csv`` (optional): ``item_id`` and ``{first,second,third,fourth}_level_category_name_en``
  ("empty" marks a missing level).

Captions and query words are anonymised ids, so items have no text: ``title`` and ``text`` are "" in the
items table (item embeddings must come from co-occurrence, not from a text encoder). Either interaction file
may be absent, not both.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.data.canonical import (
    CATEGORY_SEPARATOR,
    CanonicalData,
    dense_ids,
    make_interactions,
    make_items,
    validate,
)
from benchmark.data.loaders._io import float_column, int_column, int_list_column, read_table
from benchmark.errors import DataError

REC = "KuaiSAR recommendation log rec_inter.csv (user_id, item_id, timestamp, click)"
SRC = "KuaiSAR search log src_inter.csv (user_id, item_id, search_session_timestamp, keyword, click_cnt)"
LEVELS = ("first", "second", "third", "fourth")
EMPTY_LEVELS = {"", "empty", "unknown", "nan"}


def load_kuaisar(directory: Path | str) -> CanonicalData:
    directory = Path(directory)
    rec_path, src_path = directory / "rec_inter.csv", directory / "src_inter.csv"
    if not rec_path.is_file() and not src_path.is_file():
        raise DataError(f"{directory}: neither rec_inter.csv nor src_inter.csv exists (expected KuaiSAR files).")
    parts = []
    if rec_path.is_file():
        rec = read_table(rec_path, REC, ",", ["user_id", "item_id", "timestamp", "click"], quoting=csv.QUOTE_MINIMAL)
        clicked = int_column(rec, "click", rec_path, "0 or 1") > 0
        parts.append(pd.DataFrame({
            "user": int_column(rec, "user_id", rec_path, "an integer user id")[clicked],
            "item": int_column(rec, "item_id", rec_path, "an integer item id")[clicked],
            "ms": float_column(rec, "timestamp", rec_path, "a unix time in milliseconds")[clicked].astype(np.int64),
            "query": "",
        }))
    if src_path.is_file():
        src = read_table(src_path, SRC, ",", ["user_id", "item_id", "search_session_timestamp", "keyword", "click_cnt"],
                         quoting=csv.QUOTE_MINIMAL)
        clicked = int_column(src, "click_cnt", src_path, "a click count") > 0
        keywords = int_list_column(src, "keyword", src_path, expected="a list of keyword ids such as [20, 34, 3]")
        parts.append(pd.DataFrame({
            "user": int_column(src, "user_id", src_path, "an integer user id")[clicked],
            "item": int_column(src, "item_id", src_path, "an integer item id")[clicked],
            "ms": float_column(src, "search_session_timestamp", src_path,
                               "a unix time in milliseconds")[clicked].astype(np.int64),
            "query": [" ".join(f"kw{k}" for k in kw) for kw, keep in zip(keywords, clicked) if keep],
        }))
    log = pd.concat(parts, ignore_index=True)
    if len(log) == 0:
        raise DataError(f"{directory}: no clicked rows in the KuaiSAR logs (expected click = 1 / click_cnt > 0).")

    categories: dict[int, str] = {}
    features = directory / "item_features.csv"
    if features.is_file():
        frame = read_table(features, "KuaiSAR item_features.csv (item_id, *_level_category_name_en)", ",",
                           ["item_id"], quoting=csv.QUOTE_MINIMAL)
        ids = int_column(frame, "item_id", features, "an integer item id")
        columns = [f"{level}_level_category_name_en" for level in LEVELS if f"{level}_level_category_name_en" in frame]
        names = frame[columns].to_numpy(dtype=object) if columns else np.empty((len(frame), 0), dtype=object)
        for item, row in zip(ids.tolist(), names):
            levels = [str(v).strip() for v in row if str(v).strip().lower() not in EMPTY_LEVELS]
            categories[item] = CATEGORY_SEPARATOR.join(levels)

    numbers = sorted(set(log["item"].tolist()) | set(categories))
    index = {n: i for i, n in enumerate(numbers)}
    items = make_items([str(n) for n in numbers], categories=[categories.get(n, "") for n in numbers])
    users, user_ids = dense_ids([str(u) for u in log["user"].tolist()])
    ms = log["ms"].to_numpy()
    interactions = make_interactions(users, np.array([index[n] for n in log["item"].tolist()]), ms // 1000,
                                     tiebreak=ms, extra={"query": log["query"].to_numpy(dtype=object)})
    return validate(CanonicalData(items, interactions, tuple(user_ids), f"KuaiSAR files {directory}"))
