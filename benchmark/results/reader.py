"""Readers for stored runs, validating everything they load.

A run directory is trusted only after ``run.json`` passes the JSON Schema, the per-query file has exactly the
run's metrics as columns with ``n_queries`` distinct query ids, and every stored mean equals the mean of its
per-query column. Anything else is a ``DataError`` naming the file and the problem: a hand-edited or truncated
result must never reach a table.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmark.errors import DataError
from benchmark.metrics.registry import metric_sort_key
from benchmark.results.schema import (
    QUERY_COLUMNS,
    RANKING_COLUMNS,
    RUN_FILE,
    RUNS_DIR,
    SCHEMA_VERSION,
    RunResult,
    schema_errors,
)

# Means are recomputed from the same float64 column in the same order, so they agree exactly; the tolerance
# only absorbs a platform with a different summation order.
MEAN_RTOL = 1e-12
MEAN_ATOL = 1e-12


@dataclasses.dataclass(frozen=True)
class StoredRun:
    """A validated run record and the directory it lives in; per-query data is read on demand."""

    path: Path
    result: RunResult

    def per_query(self) -> pd.DataFrame:
        return read_per_query(self.path, self.result)

    def rankings(self) -> pd.DataFrame | None:
        return read_rankings(self.path, self.result)

    def curve(self) -> pd.DataFrame | None:
        return read_curve(self.path, self.result)


def load_run(path: Path | str) -> StoredRun:
    """Read and validate ``path/run.json`` (schema, version, files present, directory named by run_id)."""
    path = Path(path)
    run_file = path / RUN_FILE
    try:
        record = json.loads(run_file.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except FileNotFoundError as exc:
        raise DataError(f"{run_file} does not exist: {path} is not a finished run directory.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{run_file} is not valid JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise DataError(f"{run_file} must hold a JSON object, got {type(record).__name__}.")
    version = record.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise DataError(
            f"{run_file} has schema_version {version}; this grbench reads version {SCHEMA_VERSION}. "
            "Upgrade grbench to read it."
        )
    errors = schema_errors(record)
    if errors:
        raise DataError(f"{run_file} does not match the run schema:\n  " + "\n  ".join(errors))
    if record["run_id"] != path.name:
        raise DataError(f"{run_file} has run_id {record['run_id']!r} but lives in directory {path.name!r}.")
    for name in record["files"].values():
        if not (path / name).is_file():
            raise DataError(f"{path / name} is listed in {run_file} but missing.")
    return StoredRun(path=path, result=RunResult.from_dict(record))


def _reject_constant(constant: str) -> float:
    raise ValueError(f"non-finite number {constant}")


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path} is not a readable parquet file: {exc}") from exc


def read_per_query(path: Path | str, result: RunResult | None = None) -> pd.DataFrame:
    """Per-query metrics of a run: DataFrame (n_queries rows) with ``query_id``, the descriptors the run
    stored (``query``, ``query_seen``: ``QUERY_COLUMNS``) and one column per metric.

    Validated against run.json: same metric set, ``n_queries`` distinct ids, finite values, and each stored
    mean equal to the column mean.
    """
    path = Path(path)
    result = result or load_run(path).result
    file = path / result.files["per_query"]
    frame = _read_parquet(file).to_pandas()
    descriptors = [c for c in QUERY_COLUMNS if c in frame.columns]
    metrics = sorted(result.metrics, key=metric_sort_key)
    expected = ["query_id", *descriptors, *metrics]
    if sorted(frame.columns) != sorted(expected):
        raise DataError(f"{file} has columns {list(frame.columns)}; run.json expects {expected}.")
    frame = frame[expected]
    if len(frame) != result.n_queries:
        raise DataError(f"{file} has {len(frame)} rows; run.json says n_queries = {result.n_queries}.")
    if not pd.api.types.is_integer_dtype(frame["query_id"]) or frame["query_id"].duplicated().any():
        raise DataError(f"{file}: query_id must be distinct ints.")
    for name in metrics:
        values = frame[name].to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise DataError(f"{file}: column {name!r} holds NaN or infinite values.")
        mean = float(np.mean(values))
        stored = result.metrics[name]
        if not math.isclose(mean, stored, rel_tol=MEAN_RTOL, abs_tol=MEAN_ATOL):
            raise DataError(
                f"{file}: mean of {name!r} is {mean!r} but run.json records {stored!r}; the run was altered."
            )
    return frame.reset_index(drop=True)


def read_rankings(path: Path | str, result: RunResult | None = None) -> pd.DataFrame | None:
    """Rankings of a run (query_id, rank, sid, score), or None when the run stored none."""
    path = Path(path)
    result = result or load_run(path).result
    name = result.files.get("rankings")
    if name is None:
        return None
    file = path / name
    frame = _read_parquet(file).to_pandas()
    if tuple(frame.columns) != RANKING_COLUMNS:
        raise DataError(f"{file} has columns {list(frame.columns)}; expected {list(RANKING_COLUMNS)}.")
    return frame


def read_curve(path: Path | str, result: RunResult | None = None) -> pd.DataFrame | None:
    """The validation curve of a run (curve.csv: step, train_*, valid_* columns), or None when it has none."""
    path = Path(path)
    result = result or load_run(path).result
    name = result.files.get("curve")
    if name is None:
        return None
    file = path / name
    try:
        frame = pd.read_csv(file)
    except (OSError, ValueError) as exc:
        raise DataError(f"{file} cannot be read as a curve CSV: {exc}") from exc
    if "step" not in frame.columns:
        raise DataError(f"{file} has no 'step' column; columns: {list(frame.columns)}.")
    return frame


def run_dirs_in(runs_dir: Path | str) -> list[Path]:
    """Finished run directories (those holding a run.json) directly under ``runs_dir``, sorted by name."""
    runs = Path(runs_dir)
    if not runs.is_dir():
        return []
    # Hidden entries are atomic_dir's in-progress temporaries, never finished runs.
    return sorted(p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / RUN_FILE).is_file())


def find_run_dirs(profile_dir: Path | str) -> list[Path]:
    """Finished run directories of a profile (``<profile_dir>/runs/*``), sorted by name."""
    return run_dirs_in(Path(profile_dir) / RUNS_DIR)


def load_runs(profile_dir: Path | str, experiment: str | None = None) -> list[StoredRun]:
    """Every finished run of a profile (optionally one experiment), in a stable order.

    Order: experiment, dataset, model size, method, variant, seed, run_id; tables built from it are therefore
    independent of directory listing order.
    """
    runs = [load_run(p) for p in find_run_dirs(profile_dir)]
    if experiment is not None:
        runs = [r for r in runs if r.result.experiment == experiment]
    return sorted(runs, key=_run_order)


def _run_order(run: StoredRun) -> tuple:
    r = run.result
    return (r.experiment, r.dataset, r.model_size, r.method, json.dumps(r.variant, sort_keys=True), r.seed, r.run_id)
