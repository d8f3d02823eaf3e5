"""Stored runs of one experiment, grouped into (variant, method) cells and aggregated over seeds.

Tables never look at anything but these groups, which read only validated run directories: every number a
table prints is a seed summary of run.json means or a test on per_query.parquet columns.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from benchmark.errors import DataError
from benchmark.results import StoredRun, provenance
from benchmark.stats import SeedSummary, align_labels, pair_by_query, pool_seeds, seed_summary

log = logging.getLogger(__name__)


def variant_key(variant: Mapping[str, Any]) -> str:
    return json.dumps(dict(variant), sort_keys=True)


def variant_order(variant: Mapping[str, Any]) -> tuple:
    """Sort variants by their values, numbers numerically (0.2 before 1.0), in key order."""
    return tuple((k, (0, float(v), "") if isinstance(v, (int, float)) else (1, 0.0, str(v))) for k, v in sorted(variant.items()))


QUERY_SUBSETS = ("all", "seen", "unseen")


@dataclasses.dataclass(frozen=True)
class MethodRuns:
    """The runs of one method under one variant: one per seed, sorted by seed.

    ``queries`` restricts every number to the test queries seen in training ("seen"), the unseen ones
    ("unseen", protocol 2 holds a share of queries out of training) or keeps them all ("all"); a subset's
    means are computed from the per-query files (run.json stores the means over all queries).
    """

    method: str
    variant: dict[str, Any]
    runs: tuple[StoredRun, ...]
    queries: str = "all"
    _frames: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def subset(self, queries: str) -> MethodRuns:
        if queries not in QUERY_SUBSETS:
            raise DataError(f"Query subset must be one of {', '.join(QUERY_SUBSETS)}. Got {queries!r} instead.")
        return MethodRuns(self.method, self.variant, self.runs, queries)

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(r.result.seed for r in self.runs)

    @property
    def test_hashes(self) -> frozenset[str]:
        return frozenset(r.result.hashes.test_hash for r in self.runs)

    def has(self, metric: str) -> bool:
        return all(metric in r.result.metrics for r in self.runs)

    def summary(self, metric: str) -> SeedSummary | None:
        """Mean and sample std over seeds of the per-run means; None if a run lacks the metric (or, for a
        query subset, holds no query of it)."""
        if not self.has(metric):
            return None
        if self.queries == "all":
            return seed_summary([r.result.metrics[metric] for r in self.runs])
        means = [self._run_frame(i)[metric].mean() for i in range(len(self.runs))]
        return None if any(np.isnan(means)) else seed_summary(means)

    def clusters(self) -> pd.Series | None:
        """The query text of each scored query_id (the cluster of a clustered test), or None when the runs
        did not store it (protocol-1 runs)."""
        frame = self._run_frame(0)
        return frame["query"] if "query" in frame.columns else None

    def per_query(self, metric: str) -> pd.Series:
        """(Q,) per-query values averaged over seeds, indexed by query_id (sorted).

        Only queries scored in every seed are kept (all of them when the seeds share a test split).
        """
        if metric not in self._frames:
            columns = [self._run_frame(i)[metric] for i in range(len(self.runs))]
            ids, values = pool_seeds([c.index.to_numpy() for c in columns], [c.to_numpy() for c in columns])
            if any(len(c) != ids.size for c in columns):
                log.warning("%s %s: seeds scored different queries; using the %d shared ones",
                            self.method, self.variant, ids.size)
            self._frames[metric] = pd.Series(values, index=pd.Index(ids, name="query_id"), name=metric)
        return self._frames[metric]

    def _run_frame(self, index: int) -> pd.DataFrame:
        # each run's per-query file is read (and validated) once, whatever the number of metrics tested
        key = ("run", index)
        if key not in self._frames:
            frame = self.runs[index].per_query().set_index("query_id")
            if self.queries != "all":
                if "query_seen" not in frame.columns:
                    raise DataError(f"{self.runs[index].path}: the run stored no query_seen column, so its "
                                    f"{self.queries} queries cannot be told apart (a protocol-1 run).")
                frame = frame[frame["query_seen"] == (1 if self.queries == "seen" else 0)]
            self._frames[key] = frame
        return self._frames[key]


class ExperimentRuns:
    """All runs of one experiment, grouped by (variant, method); a repeated (variant, method, seed) is an error."""

    def __init__(self, name: str, runs: Iterable[StoredRun], queries: str = "all") -> None:
        self.name = name
        self.runs = tuple(runs)
        self.queries = queries
        grouped: dict[tuple[str, str], list[StoredRun]] = {}
        for run in self.runs:
            grouped.setdefault((variant_key(run.result.variant), run.result.method), []).append(run)
        self._groups: dict[tuple[str, str], MethodRuns] = {}
        for (vkey, method), members in grouped.items():
            members.sort(key=lambda r: (r.result.seed, r.result.run_id))
            for a, b in zip(members, members[1:]):
                if a.result.seed == b.result.seed:
                    raise DataError(
                        f"Experiment {name!r} has two runs of {method} seed {a.result.seed} with variant {vkey}: "
                        f"{a.path} and {b.path}. Remove the stale one (a config change gives a new run id)."
                    )
            self._groups[(vkey, method)] = MethodRuns(method, json.loads(vkey), tuple(members)).subset(queries)

    def __len__(self) -> int:
        return len(self.runs)

    def where(self, predicate: Callable[[StoredRun], bool]) -> ExperimentRuns:
        return ExperimentRuns(self.name, [r for r in self.runs if predicate(r)], self.queries)

    def subset(self, queries: str) -> ExperimentRuns:
        """The same runs, every number restricted to the seen or unseen test queries (``MethodRuns``)."""
        return ExperimentRuns(self.name, self.runs, queries)

    def protocol(self) -> int:
        """The data protocol of the runs (1: every item of the query's category is the truth; 2: the ordered
        item is the target and a share of queries is held out of training); a mix is an error."""
        versions = sorted({r.result.protocol for r in self.runs})
        if len(versions) != 1:
            raise DataError(f"Experiment {self.name!r} mixes runs of data protocols {versions}; a table compares "
                            "runs of one protocol. Render them from separate results directories.")
        return versions[0]

    def has_seen_flags(self) -> bool:
        """Whether every run stored which test queries were seen in training (protocol-2 runs do)."""
        # the parquet schema only: no per-query data is read for this
        return bool(self.runs) and all(
            "query_seen" in pq.read_schema(r.path / r.result.files["per_query"]).names for r in self.runs)

    def variants(self) -> list[dict[str, Any]]:
        unique = {vkey: json.loads(vkey) for vkey, _ in self._groups}
        return sorted(unique.values(), key=variant_order)

    def methods(self) -> list[str]:
        return sorted({method for _, method in self._groups})

    def get(self, method: str, variant: Mapping[str, Any] | None = None) -> MethodRuns | None:
        return self._groups.get((variant_key(variant or {}), method))

    def values(self, field: str) -> list[Any]:
        """Distinct values of a run.json field (dataset, model_size, ...) across the runs, sorted."""
        return sorted({getattr(r.result, field) for r in self.runs}, key=str)

    def single(self, field: str) -> Any:
        """The one value of ``field`` shared by every run; a mix is an error (a table compares like with like)."""
        values = self.values(field)
        if len(values) != 1:
            raise DataError(
                f"Experiment {self.name!r} mixes {field} values {values}; its table compares runs of one "
                f"{field}. Render the profiles separately or remove the foreign runs."
            )
        return values[0]

    def seeds(self) -> list[int]:
        return sorted({r.result.seed for r in self.runs})

    def query_counts(self) -> list[int]:
        return sorted({r.result.n_queries for r in self.runs})

    def short_of_seeds(self) -> list[MethodRuns]:
        """Groups lacking some of the experiment's seeds (a suite published while still running)."""
        every = tuple(self.seeds())
        return [g for _, g in sorted(self._groups.items()) if g.seeds != every]


