"""The reader shared by the Amazon 2018 and 2023 loaders: both are reviews + metadata JSON lines that differ
only in field names and time unit, so one reader takes an :class:`AmazonFormat` naming them."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


@dataclasses.dataclass(frozen=True)
class AmazonFormat:
    """Field names of one release; ``time_units_per_second`` converts its timestamps to seconds."""

    release: str
    user: str
    item: str
    time: str
    time_units_per_second: int
    category: str
    brand: str

    def reviews_what(self) -> str:
        unit = "s" if self.time_units_per_second == 1 else "ms"
        return f"Amazon {self.release} reviews (JSON lines with {self.user}, {self.item}, {self.time} in {unit})"

    def meta_what(self) -> str:
        return f"Amazon {self.release} metadata (JSON lines with {self.item}, title, {self.category}, {self.brand})"


def _text(obj: dict, field: str, path: Path | str, lineno: int, expected: str) -> str:
    """An optional string field, HTML entities unescaped (the crawls keep e.g. ``&amp;`` in titles)."""
    return html.unescape(json_field(obj, field, (str,), path, lineno, expected, required=False, default="")).strip()


def _category_path(obj: dict, field: str, path: Path | str, lineno: int) -> str:
    levels = json_field(obj, field, (list,), path, lineno, "a list of category names", required=False, default=[])
    if not all(isinstance(level, str) for level in levels):
        raise DataError(f"{path}: line {lineno}: field {field!r} has value {levels!r} (expected a list of strings).")
    return CATEGORY_SEPARATOR.join(html.unescape(level).strip() for level in levels if level.strip())


# One source of records: where they come from (a file path, or a Hub dataset and its config, for messages)
# and (1-based line or row number, record) pairs.
Records = tuple[Path | str, Iterable[tuple[int, dict[str, Any]]]]


def load_amazon_json(fmt: AmazonFormat, reviews: Path | str, meta: Path | str | None) -> CanonicalData:
    """Canonical tables from one release's reviews file and (optional) metadata file.

    A review is an interaction; repeated identical (user, item, time) records are dropped. Items reviewed but
    absent from the metadata keep empty text.
    """
    reviews = Path(reviews)
    meta_records = None
    if meta is not None:
        meta = Path(meta)
        meta_records = (meta, iter_json_lines(meta, fmt.meta_what()))
    return load_amazon_records(fmt, (reviews, iter_json_lines(reviews, fmt.reviews_what())), meta_records,
                               f"Amazon {fmt.release} files {reviews}")


def load_amazon_records(fmt: AmazonFormat, reviews: Records, meta: Records | None, source: str) -> CanonicalData:
    """Canonical tables from review and (optional) metadata records, whatever they were read from (JSON
    lines, or rows of a Hugging Face dataset): the same field checks and the same tables either way."""
    reviews_at, review_records = reviews
    user_src: list[str] = []
    item_src: list[str] = []
    raw_times: list[int] = []
    seen: set[tuple[str, str, int]] = set()
    for lineno, obj in review_records:
        user = json_field(obj, fmt.user, (str,), reviews_at, lineno, "a user id string")
        item = json_field(obj, fmt.item, (str,), reviews_at, lineno, "a product ASIN string")
        unit = "seconds" if fmt.time_units_per_second == 1 else "milliseconds"
        time = json_int(obj, fmt.time, reviews_at, lineno, f"an integer unix time in {unit}")
        if (user, item, time) in seen:
            continue
        seen.add((user, item, time))
        user_src.append(user)
        item_src.append(item)
        raw_times.append(time)

    titles: dict[str, str] = {}
    categories: dict[str, str] = {}
    brands: dict[str, str] = {}
    if meta is not None:
        meta_at, meta_records = meta
        for lineno, obj in meta_records:
            item = json_field(obj, fmt.item, (str,), meta_at, lineno, "a product ASIN string")
            titles[item] = _text(obj, "title", meta_at, lineno, "a title string")
            categories[item] = _category_path(obj, fmt.category, meta_at, lineno)
            brands[item] = _text(obj, fmt.brand, meta_at, lineno, "a brand string")

    item_codes, item_ids = dense_ids(item_src)
    users, user_ids = dense_ids(user_src)
    items = make_items(
        item_ids,
        titles=[titles.get(i, "") for i in item_ids],
        categories=[categories.get(i, "") for i in item_ids],
        brands=[brands.get(i, "") for i in item_ids],
        texts=[compose_text(titles.get(i, ""), categories.get(i, ""), brands.get(i, "")) for i in item_ids],
    )
    raw = np.asarray(raw_times, dtype=np.int64)
    # Sub-second units keep their order among events within the same second.
    interactions = make_interactions(users, item_codes, raw // fmt.time_units_per_second, tiebreak=raw)
    return validate(CanonicalData(items, interactions, tuple(user_ids), source))
