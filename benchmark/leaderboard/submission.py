"""The submission directory: its layout, the only file names it may hold, and safe, bounded readers.

A submission is a flat directory::

    card.yaml                    the run card (benchmark.leaderboard.card)
    rankings-seed<N>.parquet     per seed N of the card (or rankings-seed<N>.csv): columns
                                 query_id (int), rank (int, 1..n), sid (str "a-b-c", "" = ill-formed beam),
                                 score (float, optional), item (int, optional)
    validated.json               written by ``grbench validate`` on acceptance (never read as input)
    README.md                    optional, for humans: explicitly ignored (never opened)

Anything else (another file, a subdirectory, a symlink, a hidden file) rejects the submission: the validator
reads only what it expects, from inside the directory, and never follows a link out of it. Only YAML (safe),
CSV and parquet are parsed, by pyarrow with a declared schema; no pickle, no pandas metadata, nothing
executed. Every file is size-bounded before it is opened and every table row-bounded before it is decoded
(parquet: from the footer).
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from benchmark.artifacts import atomic_path
from benchmark.leaderboard.card import MAX_CARD_BYTES, RunCard, parse_card
from benchmark.leaderboard.errors import SubmissionError

CARD_FILE = "card.yaml"
RECORD_FILE = "validated.json"
IGNORED_FILES = ("README.md",)
RANKINGS_FILE = re.compile(r"^rankings-seed(0|[1-9][0-9]{0,8})\.(parquet|csv)$")
REQUIRED_COLUMNS = ("query_id", "rank", "sid")
OPTIONAL_COLUMNS = ("score", "item")
MAX_FILE_BYTES = 50 * (1 << 20)
# 128 beams x ~60k test queries: above the largest test split of the registered datasets.
MAX_ROWS = 8_000_000
# Decoded size bound for parquet (from the footer), so a small, highly compressed file cannot explode.
MAX_DECODED_BYTES = 2 * (1 << 30)

# pyarrow < 14.0.1 could unpickle Python extension types found in a parquet/IPC schema (CVE-2023-47248).
_MIN_PYARROW = (14, 0, 1)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Size bounds applied before any file is parsed (tests shrink them to exercise the checks)."""

    max_file_bytes: int = MAX_FILE_BYTES
    max_rows: int = MAX_ROWS
    max_decoded_bytes: int = MAX_DECODED_BYTES


@dataclasses.dataclass(frozen=True)
class SubmissionFiles:
    """What a submission directory holds, after the layout checks."""

    root: Path
    card: Path
    rankings: dict[int, Path]         # seed -> rankings file
    ignored: tuple[str, ...]          # present but never opened (README.md)
    has_record: bool                  # a validated.json exists (replaced on a new acceptance)

    def inputs(self) -> list[Path]:
        """The files whose content the acceptance record fingerprints."""
        return [self.card, *(self.rankings[s] for s in sorted(self.rankings))]


@dataclasses.dataclass(frozen=True)
class RankingTable:
    """One seed's rankings in long format; every array has shape (N,) for N rows, file order."""

    source: str
    query_id: np.ndarray              # int64
    rank: np.ndarray                  # int64
    sid: pa.Array                     # utf8
    score: np.ndarray | None          # float64
    item: np.ndarray | None           # int64, -1 where null

    @property
    def n_rows(self) -> int:
        return int(self.query_id.shape[0])


# ------------------------------------------------------------------------------------------------ layout
def check_pyarrow() -> None:
    version = tuple(int(p) for p in re.findall(r"\d+", pa.__version__)[:3])
    if version < _MIN_PYARROW:
        raise SubmissionError(
            f"pyarrow {pa.__version__} may unpickle data found in parquet schemas (CVE-2023-47248); "
            f"the validator needs pyarrow >= {'.'.join(map(str, _MIN_PYARROW))}."
        )


def check_member_name(name: str) -> None:
    """Refuse a file name that is absolute, has a separator, or contains '..'."""
    if (
        not name
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or ".." in name
        or os.path.isabs(name)
    ):
        raise SubmissionError(
            f"File name {name!r} is not allowed in a submission: names must be plain file names inside the "
            f"submission directory (no '/', '\\\\', '..' or absolute paths)."
        )


