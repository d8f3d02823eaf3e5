"""Amazon Reviews 2023 (Hou et al. 2024, McAuley lab): JSON lines, gzipped or not.

Fields relied on:
- reviews (``Industrial_and_Scientific.jsonl``): ``user_id`` (str), ``parent_asin`` (str; the product, variants
  merged), ``timestamp`` (int, unix milliseconds).
- metadata (``meta_Industrial_and_Scientific.jsonl``, optional): ``parent_asin``, ``title`` (str),
  ``categories`` (list of str, top level first; often empty), ``store`` (str, used as the brand).

Times are stored in seconds; events within the same second keep their millisecond order.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.data.canonical import CanonicalData
from benchmark.data.loaders._amazon import AmazonFormat, load_amazon_json

AMAZON23 = AmazonFormat(release="2023", user="user_id", item="parent_asin", time="timestamp",
                        time_units_per_second=1000, category="categories", brand="store")


def load_amazon23(reviews: Path | str, meta: Path | str | None = None) -> CanonicalData:
    return load_amazon_json(AMAZON23, reviews, meta)
