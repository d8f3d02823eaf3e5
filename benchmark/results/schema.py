"""The run-result record: one finished (method, seed, config) run, as stored in ``run.json``.

The JSON form is defined by ``benchmark/results/run.schema.json`` (JSON Schema draft 2020-12; it ships inside
the package, and ``results/schema/run.schema.json`` is its published copy, kept byte-identical by a test), the one
source of truth for the record's structure; the dataclasses here are its typed Python view. Metric names are
the metric registry's (``benchmark.metrics.registry``): the JSON Schema checks their shape, ``schema_errors``
that they are registered; experiment names likewise are the experiment registry's (``benchmark.experiments``),
plus ``custom`` for a run outside the suite. ``RunRecord`` is what the experiment suite knows before scoring (identity, config,
hashes, budget); ``RunResult`` is the stored record: that plus provenance, the schema version and what the
writer derives from the per-query arrays (``n_queries``, metric means, file names).

Layout of a stored run (fixed)::

    <results_root>/<profile>/runs/<run_id>/run.json
    <results_root>/<profile>/runs/<run_id>/per_query.parquet   query_id int64 [+ query str, query_seen int64,
                                                                target_bucket str]
                                                                + one float64 column per metric
    <results_root>/<profile>/runs/<run_id>/rankings.parquet    optional: query_id, rank, sid ("a-b-c"), score
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import re
from typing import TYPE_CHECKING, Any

import jsonschema

from benchmark.errors import BenchmarkError, DataError
from benchmark.metrics.registry import is_metric_name, unknown_metric_message
from benchmark.registry import unknown_name_message

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

SCHEMA_VERSION = 1
SCHEMA_PATH: Traversable = importlib.resources.files("benchmark.results") / "run.schema.json"

CUSTOM_EXPERIMENT = "custom"  # a run outside the suite (``grbench eval``)
# Experiments whose runs are the leaderboard's reference systems: the suite stores their rankings (submissions
# are exported from them), the leaderboard reads them back. Defined here, with the files both sides share.
REFERENCE_EXPERIMENTS = ("table1", "games")

RUN_FILE = "run.json"
PER_QUERY_FILE = "per_query.parquet"
RANKINGS_FILE = "rankings.parquet"
CURVE_FILE = "curve.csv"  # the validation curve of a trained run (benchmark.suite.curves), when the profile has one
RUNS_DIR = "runs"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")  # profiles and run ids: safe directory names
SID_PATTERN = re.compile(r"^([0-9]+(-[0-9]+)*)?$")  # "" = ill-formed beam
RANKING_COLUMNS = ("query_id", "rank", "sid", "score")
# Optional per-query descriptors beside the metrics (protocol 2 stores all three): ``query`` is the query text, the
# cluster a clustered permutation test flips signs by (rows sharing a query are not independent);
# ``query_seen`` is 1 when the query occurs in the training split (seen/unseen tables); ``target_bucket`` is the
# popularity bucket of the ordered item, or ``cold`` when a cold-start run held it out of training
# (``TARGET_BUCKETS``; per-bucket columns of the ``sids`` table). Runs stored before a descriptor existed lack its
# column and read as before.
QUERY_COLUMNS = ("query", "query_seen", "target_bucket")
TARGET_BUCKETS = ("head", "torso", "tail", "cold")  # benchmark.sids.buckets.LABELS


class RunValidationError(BenchmarkError, ValueError):
    """A run record or its per-query arrays break the schema; nothing was written."""


def experiment_names() -> tuple[str, ...]:
    """The experiment names a run may carry: every registered experiment, then ``custom``."""
    from benchmark.experiments import experiment_names as registered  # the experiments import this package

    return (*registered(), CUSTOM_EXPERIMENT)


@functools.lru_cache(maxsize=1)
def json_schema() -> dict[str, Any]:
    """The run JSON Schema (``benchmark/results/run.schema.json``, package data)."""
    try:
        return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"The run JSON Schema {SCHEMA_PATH} is missing from this installation.") from exc


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(record: dict[str, Any]) -> list[str]:
    """Every violation of the run JSON Schema in ``record``, as "at 'a.b': message" lines, in a stable order."""
    errors = sorted(_validator().iter_errors(record), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    lines = []
    for error in errors:
        where = ".".join(str(p) for p in error.absolute_path) or "<top level>"
        lines.append(f"at {where!r}: {error.message}")
    # The JSON Schema checks only the shape of a metric name; which names exist is the metric registry's.
    metrics = record.get("metrics") if isinstance(record, dict) else None
    if isinstance(metrics, dict):
        lines += [f"at 'metrics': {unknown_metric_message(name)}" for name in sorted(metrics, key=str)
                  if isinstance(name, str) and not is_metric_name(name)]
    experiment = record.get("experiment") if isinstance(record, dict) else None
    if isinstance(experiment, str) and NAME_PATTERN.match(experiment) and experiment not in experiment_names():
        lines.append(f"at 'experiment': {unknown_name_message('experiment', experiment, list(experiment_names()))}")
    return lines


# ----------------------------------------------------------------------------------------------- records
@dataclasses.dataclass(frozen=True)
class Hardware:
    cpu: str
    cores: int
    gpu: str | None
    platform: str


@dataclasses.dataclass(frozen=True)
class Hashes:
    """Content hashes tying a run to its data split, test queries, SID catalog and SFT starting point."""

    split_hash: str
    test_hash: str
    catalog_hash: str
    sft_checkpoint_hash: str | None


@dataclasses.dataclass(frozen=True)
class Budget:
    """Compute actually used: identical across the methods compared (DESIGN.md section 5)."""

    optimizer_steps: int
    batch_size: int
    examples_seen: int
    tokens: int
    flops: float
    train_seconds: float
    eval_seconds: float
    # Methods with rollouts (GRPO family): SID tokens generated and seconds spent decoding them, both inside the
    # training budget above. None (absent from run.json) for every other method.
    rollout_tokens: int | None = None
    rollout_seconds: float | None = None


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What the caller of ``write_run`` supplies: everything in run.json except what the writer derives.

    ``hashes`` and ``budget`` may be ``Hashes`` / ``Budget`` or plain mappings with the same keys.
    ``code_revision``, ``packages`` and ``hardware`` left as None are recorded by the writer from the machine
    it runs on (``benchmark.results.provenance``), ``environment`` with ``hardware``; a copied run keeps those
    of the run it was copied from.
    """

    run_id: str
    compute_key: str
    experiment: str
    profile: str
    method: str
    seed: int
    dataset: str
    model_size: str
    variant: dict[str, Any]
    config: dict[str, Any]
    hashes: Hashes | dict[str, Any]
    budget: Budget | dict[str, Any]
    code_revision: str | None = None
    packages: dict[str, str] | None = None
    hardware: Hardware | dict[str, Any] | None = None
    # Recorded with ``hardware`` (``provenance.environment``): the numerical environment (CPU flags,
    # threads, BLAS/oneDNN, determinism settings). None on runs stored before it was recorded.
    environment: dict[str, Any] | None = None
    # Set when the method's configuration came from a tuning study: which study and what it chose.
    tuning: dict[str, Any] | None = None
    # The SID catalog's size and collision statistics (``stages.catalog_summary``); None on runs stored before
    # it was recorded and on runs filed outside the suite.
    catalog: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
            for f in dataclasses.fields(self)
            for v in [getattr(self, f.name)]
        }


