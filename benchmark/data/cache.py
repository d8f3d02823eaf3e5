"""The built-dataset cache: ``cache_root()/datasets/<name>/<key>/`` holding one parquet file per table plus
``manifest.json``, written as one directory with ``benchmark.artifacts.atomic_dir`` (readers see a complete
build or none).

The key hashes the input files' sha256, the resolved DataConfig (without the synthetic section for public
data, which it cannot affect) and FORMAT_VERSION, so any change rebuilds and nothing else does.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmark.artifacts import atomic_dir, atomic_write_json, cache_root, hash_json
from benchmark.config import from_dict, to_dict
from benchmark.data.config import DataConfig
from benchmark.data.dataset import BuiltDataset, table_to_frame
from benchmark.errors import ConfigError

log = logging.getLogger(__name__)
FORMAT_VERSION = 1  # bump when the content or layout of a built dataset changes
TABLES = ("items", "train", "preference", "valid", "test", "item_popularity")


def cache_key(name: str, file_hashes: dict[str, str], config: DataConfig, synthetic: bool) -> str:
    resolved = to_dict(config)
    if not synthetic:
        resolved.pop("synthetic")
    return hash_json({"format": FORMAT_VERSION, "dataset": name, "files": file_hashes, "config": resolved})


def dataset_dir(name: str, key: str) -> Path:
    return cache_root() / "datasets" / name / key


def save(directory: Path, tables: dict[str, pa.Table], manifest: dict[str, Any]) -> Path:
    """Write every table and the manifest into ``directory`` atomically."""
    with atomic_dir(directory) as tmp:
        for name, table in tables.items():
            pq.write_table(table, tmp / f"{name}.parquet")
        atomic_write_json(tmp / "manifest.json", manifest)
    return directory


def load(directory: Path, key: str) -> BuiltDataset | None:
    """The dataset cached in ``directory``, or None when absent, of another format or unreadable."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION or manifest.get("key") != key:
            return None
        tables = {name: pq.read_table(directory / f"{name}.parquet") for name in TABLES}
        config = from_dict(DataConfig, manifest["config"])
    except (OSError, ValueError, KeyError, pa.ArrowException, ConfigError) as exc:
        log.warning("ignoring unreadable cached dataset %s (%s); rebuilding", directory, exc)
        return None
    train = table_to_frame(tables["train"])
    order = tables["preference"].column("impression_id").to_numpy()
    return BuiltDataset(
        name=manifest["dataset"],
        config=config,
        key=key,
        split_hash=manifest["split_hash"],
        test_hash=manifest["test_hash"],
        items=table_to_frame(tables["items"]),
        train=train,
        preference=train.iloc[order].reset_index(drop=True),
        valid=table_to_frame(tables["valid"]),
        test=table_to_frame(tables["test"]),
        item_popularity=np.asarray(tables["item_popularity"].column("clicks").to_numpy(), dtype=np.int64),
        stats=manifest["stats"],
        path=directory,
    )
