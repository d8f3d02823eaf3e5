"""BuiltDataset: the output of the data harness (docs/ARCHITECTURE.md "Data: benchmark.data"), its Arrow
form and its content hashes.

``split_hash`` / ``test_hash`` are sha256 digests over the canonical content of the splits (column names, then
each column's values: integers as little-endian int64, strings as UTF-8 with lengths, lists as lengths +
values), not over file bytes, so they do not depend on the parquet writer or library versions.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from benchmark.data.config import DataConfig

TRAIN_COLUMNS = ("impression_id", "user", "query", "history", "exposed", "clicks", "relevance", "target")
EVAL_COLUMNS = ("query_id", "user", "query", "history", "relevant", "target")  # protocol 1
SEEN_COLUMN = "query_seen"  # protocol 2 valid/test: 1 when the row's query text occurs in ``train``, else 0
SPLITS = ("train", "preference", "valid", "test")


def eval_columns(protocol: int) -> tuple[str, ...]:
    """The columns of the valid/test tables under data protocol ``protocol`` (DataConfig.protocol)."""
    return EVAL_COLUMNS + (SEEN_COLUMN,) if protocol == 2 else EVAL_COLUMNS


@dataclasses.dataclass
class BuiltDataset:
    """A built dataset. DataFrame columns are documented in docs/ARCHITECTURE.md; list cells are list[int].

    ``preference`` holds rows of ``train`` (same ``impression_id``) with >= 1 click and >= 1 unclicked
    exposure, in a seeded shuffled order; ``valid``/``test`` rows are in a seeded shuffled order too (a reduced
    test set is the first N rows). ``path`` is the cache directory the dataset was loaded from / saved to.
    Under protocol 2 ``valid``/``test`` carry ``query_seen`` (see ``eval_columns``).
    """

    name: str
    config: DataConfig
    key: str
    split_hash: str
    test_hash: str
    items: pd.DataFrame
    train: pd.DataFrame
    preference: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame
    item_popularity: np.ndarray
    stats: dict[str, Any]
    path: Path | None = None

    @property
    def n_items(self) -> int:
        return len(self.items)

    def vocabulary_queries(self) -> list[str]:
        """The query texts a tokenizer vocabulary may learn from. Protocol 2: training queries only, so words
        that occur only in valid/test queries stay unknown (DESIGN.md 3). Protocol 1: train + valid + test
        queries, as protocol-1 tokenizers were built, so protocol-1 results stay reproducible."""
        frames = (self.train,) if self.config.protocol == 2 else (self.train, self.valid, self.test)
        return [q for frame in frames for q in frame["query"]]

    def __repr__(self) -> str:
        return (f"BuiltDataset(name={self.name!r}, key={self.key!r}, items={len(self.items)}, "
                f"train={len(self.train)}, preference={len(self.preference)}, valid={len(self.valid)}, "
                f"test={len(self.test)}, split_hash={self.split_hash[:12]}...)")


# ------------------------------------------------------------------------------------------------ arrow helpers
def list_array(offsets: np.ndarray, values: np.ndarray) -> pa.Array:
    """A list<int64> Arrow array from CSR offsets/values."""
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values.astype(np.int64)))


def padded_list_array(matrix: np.ndarray, keep: np.ndarray | None = None) -> pa.Array:
    """list<int64> from a padded (N, W) matrix; ``keep`` (default: entries >= 0) selects the cells, in order."""
    keep = matrix >= 0 if keep is None else keep
    offsets = np.zeros(len(matrix) + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    return list_array(offsets, matrix[keep])


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """pandas with list columns as Python lists of ints (pyarrow would give numpy arrays)."""
    data: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_list(column.type):
            data[name] = column.to_pylist()
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            data[name] = pd.Series(column.to_pylist(), dtype=object)
        else:
            data[name] = column.to_numpy()
    return pd.DataFrame(data, columns=table.column_names)


def _update_column(digest: Any, name: str, column: pa.ChunkedArray | pa.Array) -> None:
    """Feed one column in a library-independent form: a kind tag, then lengths / values as little-endian."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        digest.update(f"\x00{name}:list<int>\x00".encode())
        digest.update(pc.list_value_length(array).to_numpy(zero_copy_only=False).astype("<i8").tobytes())
        digest.update(pc.list_flatten(array).to_numpy(zero_copy_only=False).astype("<i8").tobytes())
    elif pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        digest.update(f"\x00{name}:str\x00".encode())
        values = [v.encode() for v in array.to_pylist()]
        digest.update(np.array([len(v) for v in values], dtype="<i8").tobytes())
        digest.update(b"".join(values))
    else:
        digest.update(f"\x00{name}:int\x00".encode())
        digest.update(array.to_numpy(zero_copy_only=False).astype("<i8").tobytes())


def content_hash(tables: dict[str, pa.Table]) -> str:
    """sha256 over the canonical content of the named tables (order of names fixed by sorting)."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        digest.update(f"\x01{name}:{table.num_rows}\x01".encode())
        for column in table.column_names:
            _update_column(digest, column, table.column(column))
    return digest.hexdigest()
