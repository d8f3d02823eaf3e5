"""Amazon Reviews 2023 (Hou et al. 2024, McAuley lab): JSON lines, gzipped or not.

Fields relied on:
- reviews (``Industrial_and_Scientific.jsonl``): ``user_id`` (str), ``parent_asin`` (str; the product, variants
  merged), ``timestamp`` (int, unix milliseconds).
- metadata (``meta_Industrial_and_Scientific.jsonl``, optional): ``parent_asin``, ``title`` (str),
  ``categories`` (list of str, top level first; often empty), ``store`` (str, used as the brand).

Times are stored in seconds; events within the same second keep their millisecond order.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from benchmark.data.canonical import (
    CATEGORY_SEPARATOR,
    CanonicalData,
    compose_text,
    dense_ids,
    make_interactions,
    make_items,
    validate,
)
from benchmark.data.loaders._io import iter_json_lines, json_field, json_int
from benchmark.errors import DataError

REVIEWS = "Amazon 2023 reviews (JSON lines with user_id, parent_asin, timestamp in ms)"
META = "Amazon 2023 metadata (JSON lines with parent_asin, title, categories, store)"


def load_amazon23(reviews: Path | str, meta: Path | str | None = None) -> CanonicalData:
    reviews = Path(reviews)
    user_src: list[str] = []
    item_src: list[str] = []
    millis: list[int] = []
    seen: set[tuple[str, str, int]] = set()
    for lineno, obj in iter_json_lines(reviews, REVIEWS):
        user = json_field(obj, "user_id", (str,), reviews, lineno, "a user id string")
        item = json_field(obj, "parent_asin", (str,), reviews, lineno, "a parent ASIN string")
        ms = json_int(obj, "timestamp", reviews, lineno, "an integer unix time in milliseconds")
        if (user, item, ms) in seen:
            continue
        seen.add((user, item, ms))
        user_src.append(user)
        item_src.append(item)
        millis.append(ms)

    titles: dict[str, str] = {}
    categories: dict[str, str] = {}
    brands: dict[str, str] = {}
    if meta is not None:
        meta = Path(meta)
        for lineno, obj in iter_json_lines(meta, META):
            item = json_field(obj, "parent_asin", (str,), meta, lineno, "a parent ASIN string")
            titles[item] = html.unescape(
                json_field(obj, "title", (str,), meta, lineno, "a title string", required=False, default="")
            ).strip()
            path = json_field(obj, "categories", (list,), meta, lineno, "a list of category names",
                              required=False, default=[])
            if not all(isinstance(level, str) for level in path):
                raise DataError(f"{meta}: line {lineno}: field 'categories' has value {path!r} (expected a list "
                                f"of strings).")
            categories[item] = CATEGORY_SEPARATOR.join(level.strip() for level in path if level.strip())
            brands[item] = json_field(obj, "store", (str,), meta, lineno, "a store name string",
                                      required=False, default="").strip()

    item_codes, item_ids = dense_ids(item_src)
    users, user_ids = dense_ids(user_src)
    items = make_items(
        item_ids,
        titles=[titles.get(i, "") for i in item_ids],
        categories=[categories.get(i, "") for i in item_ids],
        brands=[brands.get(i, "") for i in item_ids],
        texts=[compose_text(titles.get(i, ""), categories.get(i, ""), brands.get(i, "")) for i in item_ids],
    )
    ms_array = np.asarray(millis, dtype=np.int64)
    interactions = make_interactions(users, item_codes, ms_array // 1000, tiebreak=ms_array)
    return validate(CanonicalData(items, interactions, tuple(user_ids), f"Amazon 2023 files {reviews}"))