def checkpoint_note(experiment: ExperimentRuns) -> str:
    """Which checkpoint the trained runs report: the final one, or the best-validation one (``curves``)."""
    trained = [r for r in experiment.runs if r.result.budget.optimizer_steps > 0]
    best = [r for r in trained if isinstance(r.result.config.get("checkpoint"), dict)]
    if not trained:
        return ""
    if not best:
        return " Trained runs report their final checkpoint."
    settings = best[0].result.config["checkpoint"]
    chosen = (f"their best-validation checkpoint (the best {settings.get('metric')} over {settings.get('points')} "
              f"evenly spaced checkpoints on {settings.get('max_queries')} validation queries; the step is marked "
              "in each run's curve.csv)")
    if len(best) == len(trained):
        return f" Trained runs report {chosen}."
    return f" {len(best)} of {len(trained)} trained runs report {chosen}, the others their final checkpoint."


def tuning_note(experiment: ExperimentRuns) -> str:
    """Which trained runs use a configuration a tuning study chose (``grbench tune``), and where the study is."""
    trained = [r for r in experiment.runs if r.result.budget.optimizer_steps > 0]
    tuned = [r for r in trained if getattr(r.result, "tuning", None)]
    if not tuned:
        return ""
    studies = sorted({str(r.result.tuning.get("study")) for r in tuned})
    methods = ", ".join(sorted({r.result.method for r in tuned}))
    metric = tuned[0].result.tuning.get("metric")
    which = "All trained runs" if len(tuned) == len(trained) else f"{len(tuned)} of {len(trained)} trained runs"
    rest = "" if len(tuned) == len(trained) else "; the others the profile's defaults"
    held = sorted({f"{name} = {value:g}" for r in tuned for name, value in (r.result.tuning.get("held") or {}).items()})
    pinned = (f" Rows whose variant fixes a tuned parameter keep it ({', '.join(held)}) and take the study's other "
              "choices." if held else "")
    return (f" {which} ({methods}) use the configuration their tuning study chose on the validation split by "
            f"{metric} ({', '.join(studies)}){rest}.{pinned}")


