"""The one function that writes a run directory, and the helpers the resumable suite builds on it.

``write_run`` takes the run's identity, config, hashes and budget (``RunRecord``) and its per-query metric
arrays, derives the metric means itself (callers never pass means, so run.json cannot disagree with the
per-query file), records provenance, validates the whole record against ``results/schema/run.schema.json``
and only then writes ``run.json``, ``per_query.parquet`` and the optional ``rankings.parquet`` into a
temporary directory that is renamed into place (``benchmark.artifacts.atomic_dir``). A reader therefore sees
a complete run or none: the presence of ``runs/<run_id>/run.json`` is the suite's "finished" marker.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmark import faults
from benchmark.artifacts import (
    atomic_dir,
    atomic_write_json,
    atomic_write_text,
    canonical_json,
    storage_error,
)
from benchmark.errors import BenchmarkError
from benchmark.metrics.registry import is_metric_name, metric_sort_key, unknown_metric_message
from benchmark.results import provenance
from benchmark.results.reader import StoredRun, load_run, run_dirs_in
from benchmark.results.schema import (
    CURVE_FILE,
    NAME_PATTERN,
    PER_QUERY_FILE,
    QUERY_COLUMNS,
    RANKING_COLUMNS,
    RANKINGS_FILE,
    RUN_FILE,
    RUNS_DIR,
    SCHEMA_VERSION,
    SID_PATTERN,
    TARGET_BUCKETS,
    RunRecord,
    RunValidationError,
    schema_errors,
)

log = logging.getLogger(__name__)

# zstd keeps committed per-query files and rankings small (the repository must stay well under 50 MB).
PARQUET_COMPRESSION = "zstd"


class RunExistsError(BenchmarkError):
    """A finished run with this id is already stored; finished runs are never silently replaced."""


def run_dir(results_root: Path | str, profile: str, run_id: str) -> Path:
    """``<results_root>/<profile>/runs/<run_id>``: the fixed place of a run."""
    for name, value in (("profile", profile), ("run_id", run_id)):
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            raise RunValidationError(
                f"The {name!r} parameter of run_dir must be a name matching {NAME_PATTERN.pattern}. "
                f"Got {value!r} instead."
            )
    return Path(results_root) / profile / RUNS_DIR / run_id


def write_run(
    path: Path | str,
    record: RunRecord,
    query_ids: Any,
    per_query: Mapping[str, Any],
    rankings: pd.DataFrame | None = None,
    *,
    queries: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    curve: pd.DataFrame | None = None,
) -> Path:
    """Validate and atomically write one run directory; return its path.

    Args:
        path: the run directory, ``<results_root>/<profile>/runs/<run_id>`` (see ``run_dir``); its name must
            equal ``record.run_id``.
        record: identity, resolved config, hashes and budget. Provenance fields left None are recorded here.
        query_ids: (Q,) distinct ints, the test queries scored.
        per_query: metric name -> (Q,) finite floats aligned with ``query_ids``.
        rankings: optional DataFrame with columns query_id, rank (1-based), sid ("a-b-c", "" when the beam was
            ill-formed), score; every query_id must be one of ``query_ids``.
        queries: optional per-query descriptors aligned with ``query_ids``: ``query`` (the query text, the
            cluster of a clustered significance test), ``query_seen`` (1 when the query occurs in training) and
            ``target_bucket`` (the ordered item's popularity bucket: head, torso or tail; cold for a cold-start
            item, ``benchmark.sids.coldstart``).
        overwrite: replace an existing run with the same id (default: refuse).
        curve: optional validation curve of a trained run (``benchmark.suite.curves``): one row per evaluated
            step, a ``step`` column of distinct ints >= 0, numeric columns; stored as curve.csv.

    Raises:
        RunValidationError: the record, the arrays or the rankings break the schema. Nothing is written.
        RunExistsError: the run is already stored and ``overwrite`` is False.
        StorageError: the directory cannot be written (disk full, read-only, a file in the way); the message
            names the runs directory and the OS reason. Nothing is written.
    """
    path = Path(path)
    if not isinstance(record, RunRecord):
        raise RunValidationError(f"write_run needs a RunRecord, got {type(record).__name__}.")
    if path.name != record.run_id:
        raise RunValidationError(
            f"A run directory is named by its run_id: got directory {path.name!r} for run_id {record.run_id!r}."
        )
    ids, arrays = _validate_per_query(query_ids, per_query)
    descriptors = _validate_descriptors(queries, ids.size)
    order = np.argsort(ids, kind="stable")  # stored sorted by query_id: an order that depends on content only
    ids = ids[order]
    arrays = {name: values[order] for name, values in arrays.items()}
    descriptors = {name: values[order] for name, values in descriptors.items()}
    ranking_table = None if rankings is None else _validate_rankings(rankings, set(ids.tolist()))
    curve_text = None if curve is None else _curve_csv(curve, record.run_id)

    files = {"per_query": PER_QUERY_FILE}
    if ranking_table is not None:
        files["rankings"] = RANKINGS_FILE
    if curve_text is not None:
        files["curve"] = CURVE_FILE
    data = _with_provenance(record).to_dict()
    data["budget"] = {k: v for k, v in dict(data["budget"]).items() if v is not None}  # optional budget fields
    for optional in OPTIONAL_FIELDS:  # absent rather than null: a copied older run keeps its exact record
        if data.get(optional) is None:
            data.pop(optional, None)
    data.update(
        schema_version=SCHEMA_VERSION,
        n_queries=int(ids.size),
        # The mean of the stored (sorted) array: exactly what the reader recomputes from the parquet file.
        metrics={name: float(np.mean(values)) for name, values in arrays.items()},
        files=files,
    )
    data = _to_plain_json(data)
    errors = schema_errors(data)
    if errors:
        raise RunValidationError(
            f"Run {data.get('run_id')!r} does not match the run schema; nothing was written:\n  " + "\n  ".join(errors)
        )
    if (path / RUN_FILE).exists() and not overwrite:
        raise RunExistsError(f"Run {record.run_id} is already stored at {path}; pass overwrite=True to replace it.")

    try:
        with atomic_dir(path) as tmp:
            columns = {"query_id": pa.array(ids, type=pa.int64())}
            if "query" in descriptors:
                columns["query"] = pa.array(descriptors["query"].tolist(), type=pa.string())
            if "query_seen" in descriptors:
                columns["query_seen"] = pa.array(descriptors["query_seen"], type=pa.int64())
            if "target_bucket" in descriptors:
                columns["target_bucket"] = pa.array(descriptors["target_bucket"].tolist(), type=pa.string())
            for name in sorted(arrays, key=metric_sort_key):
                columns[name] = pa.array(arrays[name], type=pa.float64())
            pq.write_table(pa.table(columns), tmp / PER_QUERY_FILE, compression=PARQUET_COMPRESSION)
            faults.reached("result_file")
            if ranking_table is not None:
                pq.write_table(ranking_table, tmp / RANKINGS_FILE, compression=PARQUET_COMPRESSION)
            if curve_text is not None:
                atomic_write_text(tmp / CURVE_FILE, curve_text)
            atomic_write_json(tmp / RUN_FILE, data)
            faults.reached("result_file")
    except OSError as exc:  # disk full, read-only, a file in the way: one clear message naming the place
        raise storage_error(exc, f"results to {path.parent}") from exc
    log.info("wrote run %s (%s, %s, seed %d) to %s", record.run_id, record.experiment, record.method, record.seed, path)
    return path


def finished_runs(runs_dir: Path | str) -> dict[str, str]:
    """run_id -> compute_key of every finished run under ``runs_dir`` (``<results_root>/<profile>/runs``).

    Only run.json is read (and schema-checked): this is the suite's cheap "what is done" scan.
    """
    return {p.name: load_run(p).result.compute_key for p in run_dirs_in(runs_dir)}


def copy_run_as(
    source: Path | str, target: Path | str, experiment: str, variant: Mapping[str, Any], run_id: str
) -> Path:
    """File a finished run under another experiment without recomputing it.

    A configuration shared by two experiments (Table 1's RAD-DPO row is also Figure 2's 100% point) is run
    once; this writes its per-query metrics and rankings, unchanged, as a new run ``run_id`` of
    ``experiment`` with ``variant`` (through ``write_run``, so the copy is validated and atomic). Provenance,
    config, hashes, budget and compute_key are those of the source.
    """
    stored = load_run(source)
    record = stored.result.to_record(experiment=experiment, variant=dict(variant), run_id=run_id)
    return _rewrite(stored, target, record, keep_rankings=True)


def publish_runs(source_runs: Path | str, target_runs: Path | str, *, keep_rankings: bool = True) -> list[str]:
    """Copy every finished run of ``source_runs`` that ``target_runs`` lacks; return the run ids copied.

    This is how a long suite's finished runs move into the committed results tree (``results/<profile>/runs``)
    while it keeps running: each copy is re-validated and written atomically by ``write_run``, with its
    provenance unchanged. ``keep_rankings=False`` leaves the rankings out (they are what makes a full-test-set
    run large; tables need only the per-query metrics). A run already in the target is left alone.
    """
    target_runs = Path(target_runs)
    present = {p.name for p in run_dirs_in(target_runs)} if target_runs.is_dir() else set()
    copied = []
    for source in run_dirs_in(source_runs):
        if source.name in present:
            continue
        stored = load_run(source)
        _rewrite(stored, target_runs / source.name, stored.result.to_record(), keep_rankings=keep_rankings)
        copied.append(source.name)
    return copied


def _rewrite(stored: StoredRun, target: Path | str, record: RunRecord, *, keep_rankings: bool) -> Path:
    frame = stored.per_query()
    per_query = {name: frame[name].to_numpy() for name in frame.columns
                 if name != "query_id" and name not in QUERY_COLUMNS}
    queries = {name: frame[name].to_numpy() for name in QUERY_COLUMNS if name in frame.columns}
    rankings = stored.rankings() if keep_rankings else None
    return write_run(target, record, frame["query_id"].to_numpy(), per_query, rankings, queries=queries or None,
                     curve=stored.curve())


def _curve_csv(curve: pd.DataFrame, run_id: str) -> str:
    """curve.csv's text: validated (a distinct int ``step`` >= 0 per row, numeric columns), rows by step, floats
    written with repr so a reader gets the exact values back."""
    if not isinstance(curve, pd.DataFrame) or "step" not in curve.columns or curve.empty:
        raise RunValidationError(f"Run {run_id!r}: a curve must be a non-empty DataFrame with a 'step' column.")
    steps = pd.to_numeric(curve["step"], errors="coerce")
    if steps.isna().any() or (steps < 0).any() or (steps % 1 != 0).any() or steps.duplicated().any():
        raise RunValidationError(f"Run {run_id!r}: curve steps must be distinct integers >= 0; got "
                                 f"{curve['step'].tolist()!r}.")
    bad = [c for c in curve.columns if not pd.api.types.is_numeric_dtype(curve[c])]
    if bad:
        raise RunValidationError(f"Run {run_id!r}: curve columns must be numeric; not numeric: {bad}.")
    ordered = curve.assign(step=steps.astype(int)).sort_values("step", kind="stable")
    return ordered.to_csv(index=False, lineterminator="\n", float_format=None)


# run.json fields a run may lack (stored before they existed, or not applicable).
OPTIONAL_FIELDS = ("environment", "tuning", "catalog")


def _with_provenance(record: RunRecord) -> RunRecord:
    changes: dict[str, Any] = {}
    if record.code_revision is None:
        changes["code_revision"] = provenance.code_revision()
    if record.packages is None:
        changes["packages"] = provenance.package_versions()
    if record.hardware is None:
        # Recorded together: a copied run keeps the hardware it was computed on and must not take this
        # machine's environment.
        changes["hardware"] = provenance.hardware()
        if record.environment is None:
            changes["environment"] = provenance.environment()
    return dataclasses.replace(record, **changes) if changes else record


def _to_plain_json(data: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so numpy scalars, tuples and paths are validated as they will be stored."""

    def reject(constant: str) -> Any:
        raise RunValidationError(f"Run {data.get('run_id')!r} holds a non-finite number ({constant}).")

    try:
        text = canonical_json(data)
    except TypeError as exc:
        raise RunValidationError(f"Run {data.get('run_id')!r} is not JSON-serialisable: {exc}") from exc
    return json.loads(text, parse_constant=reject)


