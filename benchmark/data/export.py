"""A built dataset as a Hugging Face ``datasets.DatasetDict`` on disk (``grbench data export --format hf``).

Layout of the output directory (``datasets.load_from_disk(DIR)`` reads it back)::

    DIR/README.md             the dataset card: how it was made, columns, the grbench data card, source, license
    DIR/dataset_dict.json     written by ``DatasetDict.save_to_disk`` (Arrow files under one folder per table)
    DIR/train/ preference/ validation/ test/ items/

Tables: ``train`` and ``preference`` (impressions), ``validation`` and ``test`` (clean evaluation queries), the
tables of ``BuiltDataset`` under the Hugging Face split names (``valid`` becomes ``validation``), with the same
columns and rows in the same order; ``items`` is the item table with ``train_clicks`` (``item_popularity``)
added. Item ids (``history``, ``exposed``, ``relevant``, ``target``) are the dataset's dense item ids, not SIDs:
the export does not depend on a SID configuration. Every table carries the card text as its
``DatasetInfo.description`` and the source's citation and license.

Before anything is written the exported tables are hashed the way the build hashes its splits; an export whose
content differs from ``BuiltDataset.split_hash`` is an error, so an export is the split the results were
computed on. The directory is written under a temporary name and renamed when complete.

``datasets`` is an optional dependency (extra ``hf``), imported only here and by ``load_amazon23_hub``.
"""

from __future__ import annotations

import errno
import logging
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pyarrow as pa
import yaml

from benchmark.artifacts import atomic_dir, storage_error
from benchmark.config import to_dict
from benchmark.data.dataset import BuiltDataset, content_hash
from benchmark.errors import ArtifactMismatchError, BenchmarkError

log = logging.getLogger(__name__)

FORMATS = ("hf",)
# Export table name -> BuiltDataset attribute, in the order they are written and listed.
SPLITS = {"train": "train", "preference": "preference", "validation": "valid", "test": "test"}
ITEMS = "items"
POPULARITY_COLUMN = "train_clicks"
LIST_COLUMNS = frozenset({"history", "exposed", "clicks", "relevance", "relevant"})
COLUMN_DOC = {
    "impression_id": "impression id (train / preference: the same id is the same impression)",
    "query_id": "position of the row before the seeded shuffle",
    "user": "dense user id",
    "query": "query text (derived from the ordered item's category path or title terms; docs/DATA.md)",
    "history": "item ids ordered before, most recent last (at most `history_len`)",
    "exposed": "item ids shown by the ranker proxy; position = index + 1",
    "clicks": "simulated clicks aligned with `exposed` (1 = clicked)",
    "relevance": "graded truth aligned with `exposed`: 2 = the ordered item, 1 = relevant, 0 = not",
    "relevant": "clean ground truth: every relevant item id of the query",
    "target": "the ordered (held-out) item id",
    "query_seen": "1 when the query text occurs in `train` (protocol 2), else 0",
    "item_id": "dense item id 0..n-1 (row i is item i)",
    "source_id": "the source's item id (the ASIN for Amazon data)",
    "title": "item title",
    "category": "category path, levels joined with ' > ' ('' if none)",
    "brand": "brand ('' if none)",
    "text": "the text the SID encoder embeds",
    POPULARITY_COLUMN: "clicks on the item in `train` (orders a SID's items)",
}
_SPLIT_HASH = re.compile(r"split hash `([0-9a-f]+)`")


def require_datasets() -> ModuleType:
    """The ``datasets`` module, or an error saying how to install it (it is an optional dependency)."""
    try:
        import datasets
    except ImportError as exc:
        raise BenchmarkError("this needs the Hugging Face `datasets` library: pip install 'grbench[hf]' "
                             f"(or pip install datasets); import failed: {exc}") from exc
    return datasets