def describe_runs(experiment: ExperimentRuns) -> str:
    """One line for table notes: runs, seeds and test queries behind the table."""
    seeds = experiment.seeds()
    counts = experiment.query_counts()
    queries = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    line = f"{len(experiment)} runs; seeds {', '.join(map(str, seeds))}; {queries} test queries per run."
    short = experiment.short_of_seeds()
    if short:
        # Means over different seed sets are not like for like: say which cells they are.
        cells = ", ".join(
            f"{g.method}{' ' + variant_key(g.variant) if g.variant else ''} (seeds {', '.join(map(str, g.seeds))})"
            for g in short
        )
        line += f" Unequal seeds, compare with care: {cells}."
    line += checkpoint_note(experiment) + tuning_note(experiment)
    dirty = [r for r in experiment.runs if provenance.is_dirty(r.result.code_revision)]
    if dirty:
        line += (f" {len(dirty)} run(s) were computed from uncommitted code ({dirty[0].result.code_revision}): "
                 "nobody can check out what produced them.")
    mixed = mixed_versions(experiment)
    if mixed:
        line += f" Runs computed with different package versions, compare with care: {mixed}."
    environments = mixed_environments(experiment)
    if environments:
        line += (" Runs computed in different numerical environments (a rerun elsewhere moves numbers by more "
                 f"than many method effects; see `grbench reproduce`): {environments}.")
    return line


def mixed_environments(experiment: ExperimentRuns) -> str:
    """Which cells came from which numerical environment (CPU, dispatch level, threads, torch and
    transformers versions), when the table's runs came from more than one ("" otherwise)."""
    cells: dict[str, set[str]] = {}
    for run in experiment.runs:
        result = run.result
        label = provenance.environment_label(result.hardware.cpu, result.packages, result.environment)
        variant = f" {variant_key(result.variant)}" if result.variant else ""
        cells.setdefault(label, set()).add(f"{result.method}{variant} seed {result.seed}")
    if len(cells) < 2:
        return ""
    return "; ".join(f"[{label}] {', '.join(sorted(names))}" for label, names in sorted(cells.items()))


def mixed_versions(experiment: ExperimentRuns) -> str:
    """The packages whose recorded version differs between the table's runs, with run counts ("" if none).

    Training amplifies tiny numeric differences between library releases, so cells computed under different
    versions can differ by more than a method effect (the lock file exists to prevent this).
    """
    versions: dict[str, dict[str, int]] = {}
    for run in experiment.runs:
        for package, version in sorted(run.result.packages.items()):
            counts = versions.setdefault(package, {})
            counts[version] = counts.get(version, 0) + 1
    return "; ".join(
        f"{package} " + ", ".join(f"{version} ({n} runs)" for version, n in sorted(counts.items()))
        for package, counts in sorted(versions.items()) if len(counts) > 1
    )


CELL_NOTE = "Cells: mean ± sample std (ddof=1) over seeds of each run's mean over queries (no ± with one seed)."


def paired(a: MethodRuns, b: MethodRuns, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Seed-averaged per-query values of two groups, paired by query_id (shared queries only)."""
    x_values, y_values, _ = paired_clusters(a, b, metric)
    return x_values, y_values


def paired_clusters(a: MethodRuns, b: MethodRuns, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``paired`` plus the cluster (query text) of each pair, or None when either group stored no query text."""
    x, y = a.per_query(metric), b.per_query(metric)
    ids, x_values, y_values = pair_by_query(x.index.to_numpy(), x.to_numpy(), y.index.to_numpy(), y.to_numpy())
    texts = a.clusters() if a.clusters() is not None and b.clusters() is not None else None
    if texts is None:
        return x_values, y_values, None
    return x_values, y_values, align_labels(ids, texts.index.to_numpy(), texts.to_numpy())
