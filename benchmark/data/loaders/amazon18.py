"""Amazon Review Data 2018 (Ni, Li, McAuley, EMNLP 2019): reviews + metadata JSON lines, gzipped or not.

Fields relied on:
- reviews (e.g. ``Industrial_and_Scientific.json.gz``): ``reviewerID`` (str), ``asin`` (str),
  ``unixReviewTime`` (int, unix seconds). Other fields (overall, reviewText, ...) are ignored.
- metadata (``meta_Industrial_and_Scientific.json.gz``, optional): ``asin``, ``title`` (str), ``category``
  (list of str, root first), ``brand`` (str). Items reviewed but absent from the metadata keep empty text.

A review is an interaction (the purchase proxy used by UniSRec and the product-search literature); repeated
identical (user, item, time) records are dropped. HTML entities in titles are unescaped.
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

REVIEWS = "Amazon 2018 reviews (JSON lines with reviewerID, asin, unixReviewTime)"
META = "Amazon 2018 metadata (JSON lines with asin, title, category, brand)"


def load_amazon18(reviews: Path | str, meta: Path | str | None = None) -> CanonicalData:
    reviews = Path(reviews)
    user_src: list[str] = []
    item_src: list[str] = []
    times: list[int] = []
    seen: set[tuple[str, str, int]] = set()
    for lineno, obj in iter_json_lines(reviews, REVIEWS):
        user = json_field(obj, "reviewerID", (str,), reviews, lineno, "a reviewer id string")
        asin = json_field(obj, "asin", (str,), reviews, lineno, "a product ASIN string")
        time = json_int(obj, "unixReviewTime", reviews, lineno, "an integer unix time in seconds")
        key = (user, asin, time)
        if key in seen:
            continue
        seen.add(key)
        user_src.append(user)
        item_src.append(asin)
        times.append(time)

    titles: dict[str, str] = {}
    categories: dict[str, str] = {}
    brands: dict[str, str] = {}
    if meta is not None:
        meta = Path(meta)
        for lineno, obj in iter_json_lines(meta, META):
            asin = json_field(obj, "asin", (str,), meta, lineno, "a product ASIN string")
            titles[asin] = html.unescape(json_field(obj, "title", (str,), meta, lineno, "a title string",
                                                    required=False, default="")).strip()
            path = json_field(obj, "category", (list,), meta, lineno, "a list of category names",
                              required=False, default=[])
            if not all(isinstance(level, str) for level in path):
                raise DataError(f"{meta}: line {lineno}: field 'category' has value {path!r} (expected a list of "
                                f"strings).")
            categories[asin] = CATEGORY_SEPARATOR.join(html.unescape(level).strip() for level in path if level.strip())
            brands[asin] = html.unescape(json_field(obj, "brand", (str,), meta, lineno, "a brand string",
                                                    required=False, default="")).strip()
    return assemble(user_src, item_src, times, titles, categories, brands, f"Amazon 2018 files {reviews}")


def assemble(user_src: list[str], item_src: list[str], times: list[int], titles: dict[str, str],
             categories: dict[str, str], brands: dict[str, str], source: str) -> CanonicalData:
    """Canonical tables from parallel (user, item, time) lists and per-item metadata dicts."""
    item_codes, item_ids = dense_ids(item_src)
    users, user_ids = dense_ids(user_src)
    texts = [compose_text(titles.get(a, ""), categories.get(a, ""), brands.get(a, "")) for a in item_ids]
    items = make_items(
        item_ids,
        titles=[titles.get(a, "") for a in item_ids],
        categories=[categories.get(a, "") for a in item_ids],
        brands=[brands.get(a, "") for a in item_ids],
        texts=texts,
    )
    interactions = make_interactions(users, item_codes, np.asarray(times, dtype=np.int64))
    return validate(CanonicalData(items, interactions, tuple(user_ids), source))
