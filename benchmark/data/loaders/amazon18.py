"""Amazon Review Data 2018 (Ni, Li, McAuley, EMNLP 2019): reviews + metadata JSON lines, gzipped or not.

Fields relied on:
- reviews (e.g. ``Industrial_and_Scientific.json.gz``): ``reviewerID`` (str), ``asin`` (str),
  ``unixReviewTime`` (int, unix seconds). Other fields (overall, reviewText, ...) are ignored.
- metadata (``meta_Industrial_and_Scientific.json.gz``, optional): ``asin``, ``title`` (str), ``category``
  (list of str, root first), ``brand`` (str). Items reviewed but absent from the metadata keep empty text.

A review is an interaction (the purchase proxy used by UniSRec and the product-search literature); repeated
identical (user, item, time) records are dropped. HTML entities in text fields are unescaped.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.data.canonical import CanonicalData
from benchmark.data.loaders._amazon import AmazonFormat, load_amazon_json

AMAZON18 = AmazonFormat(release="2018", user="reviewerID", item="asin", time="unixReviewTime",
                        time_units_per_second=1, category="category", brand="brand")


def load_amazon18(reviews: Path | str, meta: Path | str | None = None) -> CanonicalData:
    return load_amazon_json(AMAZON18, reviews, meta)