def check_target(out: Path | str, force: bool) -> Path:
    """Refuse an output directory that exists and is not empty, unless ``force``; even then only a previous
    export (a ``dataset_dict.json`` inside) is replaced, never an unrelated directory."""
    out = Path(out)
    what = f"the export to {out}"
    if out.exists() and not out.is_dir():
        raise storage_error(OSError(errno.ENOTDIR, f"{out} is a file, not a directory"), what)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise storage_error(OSError(errno.EEXIST, f"{out} exists and is not empty (pass --force to replace "
                                                      "a previous export)"), what)
        if not (out / "dataset_dict.json").is_file():
            raise storage_error(OSError(errno.EEXIST, f"{out} is not empty and holds no dataset_dict.json, so it "
                                                      "is not a previous export; --force replaces only those"),
                                what)
    return out


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """Typed Arrow table of a BuiltDataset frame: list<int64> item-id lists, string text, int64 ids."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if name in LIST_COLUMNS:
            kind = pa.list_(pa.int64())
            values = values.tolist()  # cells: lists (or arrays) of ints
        elif pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
            kind = pa.int64()
        elif pd.api.types.is_float_dtype(values.dtype):
            kind = pa.float64()
        else:
            kind = pa.string()
            values = values.tolist()
        columns[name] = pa.array(values, type=kind)
    return pa.table(columns)


def export_tables(dataset: BuiltDataset, progress: bool = False) -> dict[str, pa.Table]:
    """The exported tables (module docstring), checked against ``dataset.split_hash``."""
    from tqdm.auto import tqdm

    tables: dict[str, pa.Table] = {}
    names = [*SPLITS, ITEMS]
    for name in tqdm(names, desc=f"export {dataset.name}", unit="table", disable=not progress,
                     dynamic_ncols=True):
        if name == ITEMS:
            tables[name] = frame_to_table(dataset.items).append_column(
                POPULARITY_COLUMN, pa.array(dataset.item_popularity, type=pa.int64()))
        else:
            tables[name] = frame_to_table(getattr(dataset, SPLITS[name]))
    check_split_hash(dataset, tables)
    return tables


def check_split_hash(dataset: BuiltDataset, tables: dict[str, pa.Table]) -> None:
    """The exported tables hash to ``dataset.split_hash`` (as built: items without the added column, the
    preference split as its impression ids)."""
    hashed = {
        "items": tables[ITEMS].drop_columns([POPULARITY_COLUMN]),
        "train": tables["train"],
        "preference": tables["preference"].select(["impression_id"]),
        "valid": tables["validation"],
        "test": tables["test"],
    }
    got = content_hash(hashed)
    if got != dataset.split_hash:
        raise ArtifactMismatchError(f"the exported tables of {dataset.name} hash to {got[:16]}, not to the built "
                                    f"split hash {dataset.split_hash[:16]}: refusing to write an export that "
                                    "differs from the split results are computed on.")


def card_split_hash(card: str) -> str | None:
    """The (shortened) split hash a ``grbench data card`` names, or None."""
    found = _SPLIT_HASH.search(card)
    return found.group(1) if found else None


def readme(dataset: BuiltDataset, card: str, tables: dict[str, pa.Table], *, command: str, citation: str = "",
           license: str = "") -> str:
    """The dataset card written as DIR/README.md: front matter, how to load it, tables and columns, the grbench
    data card, source. A pure function of its arguments."""
    from benchmark import __version__

    protocol = int(getattr(dataset.config, "protocol", 1))
    lines = [
        "---",
        f"pretty_name: \"grbench {dataset.name} (protocol {protocol})\"",
        "tags:",
        "- recommendation",
        "- product-search",
        "- generative-retrieval",
        "- grbench",
        "---",
        "",
        f"# grbench export: {dataset.name}",
        "",
        f"Written by `{command}` (grbench {__version__}) from the built split `{dataset.key}`: split hash "
        f"`{dataset.split_hash}`, test hash `{dataset.test_hash}`. The exported tables hash to the same split "
        "hash: they are the rows that runs with these data settings train and evaluate on.",
        "",
        "```python",
        "from datasets import load_from_disk",
        "",
        "ds = load_from_disk(\"<this directory>\")",
        "ds[\"train\"][0], ds[\"test\"][0], ds[\"items\"][0]",
        "```",
        "",
        "## Tables",
        "",
        "| table | rows | what |",
        "|:---|---:|:---|",
        f"| train | {tables['train'].num_rows:,} | impressions: query, history, exposed items, simulated clicks |",
        f"| preference | {tables['preference'].num_rows:,} | rows of `train` with >= 1 click and >= 1 unclicked "
        "exposure, in the seeded order training reads them |",
        f"| validation | {tables['validation'].num_rows:,} | clean evaluation queries (`valid` in grbench) |",
        f"| test | {tables['test'].num_rows:,} | clean evaluation queries, seeded order (a reduced test set "
        "is the first N rows) |",
        f"| items | {tables[ITEMS].num_rows:,} | the catalog: row i is item i |",
        "",
        "Item ids are the dense ids of the `items` table, not semantic IDs.",
        "",
        "## Columns",
        "",
        "| column | type | meaning |",
        "|:---|:---|:---|",
    ]
    seen: set[str] = set()
    for table in tables.values():
        for field in table.schema:
            if field.name not in seen:
                seen.add(field.name)
                lines.append(f"| `{field.name}` | {_type_name(field.type)} | {COLUMN_DOC.get(field.name, '')} |")
    settings = to_dict(dataset.config)
    if not dataset.stats.get("synthetic", False):
        settings.pop("synthetic", None)  # the generator's settings cannot affect public data
    lines += ["", "Data settings (`DataConfig`):", "", "```yaml",
              yaml.safe_dump(settings, sort_keys=True, default_flow_style=None).rstrip(), "```", "", card.rstrip(), ""]
    if citation or license:
        lines += ["## Source", ""]
        if citation:
            lines.append(f"Cite: {citation}.")
        if license:
            lines.append(f"License: {license}.")
        lines.append("")
    return "\n".join(lines)


def export_hf(dataset: BuiltDataset, out: Path | str, card: str, *, force: bool = False, command: str = "",
              citation: str = "", license: str = "", progress: bool = True) -> Path:
    """Write ``dataset`` to ``out`` as a ``datasets.DatasetDict`` with ``card`` in its README.md (module
    docstring); returns ``out``. ``out`` must be absent or empty unless ``force`` (``check_target``)."""
    datasets = require_datasets()
    out = check_target(out, force)
    tables = export_tables(dataset, progress=progress)
    text = readme(dataset, card, tables, command=command or f"grbench data export {dataset.name} --format hf",
                  citation=citation, license=license)
    info = {"description": text, "citation": citation, "license": license, "dataset_name": dataset.name}
    splits = {name: datasets.Dataset(table, info=datasets.DatasetInfo(**info), split=datasets.NamedSplit(name))
              for name, table in tables.items()}
    # An empty table needs one (empty) shard to load back.
    shards = {name: 1 for name, table in tables.items() if table.num_rows == 0} or None
    with atomic_dir(out) as tmp:
        datasets.DatasetDict(splits).save_to_disk(str(tmp), num_shards=shards)
        (tmp / "README.md").write_text(text, encoding="utf-8")
    log.info("exported %s (%s) to %s", dataset.name, _sizes(tables), out)
    return out


def _type_name(kind: pa.DataType) -> str:
    if pa.types.is_list(kind):
        return f"list[{_type_name(kind.value_type)}]"
    return "string" if pa.types.is_string(kind) else str(kind)


def _sizes(tables: dict[str, Any]) -> str:
    return ", ".join(f"{name} {table.num_rows:,}" for name, table in tables.items())
