"""Strict readers shared by the loaders: every problem becomes a DataError naming the file, the line, the
field, the value found and what was expected.

Files may be gzipped (detected by magic bytes, not by name). Tables are read with pandas as strings and then
type-checked column by column, so errors point at the first offending line.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def require_file(path: Path, what: str) -> Path:
    """The file must exist and hold at least one byte."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected the {what}).")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty (expected the {what}).")
    return path


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # type: ignore[return-value]


def iter_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, decoded line without newline) for every non-empty line of a text file."""
    require_file(path, what)
    count = 0
    try:
        with _open_binary(path) as handle:
            for lineno, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataError(
                        f"{path}: line {lineno}: undecodable bytes {raw[exc.start:exc.end]!r} at column "
                        f"{exc.start + 1} (expected UTF-8 text)."
                    ) from exc
                line = line.rstrip("\r\n")
                if line.strip():
                    count += 1
                    yield lineno, line
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: the gzip stream is truncated or corrupt ({exc}); re-download the file.") from exc
    if count == 0:
        raise DataError(f"{path}: file holds no data lines (expected the {what}).")


def iter_json_lines(path: Path, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each JSON-lines record; a line that is not a JSON object is an error."""
    for lineno, line in iter_lines(path, what):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            snippet = line if len(line) <= 80 else line[:77] + "..."
            raise DataError(
                f"{path}: line {lineno}: not valid JSON ({exc.msg} at column {exc.colno}): {snippet!r} "
                f"(expected one JSON object per line; a cut-off last line means the file is truncated)."
            ) from exc
        if not isinstance(obj, dict):
            raise DataError(f"{path}: line {lineno}: expected a JSON object, got {type(obj).__name__}.")
        yield lineno, obj


def json_field(obj: dict[str, Any], name: str, kinds: tuple[type, ...], path: Path, lineno: int,
               expected: str, required: bool = True, default: Any = None) -> Any:
    """Field ``name`` of a JSON record, type-checked (bool is never accepted as a number)."""
    if name not in obj or obj[name] is None:
        if required:
            raise DataError(f"{path}: line {lineno}: missing field {name!r} (expected {expected}).")
        return default
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise DataError(
            f"{path}: line {lineno}: field {name!r} has value {value!r} of type {type(value).__name__} "
            f"(expected {expected})."
        )
    return value


def json_int(obj: dict[str, Any], name: str, path: Path, lineno: int, expected: str) -> int:
    """An integer field; integral floats and digit strings are accepted (real dumps mix them)."""
    value = json_field(obj, name, (int, float, str), path, lineno, expected)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise DataError(f"{path}: line {lineno}: field {name!r} has value {value!r} (expected {expected}).")


def _locate_decode_error(path: Path) -> DataError:
    for _lineno, _line in iter_lines(path, "text"):
        pass
    return DataError(f"{path}: undecodable bytes (expected UTF-8 text).")


def read_table(
    path: Path,
    what: str,
    sep: str,
    required: Sequence[str],
    header: Sequence[str] | None = None,
    quoting: int = csv.QUOTE_NONE,
    skip_first_line: bool = False,
) -> pd.DataFrame:
    """A delimited table read as strings; ``required`` columns must be present and non-empty on every row.

    ``header``: column names to use instead of the file's header row (``skip_first_line`` drops a header row
    that is parsed elsewhere, e.g. RecBole's ``field:type`` cells). Line numbers in errors are 1-based file lines.
    """
    require_file(path, what)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=True,
            na_values=[],
            header=None if header is not None else "infer",
            names=list(header) if header is not None else None,
            skiprows=1 if skip_first_line else None,
            quoting=quoting,
            skip_blank_lines=False,
            compression="gzip" if is_gzip(path) else None,
            encoding="utf-8",
            engine="c",
        )
    except UnicodeDecodeError:
        raise _locate_decode_error(path) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: the gzip stream is truncated or corrupt ({exc}); re-download the file.") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: file holds no header row (expected the {what}).") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed row ({exc}); expected {sep!r}-separated {what}.") from exc
    offset = 1 if header is not None and not skip_first_line else 2  # file line of frame row 0
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing}; found {list(frame.columns)} (expected the {what} with "
            f"columns {list(required)})."
        )
    if len(frame) == 0:
        raise DataError(f"{path}: no data rows after the header (expected the {what}).")
    for column in required:
        values = frame[column]
        empty = values.isna().to_numpy() | (values.fillna("").str.strip() == "").to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0])
            raise DataError(
                f"{path}: line {row + offset}: empty value for field {column!r} (expected a value on every row; "
                f"a short last line means the file is truncated)."
            )
    frame.attrs["line_offset"] = offset
    return frame


def int_column(frame: pd.DataFrame, column: str, path: Path, expected: str = "an integer") -> np.ndarray:
    """Column parsed as int64; the first non-integer value is reported with its line."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(numbers) | (numbers != np.floor(numbers))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}: line {row + frame.attrs.get('line_offset', 2)}: field {column!r} has value "
            f"{raw.iloc[row]!r} (expected {expected})."
        )
    # Large ids (KuaiSAR item ids ~1e11) exceed float precision only above 2^53; parse exactly from text.
    if np.abs(numbers).max(initial=0) >= 2**53:
        return np.array([int(float(v)) if "." in v or "e" in v.lower() else int(v) for v in raw], dtype=np.int64)
    return numbers.astype(np.int64)


def float_column(frame: pd.DataFrame, column: str, path: Path, expected: str = "a number") -> np.ndarray:
    raw = frame[column]
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(numbers)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}: line {row + frame.attrs.get('line_offset', 2)}: field {column!r} has value "
            f"{raw.iloc[row]!r} (expected {expected})."
        )
    return numbers


def int_list_column(frame: pd.DataFrame, column: str, path: Path, sep: str = " ",
                    expected: str = "space-separated integers") -> list[list[int]]:
    """A column holding lists of ints: "1 2 3" (RecBole token_seq) or "[1, 2, 3]" (JSON-like)."""
    out: list[list[int]] = []
    offset = frame.attrs.get("line_offset", 2)
    for row, text in enumerate(frame[column].tolist()):
        body = text.strip()
        if body.startswith("[") and body.endswith("]"):
            body = body[1:-1].replace(",", " ")
            parts = body.split()
        else:
            parts = body.split(sep) if sep != " " else body.split()
        try:
            out.append([int(p) for p in parts])
        except ValueError:
            raise DataError(
                f"{path}: line {row + offset}: field {column!r} has value {text!r} (expected {expected})."
            ) from None
    return out
