"""ReChorus CSV (THUwangcy/ReChorus): tab-separated ``train.csv``, ``dev.csv``, ``test.csv``.

Fields relied on: ``user_id`` (int), ``item_id`` (int), ``time`` (int, unix seconds). ``dev``/``test`` rows
also carry ``neg_items`` (sampled negatives for ReChorus' own evaluation; ignored here: this benchmark builds
its own splits). Optional ``item_meta.csv``: ``item_id`` plus ``i_*`` feature columns (ids only, no names).

Item text is not part of the ReChorus format. Repositories that extend it (LRD) ship ``<Name>.text``
(``id``/ASIN \\t text) and ``<Name>.item2index`` (ASIN \\t item_id, no header); pass them to attach text and
ASINs as source ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.data.canonical import CanonicalData, dense_ids, make_interactions, make_items, validate
from benchmark.data.loaders._io import int_column, read_table
from benchmark.errors import DataError

SPLIT_FILES = ("train.csv", "dev.csv", "test.csv")
INTERACTIONS = "ReChorus interactions (tab-separated user_id, item_id, time)"


def read_interactions(path: Path) -> pd.DataFrame:
    """One ReChorus split file as integer columns user_id, item_id, time."""
    frame = read_table(path, INTERACTIONS, "\t", ["user_id", "item_id", "time"])
    return pd.DataFrame(
        {
            "user_id": int_column(frame, "user_id", path, "an integer user id"),
            "item_id": int_column(frame, "item_id", path, "an integer item id"),
            "time": int_column(frame, "time", path, "an integer unix time in seconds"),
        }
    )


def read_item_index(path: Path) -> dict[int, str]:
    """``<Name>.item2index``: ASIN \\t item_id, no header -> {item_id: ASIN}."""
    frame = read_table(path, "item index (ASIN \\t item_id, no header)", "\t", ["asin", "item_id"],
                       header=["asin", "item_id"])
    ids = int_column(frame, "item_id", path, "an integer item id")
    return dict(zip(ids.tolist(), frame["asin"].str.strip().tolist()))


def read_item_text(path: Path) -> dict[str, str]:
    """``<Name>.text``: header ``id \\t text``, one row per ASIN."""
    frame = read_table(path, "item text (id \\t text)", "\t", ["id", "text"])
    return dict(zip(frame["id"].str.strip().tolist(), frame["text"].str.strip().tolist()))


def load_rechorus(directory: Path | str, text_file: Path | str | None = None,
                  item_index_file: Path | str | None = None) -> CanonicalData:
    """Canonical tables from a ReChorus dataset directory (train.csv required; dev/test/item_meta optional)."""
    directory = Path(directory)
    paths = [directory / name for name in SPLIT_FILES]
    if not paths[0].is_file():
        raise DataError(f"{paths[0]}: file not found (expected the {INTERACTIONS}).")
    meta = directory / "item_meta.csv"
    return load_rechorus_files([p for p in paths if p.is_file()], meta if meta.is_file() else None,
                               text_file=text_file, item_index_file=item_index_file)


def load_rechorus_files(split_files: list[Path], item_meta_file: Path | None = None,
                        text_file: Path | str | None = None,
                        item_index_file: Path | str | None = None) -> CanonicalData:
    """Canonical tables from explicit ReChorus files; ``split_files`` in chronological file order
    (train, dev, test): equal timestamps keep that order."""
    frames = []
    for rank, path in enumerate(split_files):
        frame = read_interactions(Path(path))
        frame["file_rank"] = rank
        frames.append(frame)
    log = pd.concat(frames, ignore_index=True)
    # Equal timestamps (day granularity) keep file order: train before dev before test, then row order.
    tiebreak = log["file_rank"].to_numpy() * len(log) + np.arange(len(log))

    item_numbers = set(log["item_id"].tolist())
    if item_meta_file is not None:
        meta = read_table(Path(item_meta_file), "ReChorus item features (item_id, i_* columns)", "\t", ["item_id"])
        item_numbers |= set(int_column(meta, "item_id", Path(item_meta_file), "an integer item id").tolist())
    numbers = sorted(item_numbers)
    asins = read_item_index(Path(item_index_file)) if item_index_file else {}
    texts = read_item_text(Path(text_file)) if text_file else {}
    source_ids = [asins.get(n, str(n)) for n in numbers]
    index = {n: i for i, n in enumerate(numbers)}
    items = make_items(source_ids, titles=[texts.get(s, "") for s in source_ids],
                       texts=[texts.get(s, "") for s in source_ids])
    users, user_ids = dense_ids([str(u) for u in log["user_id"].tolist()])
    item_codes = np.array([index[n] for n in log["item_id"].tolist()], dtype=np.int64)
    interactions = make_interactions(users, item_codes, log["time"].to_numpy(), tiebreak=tiebreak)
    source = f"ReChorus files {Path(split_files[0]).parent}"
    return validate(CanonicalData(items, interactions, tuple(user_ids), source))