def safe_member(root: Path, name: str, limits: Limits = Limits()) -> Path:
    """``root / name`` after checking it is a plain, regular, size-bounded file (no symlink) inside ``root``."""
    check_member_name(name)
    path = Path(root) / name
    try:
        info = os.lstat(path)
    except FileNotFoundError as exc:
        raise SubmissionError(f"{name} is missing from the submission directory {root}.") from exc
    _check_entry(name, info, limits)
    return path


def read_member_bytes(root: Path, name: str, max_bytes: int) -> bytes:
    """The content of ``root / name``, opened without following a symlink (O_NOFOLLOW) and checked on the
    open descriptor, so the file read is the file checked; at most ``max_bytes``."""
    check_member_name(name)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(Path(root) / name, flags)
    except FileNotFoundError as exc:
        raise SubmissionError(f"{name} is missing from the submission directory {root}.") from exc
    except OSError as exc:        # ELOOP: the name is a symlink
        raise SubmissionError(f"{name} cannot be opened as a regular file inside the submission ({exc.strerror}); "
                              f"symbolic links are not allowed.") from exc
    with os.fdopen(fd, "rb") as handle:
        _check_entry(name, os.fstat(handle.fileno()), Limits(max_file_bytes=max_bytes))
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SubmissionError(f"{name} grew beyond {max_bytes} bytes while being read.")
    return data


def _check_entry(name: str, info: os.stat_result, limits: Limits) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise SubmissionError(
            f"{name} is a symbolic link; submissions must hold regular files only (links could point outside "
            f"the submission directory)."
        )
    if stat.S_ISDIR(info.st_mode):
        raise SubmissionError(f"{name} is a directory; a submission is a flat directory of files.")
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionError(f"{name} is not a regular file.")
    if info.st_size > limits.max_file_bytes:
        raise SubmissionError(
            f"{name} is {info.st_size} bytes, over the per-file limit of {limits.max_file_bytes} bytes."
        )


def scan_submission(root: Path | str, limits: Limits = Limits()) -> SubmissionFiles:
    """List and check a submission directory without opening any file.

    Rejects: a root that is a symlink or not a directory; entries that are symlinks, directories, special
    files, over the size limit, or not in the allowed set (card.yaml, rankings-seed<N>.parquet|csv,
    validated.json, README.md); a seed given both as parquet and CSV; a missing card.
    """
    root = Path(root)
    if root.is_symlink():
        raise SubmissionError(f"Submission directory {root} is a symbolic link; give the real directory.")
    if not root.is_dir():
        raise SubmissionError(f"Submission directory {root} does not exist or is not a directory.")
    rankings: dict[int, Path] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    has_card = has_record = False
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        check_member_name(entry.name)
        _check_entry(entry.name, entry.stat(follow_symlinks=False), limits)
        match = RANKINGS_FILE.match(entry.name)
        if entry.name == CARD_FILE:
            has_card = True
        elif entry.name == RECORD_FILE:
            has_record = True
        elif entry.name in IGNORED_FILES:
            ignored.append(entry.name)
        elif match:
            seed = int(match.group(1))
            if seed in rankings:
                raise SubmissionError(
                    f"Seed {seed} has two rankings files ({rankings[seed].name} and {entry.name}); keep one."
                )
            rankings[seed] = root / entry.name
        else:
            unknown.append(entry.name)
    if unknown:
        raise SubmissionError(
            f"Unexpected file(s) in the submission: {', '.join(unknown)}. A submission holds only card.yaml, "
            f"rankings-seed<N>.parquet or rankings-seed<N>.csv (one per seed), optionally README.md (ignored) "
            f"and the validator's validated.json."
        )
    if not has_card:
        raise SubmissionError(f"{root} has no {CARD_FILE}: every submission needs a run card.")
    return SubmissionFiles(root, root / CARD_FILE, dict(sorted(rankings.items())), tuple(ignored), has_record)