def _validate_per_query(query_ids: Any, per_query: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    ids = np.asarray(query_ids)
    if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise RunValidationError(
            f"The 'query_ids' parameter of write_run must be a non-empty 1-D array of ints. "
            f"Got shape {ids.shape} and dtype {ids.dtype} instead."
        )
    ids = ids.astype(np.int64)
    unique, counts = np.unique(ids, return_counts=True)
    if unique.size != ids.size:
        raise RunValidationError(f"query_ids must be distinct; repeated: {unique[counts > 1][:5].tolist()}.")
    if not isinstance(per_query, Mapping) or not per_query:
        raise RunValidationError("The 'per_query' parameter of write_run must be a non-empty mapping name -> array.")
    arrays: dict[str, np.ndarray] = {}
    for name, raw in per_query.items():
        if not is_metric_name(name):
            raise RunValidationError(unknown_metric_message(name))
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise RunValidationError(f"Per-query values of {name!r} are not numbers: {exc}") from exc
        if values.ndim != 1 or values.size != ids.size:
            raise RunValidationError(
                f"Per-query array {name!r} must have one value per query: shape ({ids.size},) expected, "
                f"got {values.shape}."
            )
        if not np.all(np.isfinite(values)):
            raise RunValidationError(f"Per-query array {name!r} holds NaN or infinite values.")
        arrays[name] = values
    return ids, arrays


def _validate_descriptors(queries: Mapping[str, Any] | None, n: int) -> dict[str, np.ndarray]:
    """The optional per-query descriptors (``QUERY_COLUMNS``), checked: known names, one value per query,
    query texts as strings, ``query_seen`` as 0/1, ``target_bucket`` one of ``TARGET_BUCKETS``."""
    if queries is None:
        return {}
    out: dict[str, np.ndarray] = {}
    for name, raw in queries.items():
        if name not in QUERY_COLUMNS:
            raise RunValidationError(
                f"The 'queries' parameter of write_run takes the columns {list(QUERY_COLUMNS)}. Got {name!r} instead."
            )
        values = np.asarray(raw, dtype=object if name in ("query", "target_bucket") else None)
        if values.ndim != 1 or values.size != n:
            raise RunValidationError(
                f"Per-query column {name!r} must have one value per query: shape ({n},) expected, got {values.shape}."
            )
        if name == "query":
            if not all(isinstance(v, str) for v in values):
                raise RunValidationError("Per-query column 'query' must hold the query texts (strings).")
        elif name == "target_bucket":
            bad = sorted({repr(v) for v in values if v not in TARGET_BUCKETS})
            if bad:
                raise RunValidationError(f"Per-query column 'target_bucket' must hold one of {list(TARGET_BUCKETS)} "
                                         f"per query. Got {', '.join(bad[:3])} instead.")
        else:
            if not np.isin(values, (0, 1)).all():
                raise RunValidationError("Per-query column 'query_seen' must hold 0 or 1 per query.")
            values = values.astype(np.int64)
        out[name] = values
    return out


def _validate_rankings(rankings: pd.DataFrame, query_ids: set[int]) -> pa.Table:
    if not isinstance(rankings, pd.DataFrame) or tuple(rankings.columns) != RANKING_COLUMNS:
        got = list(rankings.columns) if isinstance(rankings, pd.DataFrame) else type(rankings).__name__
        raise RunValidationError(f"rankings must be a DataFrame with columns {list(RANKING_COLUMNS)}; got {got}.")
    frame = rankings.reset_index(drop=True)
    for column in ("query_id", "rank"):
        if not pd.api.types.is_integer_dtype(frame[column]):
            raise RunValidationError(f"rankings column {column!r} must hold ints; got dtype {frame[column].dtype}.")
    if not pd.api.types.is_numeric_dtype(frame["score"]) or pd.api.types.is_bool_dtype(frame["score"]):
        raise RunValidationError(f"rankings column 'score' must hold floats; got dtype {frame['score'].dtype}.")
    if (frame["rank"] < 1).any():
        raise RunValidationError("rankings 'rank' values start at 1.")
    unknown = sorted(set(frame["query_id"].tolist()) - query_ids)
    if unknown:
        raise RunValidationError(f"rankings name query ids not in the run's queries: {unknown[:5]}.")
    if frame.duplicated(["query_id", "rank"]).any():
        raise RunValidationError("rankings repeat a (query_id, rank) pair.")
    bad = [s for s in frame["sid"].tolist() if not isinstance(s, str) or not SID_PATTERN.match(s)]
    if bad:
        raise RunValidationError(
            f"rankings 'sid' values must be codes joined by '-' (\"\" for an ill-formed beam); got {bad[0]!r}."
        )
    # -inf is a legitimate beam score (a continuation the trie masks out); NaN and +inf are not.
    if any(math.isnan(s) or s == math.inf for s in frame["score"].tolist()):
        raise RunValidationError("rankings 'score' holds NaN or +inf values.")
    frame = frame.sort_values(["query_id", "rank"], kind="stable")
    return pa.table(
        {
            "query_id": pa.array(frame["query_id"].to_numpy(), type=pa.int64()),
            "rank": pa.array(frame["rank"].to_numpy(), type=pa.int32()),
            "sid": pa.array(frame["sid"].tolist(), type=pa.string()),
            "score": pa.array(frame["score"].to_numpy(dtype=np.float64), type=pa.float64()),
        }
    )
