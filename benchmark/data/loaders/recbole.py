"""RecBole atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html).

Tab-separated, first row = ``field:type`` cells (types token, token_seq, float, float_seq). Fields relied on:

- ``<name>.inter``: ``user_id:token``, ``item_id:token``, optional ``timestamp:float`` (unix seconds).
- ``<name>.{train,valid,test}.inter`` (sequential benchmarks, e.g. UniSRec / LLMRank): ``user_id:token``,
  ``item_id_list:token_seq`` (history, oldest first), ``item_id:token`` (target).
- ``<name>.item``: ``item_id:token`` and any of ``title``, ``categories`` (token_seq or a string), ``brand``.
- ``<name>.text`` (UniSRec): ``item_id:token``, ``text:token_seq``; UniSRec writes the text as
  "title. category path. brand. " (see :func:`parse_unisrec_text`).
- ``<name>.item2index`` (UniSRec, optional): ASIN \\t index, no header; when present the .inter files hold
  indices and the item files ASINs, and items get the ASIN as source id in index order.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.data.canonical import (
    CATEGORY_SEPARATOR,
    CanonicalData,
    compose_text,
    dense_ids,
    make_interactions,
    make_items,
    validate,
)
from benchmark.data.loaders._io import float_column, int_column, int_list_column, iter_lines, read_table
from benchmark.errors import DataError

FIELD_TYPES = ("token", "token_seq", "float", "float_seq")


@dataclasses.dataclass(frozen=True)
class Sequences:
    """Rows of a sequential .inter file: user (source id), history (source item ids, oldest first), target."""

    users: list[str]
    histories: list[list[str]]
    targets: list[str]


def read_header(path: Path, what: str) -> dict[str, str]:
    """``field -> type`` from the first line of an atomic file."""
    for lineno, line in iter_lines(path, what):
        fields: dict[str, str] = {}
        for cell in line.split("\t"):
            name, sep, kind = cell.partition(":")
            if not sep or kind not in FIELD_TYPES or not name:
                raise DataError(
                    f"{path}: line {lineno}: header cell {cell!r} is not 'field:type' with type in "
                    f"{list(FIELD_TYPES)} (expected a RecBole atomic file header)."
                )
            fields[name] = kind
        return fields
    raise AssertionError("unreachable: iter_lines raises on an empty file")


def read_atomic(path: Path, what: str, required: dict[str, str]) -> pd.DataFrame:
    """An atomic file as a string table; ``required`` maps field -> type that must be declared so."""
    path = Path(path)
    fields = read_header(path, what)
    for name, kind in required.items():
        if name not in fields:
            raise DataError(
                f"{path}: missing column {name!r}; header declares {list(fields)} (expected the {what} with "
                f"fields {[f'{k}:{v}' for k, v in required.items()]})."
            )
        if fields[name] != kind:
            raise DataError(f"{path}: column {name!r} is declared {fields[name]!r}, expected {kind!r}.")
    frame = read_table(path, what, "\t", list(required), header=list(fields), skip_first_line=True)
    frame.attrs["types"] = fields
    return frame


def read_sequences(path: Path) -> Sequences:
    """A sequential ``.inter`` file (user_id, item_id_list, item_id)."""
    what = "RecBole sequential interactions (user_id:token, item_id_list:token_seq, item_id:token)"
    frame = read_atomic(path, what, {"user_id": "token", "item_id_list": "token_seq", "item_id": "token"})
    return Sequences(
        users=frame["user_id"].str.strip().tolist(),
        histories=[h.split() for h in frame["item_id_list"].tolist()],
        targets=frame["item_id"].str.strip().tolist(),
    )


def read_int_sequences(path: Path) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """A sequential ``.inter`` file whose ids are integers: (users, histories, targets)."""
    what = "RecBole sequential interactions (user_id:token, item_id_list:token_seq, item_id:token)"
    frame = read_atomic(path, what, {"user_id": "token", "item_id_list": "token_seq", "item_id": "token"})
    users = int_column(frame, "user_id", path, "an integer user id")
    targets = int_column(frame, "item_id", path, "an integer item id")
    histories = int_list_column(frame, "item_id_list", path, expected="space-separated integer item ids")
    return users, histories, targets


def parse_unisrec_text(text: str, category_root: str) -> tuple[str, str, str]:
    """Split UniSRec's "title. category path. brand. " into (title, category words, brand).

    The category path always starts with ``category_root`` (or is empty: "title. . brand. "); titles and
    brands may themselves contain ". ", so the category segment is located by its root, not by splitting.
    The category levels are joined by single spaces in this format, so the returned category is a word string
    (see :func:`benchmark.data.categories.segment_word_paths` for recovering the levels).
    """
    body = text.strip()
    if body.endswith("."):
        body = body[:-1]
    marker = f". {category_root}"
    at = body.rfind(marker)
    if at >= 0:
        title = body[:at].strip()
        rest = body[at + 2:]
        end = rest.find(". ")
        if end < 0:
            return title, rest.strip(), ""
        return title, rest[:end].strip(), rest[end + 2:].strip()
    at = body.find(". . ")
    if at >= 0:
        return body[:at].strip(), "", body[at + 4:].strip()
    title, _, brand = body.rpartition(". ")
    return (title.strip(), "", brand.strip()) if title else (body, "", "")


def load_recbole(directory: Path | str, name: str) -> CanonicalData:
    """Canonical tables from ``<directory>/<name>.inter`` (or the sequential ``.test.inter``) + item files.

    Without a plain ``.inter`` the full sequences are taken from ``<name>.test.inter`` (each row = a user's
    history + last item, the UniSRec / LLMRank layout); order is the sequence order, time is unknown (-1).
    """
    directory = Path(directory)
    plain, sequential = directory / f"{name}.inter", directory / f"{name}.test.inter"
    if plain.is_file():
        frame = read_atomic(plain, "RecBole interactions (user_id:token, item_id:token)",
                            {"user_id": "token", "item_id": "token"})
        user_src = frame["user_id"].str.strip().tolist()
        item_src = frame["item_id"].str.strip().tolist()
        times = None
        if frame.attrs["types"].get("timestamp") == "float":
            times = float_column(frame, "timestamp", plain, "a unix timestamp").astype(np.int64)
    elif sequential.is_file():
        seqs = read_sequences(sequential)
        user_src, item_src = [], []
        for user, history, target in zip(seqs.users, seqs.histories, seqs.targets):
            user_src.extend([user] * (len(history) + 1))
            item_src.extend(history + [target])
        times = None
    else:
        raise DataError(f"{directory}: neither {plain.name} nor {sequential.name} exists (expected RecBole files).")

    titles: dict[str, str] = {}
    categories: dict[str, str] = {}
    brands: dict[str, str] = {}
    texts: dict[str, str] = {}
    item_file, text_file = directory / f"{name}.item", directory / f"{name}.text"
    if item_file.is_file():
        frame = read_atomic(item_file, "RecBole item features (item_id:token, ...)", {"item_id": "token"})
        ids = frame["item_id"].str.strip().tolist()
        for column, target in (("title", titles), ("brand", brands)):
            if column in frame.columns:
                target.update(zip(ids, frame[column].tolist()))
        for column in ("categories", "category"):
            if column in frame.columns:
                categories.update(zip(ids, [_category_path(v) for v in frame[column].tolist()]))
                break
    if text_file.is_file():
        frame = read_atomic(text_file, "UniSRec item text (item_id:token, text:token_seq)",
                            {"item_id": "token", "text": "token_seq"})
        texts.update(zip(frame["item_id"].str.strip().tolist(), frame["text"].tolist()))

    index_file = directory / f"{name}.item2index"
    if index_file.is_file():
        # UniSRec layout: .inter files use 0-based indices, .text/.item use ASINs; item2index maps them.
        frame = read_table(index_file, "UniSRec item index (ASIN \\t index, no header)", "\t", ["asin", "index"],
                           header=["asin", "index"])
        by_index = dict(zip(frame["index"].str.strip().tolist(), frame["asin"].str.strip().tolist()))
        unknown = [t for t in item_src if t not in by_index]
        if unknown:
            raise DataError(f"{index_file}: item index {unknown[0]!r} of the interactions has no ASIN "
                            f"(expected every item id of the .inter files in {index_file.name}).")
        item_src = [by_index[t] for t in item_src]
        ordered = sorted(by_index, key=_natural_key)
        item_ids = [by_index[t] for t in ordered]
    else:
        item_ids = sorted(set(item_src) | set(titles) | set(texts), key=_natural_key)
    index = {source: i for i, source in enumerate(item_ids)}
    users, user_ids = dense_ids(user_src)
    items = make_items(
        item_ids,
        titles=[titles.get(i, "") for i in item_ids],
        categories=[categories.get(i, "") for i in item_ids],
        brands=[brands.get(i, "") for i in item_ids],
        texts=[texts.get(i) or compose_text(titles.get(i, ""), categories.get(i, ""), brands.get(i, ""))
               for i in item_ids],
    )
    interactions = make_interactions(users, np.array([index[i] for i in item_src]), times)
    return validate(CanonicalData(items, interactions, tuple(user_ids), f"RecBole files {directory}/{name}.*"))


def _category_path(value: str) -> str:
    value = value.strip()
    if CATEGORY_SEPARATOR in value:
        return value
    # RecBole token_seq categories are space-separated single tokens; keep them as levels.
    return CATEGORY_SEPARATOR.join(value.split()) if value else ""


def _natural_key(value: str) -> tuple[int, int | str]:
    """Integer ids sort numerically, others lexically (keeps RecBole's 0..n-1 ids in order)."""
    return (0, int(value)) if value.isdigit() else (1, value)