def read_submission(root: Path | str, limits: Limits = Limits()) -> tuple[SubmissionFiles, RunCard]:
    """Scan the directory, read the card, and check there is exactly one rankings file per card seed."""
    files = scan_submission(root, limits)
    card = parse_card(_decode(CARD_FILE, read_member_bytes(files.root, CARD_FILE, min(limits.max_file_bytes,
                                                                                      MAX_CARD_BYTES))), CARD_FILE)
    missing = [s for s in card.seeds if s not in files.rankings]
    extra = [files.rankings[s].name for s in files.rankings if s not in card.seeds]
    if missing:
        raise SubmissionError(
            f"The card lists seed(s) {missing} but the submission has no rankings-seed<N>.parquet/.csv for "
            f"them."
        )
    if extra:
        raise SubmissionError(f"Rankings file(s) {', '.join(extra)} belong to no seed listed in the card.")
    return files, card


# ------------------------------------------------------------------------------------------------ tables
def read_rankings(path: Path, limits: Limits = Limits()) -> RankingTable:
    """Read one rankings file (parquet or CSV) into typed arrays; structural problems are SubmissionErrors."""
    check_pyarrow()
    data = read_member_bytes(path.parent, path.name, limits.max_file_bytes)
    reader = _read_parquet if path.suffix == ".parquet" else _read_csv
    return _to_ranking_table(path.name, reader(path.name, pa.BufferReader(data), limits))


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} is not UTF-8 text: {exc}") from exc


def _check_columns(name: str, columns: list[str]) -> None:
    allowed = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    unknown = [c for c in columns if c not in allowed]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if unknown or missing or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if unknown:
            parts.append(f"unknown column(s) {unknown}")
        if duplicated:
            parts.append(f"duplicated column(s) {duplicated}")
        raise SubmissionError(
            f"{name}: {'; '.join(parts)}. Columns must be query_id, rank, sid and optionally score, item."
        )


def _read_parquet(name: str, source: pa.BufferReader, limits: Limits) -> pa.Table:
    try:
        handle = pq.ParquetFile(source)   # parses the footer only
        meta = handle.metadata
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SubmissionError(
            f"{name} is not a readable parquet file (truncated or corrupt?): {exc}"
        ) from exc
    if meta.num_rows > limits.max_rows:
        raise SubmissionError(f"{name} has {meta.num_rows} rows, over the limit of {limits.max_rows}.")
    decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if decoded > limits.max_decoded_bytes:
        raise SubmissionError(
            f"{name} decodes to {decoded} bytes, over the limit of {limits.max_decoded_bytes} bytes."
        )
    schema = handle.schema_arrow
    _check_columns(name, list(schema.names))
    for field in schema:
        _check_type(name, field.name, field.type)
    try:
        return handle.read(columns=list(schema.names), use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SubmissionError(
            f"{name} is not a readable parquet file (truncated or corrupt?): {exc}"
        ) from exc


def _check_type(name: str, column: str, dtype: pa.DataType) -> None:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    ok = {
        "query_id": pa.types.is_integer,
        "rank": pa.types.is_integer,
        "item": pa.types.is_integer,
        "sid": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
        "score": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
    }[column](dtype)
    if not ok:
        want = {"sid": "string", "score": "float"}.get(column, "integer")
        raise SubmissionError(f"{name}: column {column!r} must be of {want} type, found {dtype}.")


def _read_csv(name: str, source: pa.BufferReader, limits: Limits) -> pa.Table:
    first_line = source.read(65536).split(b"\n", 1)[0]
    source.seek(0)
    columns = [c.strip() for c in _decode(name, first_line).rstrip("\r").split(",")]
    _check_columns(name, columns)
    types = {"query_id": pa.int64(), "rank": pa.int64(), "sid": pa.string(), "score": pa.float64(),
             "item": pa.int64()}
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(use_threads=False, column_names=columns, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: types[c] for c in columns},
                strings_can_be_null=False,           # "" in the sid column is an ill-formed beam, not null
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SubmissionError(f"{name} is not a valid rankings CSV: {exc}") from exc
    if table.num_rows > limits.max_rows:
        raise SubmissionError(f"{name} has {table.num_rows} rows, over the limit of {limits.max_rows}.")
    return table


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name).combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column


