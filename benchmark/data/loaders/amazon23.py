"""Amazon Reviews 2023 (Hou et al. 2024, McAuley lab): JSON lines, gzipped or not, or a Hugging Face dataset.

Fields relied on:
- reviews (``Industrial_and_Scientific.jsonl``): ``user_id`` (str), ``parent_asin`` (str; the product, variants
  merged), ``timestamp`` (int, unix milliseconds).
- metadata (``meta_Industrial_and_Scientific.jsonl``, optional): ``parent_asin``, ``title`` (str),
  ``categories`` (list of str, top level first; often empty), ``store`` (str, used as the brand).

Times are stored in seconds; events within the same second keep their millisecond order.

``load_amazon23_hub`` reads the same records through ``datasets.load_dataset`` (optional dependency, extra
``hf``) from a Hugging Face Hub dataset id or a local directory laid out like a Hub repository, and checks
them exactly as the file loader does. The release's own Hub repository (``McAuley-Lab/Amazon-Reviews-2023``)
holds a loading script, which ``datasets`` >= 4 refuses to run; its raw JSONL files are read directly instead
(``raw/review_categories/<Category>.jsonl``, ``raw/meta_categories/meta_<Category>.jsonl``), which works with
every ``datasets`` version. Parquet or JSON mirrors with named configs are read by config name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmark.data.canonical import CanonicalData
from benchmark.data.loaders._amazon import AmazonFormat, load_amazon_json, load_amazon_records
from benchmark.errors import BenchmarkError, DataError

log = logging.getLogger(__name__)

AMAZON23 = AmazonFormat(release="2023", user="user_id", item="parent_asin", time="timestamp",
                        time_units_per_second=1000, category="categories", brand="store")
HUB_DATASET = "McAuley-Lab/Amazon-Reviews-2023"
# Where the release's Hub repository keeps the raw files of one category.
HUB_REVIEWS = "raw/review_categories/{category}.jsonl"
HUB_META = "raw/meta_categories/meta_{category}.jsonl"
# A value naming a data file (or glob) inside the dataset, not one of its configs.
_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".jsonl.gz": "json", ".json.gz": "json",
                  ".parquet": "parquet"}
_BATCH_ROWS = 10_000


def load_amazon23(reviews: Path | str, meta: Path | str | None = None) -> CanonicalData:
    return load_amazon_json(AMAZON23, reviews, meta)


def load_amazon23_hub(dataset: str = HUB_DATASET, category: str | None = None, *, reviews: str | None = None,
                      meta: str | None = None, with_meta: bool = True, split: str | None = None,
                      revision: str | None = None, cache_dir: Path | str | None = None) -> CanonicalData:
    """Canonical tables from Amazon Reviews 2023 records loaded with ``datasets.load_dataset``.

    ``dataset``: a Hub dataset id (``McAuley-Lab/Amazon-Reviews-2023`` by default; needs network access, and a
    token from ``huggingface-cli login`` for gated copies) or a local directory laid out like a Hub repository.
    ``reviews`` / ``meta``: each either a data file (or glob) inside the dataset, recognised by its ending
    (``.jsonl``, ``.json``, ``.jsonl.gz``, ``.json.gz``, ``.parquet``), or the name of one of the dataset's
    configs. ``category`` (e.g. ``Industrial_and_Scientific``) fills in the release's raw file paths for the ones
    not given (module docstring). ``with_meta=False`` skips the metadata (items keep empty text).
    ``split``: the split of a config (default: its only split; a data file is one split). ``revision``: a
    branch, tag or commit of a Hub dataset. ``cache_dir``: where ``datasets`` caches the Arrow files (default
    ``<grbench cache>/huggingface``).

    The rows pass the same field checks as the JSON lines loader (errors name the dataset, the file or config,
    the row and the field) and give the same tables: ``load_amazon23(files)`` and this function agree on the
    same records.
    """
    if reviews is None:
        if category is None:
            raise BenchmarkError("load_amazon23_hub needs the reviews to read: pass category= (e.g. "
                                 "'Industrial_and_Scientific') or reviews= (a data file or a config name).")
        reviews = HUB_REVIEWS.format(category=category)
    if meta is None and with_meta and category is not None:
        meta = HUB_META.format(category=category)
    if not with_meta:
        meta = None
    if cache_dir is None:
        from benchmark.artifacts import cache_root

        cache_dir = cache_root() / "huggingface"
    options = {"split": split, "revision": revision, "cache_dir": str(cache_dir)}
    fmt = AMAZON23
    review_rows = _hub_records(dataset, reviews, (fmt.user, fmt.item, fmt.time), 3, **options)
    meta_rows = None
    if meta is not None:
        meta_rows = _hub_records(dataset, meta, (fmt.item, "title", fmt.category, fmt.brand), 1, **options)
    return load_amazon_records(fmt, review_rows, meta_rows, f"Amazon {fmt.release} Hugging Face dataset "
                               f"{dataset} ({reviews})")


def _is_file(value: str) -> str | None:
    """The packaged ``datasets`` builder of a data file value, or None when ``value`` names a config."""
    return next((builder for end, builder in _FILE_BUILDERS.items() if value.endswith(end)), None)


def _hub_records(dataset: str, part: str, columns: tuple[str, ...], n_required: int, *, split: str | None, revision: str | None,
                 cache_dir: str) -> tuple[str, Iterator[tuple[int, dict[str, Any]]]]:
    """(label for messages, (row number from 1, record) pairs) of one config or data file of ``dataset``; the
    first ``n_required`` of ``columns`` must be columns of it, the others are read when present."""
    from benchmark.data.export import require_datasets

    datasets = require_datasets()
    builder = _is_file(part)
    label = f"{dataset} [{part}]"
    try:
        if builder is not None:
            # A packaged builder on the file itself: never runs a repository's loading script.
            if Path(dataset).is_dir():
                files = str(Path(dataset) / part)
            else:
                files = f"hf://datasets/{dataset}{'@' + revision if revision else ''}/{part}"
            loaded = datasets.load_dataset(builder, data_files=files, split="train", cache_dir=cache_dir)
        else:
            loaded = datasets.load_dataset(dataset, part, split=split, revision=revision, cache_dir=cache_dir)
    except (FileNotFoundError, ValueError, ConnectionError, RuntimeError) as exc:
        # datasets' own messages say what is missing (file, config, split, access); keep them.
        raise DataError(f"{label}: cannot load it with datasets.load_dataset: {exc}") from exc
    if isinstance(loaded, datasets.DatasetDict):
        if len(loaded) != 1:
            raise DataError(f"{label}: has splits {sorted(loaded)}; pass split= to choose one.")
        loaded = next(iter(loaded.values()))
    if split is not None and builder is None:
        label = f"{dataset} [{part}, split {split}]"
    missing = [c for c in columns[:n_required] if c not in loaded.column_names]
    if missing:
        raise DataError(f"{label}: missing column(s) {missing}; found {loaded.column_names} (expected Amazon "
                        f"Reviews 2023 records with {list(columns)}).")
    keep = [c for c in columns if c in loaded.column_names]
    log.info("reading %d rows of %s", loaded.num_rows, label)
    return label, _rows(loaded.select_columns(keep), keep)


def _rows(table: Any, columns: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    row = 0
    for batch in table.iter(batch_size=_BATCH_ROWS):
        for values in zip(*(batch[c] for c in columns)):
            row += 1
            yield row, dict(zip(columns, values))