@dataclasses.dataclass(frozen=True)
class RunResult:
    """A stored, validated run (the typed view of run.json). ``metrics`` holds means over queries only."""

    schema_version: int
    run_id: str
    compute_key: str
    experiment: str
    profile: str
    method: str
    seed: int
    dataset: str
    model_size: str
    variant: dict[str, Any]
    code_revision: str
    packages: dict[str, str]
    hardware: Hardware
    config: dict[str, Any]
    hashes: Hashes
    budget: Budget
    n_queries: int
    metrics: dict[str, float]
    files: dict[str, str]
    environment: dict[str, Any] | None = None
    tuning: dict[str, Any] | None = None
    catalog: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> RunResult:
        """Build from a run.json mapping that already passed ``schema_errors``."""
        data = dict(record)
        data["hardware"] = Hardware(**data["hardware"])
        data["hashes"] = Hashes(**data["hashes"])
        data["budget"] = Budget(**data["budget"])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def protocol(self) -> int:
        """The data protocol the run was built under; runs stored before the setting existed are protocol 1."""
        return int(self.config.get("data", {}).get("protocol", 1))

    def to_record(self, **changes: Any) -> RunRecord:
        """The writer input that reproduces this run (provenance kept), with ``changes`` applied."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(RunRecord)}
        fields.update(changes)
        return RunRecord(**fields)