def _int_column(source: str, table: pa.Table, name: str, *, nullable: bool = False) -> np.ndarray:
    column = _column(table, name)
    if column.null_count and not nullable:
        raise SubmissionError(f"{source}: column {name!r} has {column.null_count} empty/null value(s).")
    try:
        column = column.cast(pa.int64())
    except pa.ArrowInvalid as exc:
        raise SubmissionError(f"{source}: column {name!r} has values outside the int64 range: {exc}") from exc
    return column.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _to_ranking_table(source: str, table: pa.Table) -> RankingTable:
    sid = _column(table, "sid")
    if sid.null_count:
        raise SubmissionError(f"{source}: column 'sid' has {sid.null_count} null value(s); use \"\" for an "
                              f"ill-formed beam.")
    score = None
    if "score" in table.column_names:
        column = _column(table, "score")
        if column.null_count:
            raise SubmissionError(f"{source}: column 'score' has {column.null_count} empty/null value(s).")
        score = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if not np.all(np.isfinite(score)):
            raise SubmissionError(f"{source}: column 'score' has non-finite values (nan or inf).")
    item = None
    if "item" in table.column_names:
        raw = _column(table, "item")
        if raw.null_count < len(raw) and pc.min(raw).as_py() < 0:
            raise SubmissionError(f"{source}: column 'item' holds negative ids; leave it empty where unknown.")
        item = _int_column(source, table, "item", nullable=True)
    return RankingTable(
        source=source,
        query_id=_int_column(source, table, "query_id"),
        rank=_int_column(source, table, "rank"),
        sid=sid.cast(pa.string()),
        score=score,
        item=item,
    )


def parse_sids(table: RankingTable, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised SID parsing: returns codes (N, levels) int64 (-1 on ill-formed rows) and a (N,) bool
    ``well_formed`` mask; "" is an ill-formed beam. Raises on any other string that is not ``a-b-c``
    (exactly ``levels`` non-negative integers in canonical decimal form)."""
    sid = table.sid
    empty = pc.equal(pc.utf8_length(sid), 0).to_numpy(zero_copy_only=False)
    number = r"(0|[1-9][0-9]{0,17})"
    pattern = "^" + number + ("-" + number) * (levels - 1) + "$"
    good = pc.match_substring_regex(sid, pattern).to_numpy(zero_copy_only=False)
    bad = ~(good | empty)
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = ", ".join(repr(sid[int(i)].as_py()) for i in rows[:5])
        raise SubmissionError(
            f"{table.source}: {rows.size} malformed SID(s) (e.g. {examples}); a SID is {levels} non-negative "
            f"integers joined by '-' (\"12-0-7\"), or \"\" for an ill-formed beam."
        )
    codes = np.full((table.n_rows, levels), -1, dtype=np.int64)
    if good.any():
        parts = pc.split_pattern(sid.filter(pa.array(good)), "-")
        flat = pc.list_flatten(parts).cast(pa.int64()).to_numpy(zero_copy_only=False)
        codes[good] = flat.reshape(-1, levels)
    return codes, good


def write_rankings(path: Path, table: RankingTable) -> Path:
    """Write one seed's rankings as parquet (zstd), atomically; sorted by (query_id, rank)."""
    order = np.lexsort((table.rank, table.query_id))
    columns = {
        "query_id": pa.array(table.query_id[order], pa.int64()),
        "rank": pa.array(table.rank[order], pa.int64()),
        "sid": table.sid.take(pa.array(order)),
    }
    if table.score is not None:
        columns["score"] = pa.array(table.score[order], pa.float64())
    if table.item is not None:
        item = table.item[order]
        columns["item"] = pa.array(item, pa.int64(), mask=item < 0)
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(columns), tmp, compression="zstd", store_schema=False)
    return Path(path)
