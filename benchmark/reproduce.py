"""Rerun stored runs in this environment and say whether the tables' conclusions still hold.

Reruns on one machine are bitwise identical, but training amplifies the last-bit differences between CPUs,
kernel dispatch levels, thread counts and library releases: a fresh clone elsewhere moved quick-profile cells
by up to 0.075 while the tables marked differences of 0.0001 as significant. ``compare`` puts each rerun
beside its stored twin (same run id, so the same resolved configuration):

- per run: how many per-query rows are bitwise identical, and per metric the stored value, the rerun value,
  the difference and whether it lies within the seed spread of that cell (sample std over the stored seeds;
  with one seed nobody can tell, and the report says so);
- per table: every significance mark (against SFT, the strongest non-learned baseline, the lookup table),
  recomputed with the reruns in place of their stored twins. The conclusions hold when no mark changes.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterable, Sequence

import numpy as np

from benchmark.results import StoredRun
from benchmark.tables import SignificanceConfig, experiment_tables
from benchmark.tables.collect import ExperimentRuns, variant_key

IDENTICAL = "identical"
WITHIN = "within seed spread"
OUTSIDE = "OUTSIDE seed spread"
ONE_SEED = "1 seed: cannot tell"


@dataclasses.dataclass(frozen=True)
class MetricDrift:
    """One metric of one run: stored and rerun means over queries, and the cell's seed spread."""

    metric: str
    committed: float
    rerun: float
    seed_std: float | None  # sample std over the stored seeds of the cell; None with one seed

    @property
    def diff(self) -> float:
        return self.rerun - self.committed

    @property
    def verdict(self) -> str:
        if self.rerun == self.committed:
            return IDENTICAL
        if self.seed_std is None:
            return ONE_SEED
        return WITHIN if abs(self.diff) <= self.seed_std else OUTSIDE


@dataclasses.dataclass(frozen=True)
class RunDrift:
    run_id: str
    identical_rows: int  # per-query rows whose every metric is bitwise equal
    n_rows: int  # queries scored by both
    metrics: tuple[MetricDrift, ...]


@dataclasses.dataclass(frozen=True)
class MarkChange:
    """A table cell whose significance marks differ once the reruns replace the stored runs."""

    table: str
    row: str
    column: str
    committed: str
    rerun: str


@dataclasses.dataclass(frozen=True)
class ReproduceReport:
    runs: tuple[RunDrift, ...]
    marks_compared: int
    mark_changes: tuple[MarkChange, ...]
    # tables rendered from one side only (e.g. seen/unseen tables need a per-query column the other lacks)
    uncompared_tables: tuple[str, ...] = ()

    @property
    def conclusions_hold(self) -> bool:
        return not self.mark_changes

    def verdict_counts(self) -> dict[str, int]:
        counts = {v: 0 for v in (IDENTICAL, WITHIN, OUTSIDE, ONE_SEED)}
        for run in self.runs:
            for metric in run.metrics:
                counts[metric.verdict] += 1
        return counts


def sample_ids(run_ids: Iterable[str], size: int | None, seed: int = 0) -> list[str]:
    """All ids (sorted), or a seeded sample of ``size`` of them (the same sample on every machine)."""
    ids = sorted(run_ids)
    if size is None or size >= len(ids):
        return ids
    return sorted(random.Random(seed).sample(ids, size))


def _cell(run: StoredRun) -> tuple[str, str, str]:
    return (run.result.experiment, variant_key(run.result.variant), run.result.method)


def seed_spread(stored: Sequence[StoredRun], run: StoredRun, metric: str) -> float | None:
    """Sample std (ddof=1) over the stored seeds of ``run``'s cell, or None when the cell has one seed."""
    values = [r.result.metrics[metric] for r in stored if _cell(r) == _cell(run) and metric in r.result.metrics]
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def run_drift(committed: StoredRun, rerun: StoredRun, stored: Sequence[StoredRun]) -> RunDrift:
    """``rerun`` beside its stored twin ``committed``; ``stored`` gives the seed spread of the cell."""
    metrics = sorted(set(committed.result.metrics) & set(rerun.result.metrics))
    old = committed.per_query().set_index("query_id")[metrics]
    new = rerun.per_query().set_index("query_id")[metrics]
    shared = old.index.intersection(new.index)
    # NaN == NaN counts as identical here: bitwise equality of the stored values is the question
    same = (old.loc[shared].to_numpy() == new.loc[shared].to_numpy()) | (
        np.isnan(old.loc[shared].to_numpy()) & np.isnan(new.loc[shared].to_numpy()))
    drifts = tuple(
        MetricDrift(m, committed.result.metrics[m], rerun.result.metrics[m], seed_spread(stored, committed, m))
        for m in metrics
    )
    return RunDrift(committed.result.run_id, int(same.all(axis=1).sum()), int(shared.size), drifts)


def table_marks(runs: Sequence[StoredRun], significance: SignificanceConfig) -> dict[tuple[str, str, str], str]:
    """Every significance-tested cell of every table these runs make: (table, row, column) -> marks."""
    marks: dict[tuple[str, str, str], str] = {}
    for name in sorted({r.result.experiment for r in runs}):
        experiment = ExperimentRuns(name, [r for r in runs if r.result.experiment == name])
        for _, table in experiment_tables(experiment, significance):
            for row in table.rows:
                for column, cell in zip(table.columns, row.cells):
                    if cell.pvalues:
                        marks[(table.name, row.label, column.key)] = cell.marks
    return marks


def compare(stored: Sequence[StoredRun], reruns: Sequence[StoredRun],
            significance: SignificanceConfig | None = None) -> ReproduceReport:
    """Compare every rerun with the stored run of the same id, and the tables' marks with and without them.

    Stored runs that were not rerun (a sample) stay in both tables, so a changed mark is due to the reruns.
    """
    significance = significance or SignificanceConfig()
    by_id = {r.result.run_id: r for r in stored}
    missing = [r.result.run_id for r in reruns if r.result.run_id not in by_id]
    if missing:
        raise ValueError(f"reruns without a stored twin: {', '.join(missing)}")
    drifts = tuple(run_drift(by_id[r.result.run_id], r, stored) for r in sorted(reruns, key=lambda r: r.result.run_id))
    replaced = {r.result.run_id: r for r in reruns}
    mixed = [replaced.get(r.result.run_id, r) for r in stored]
    before, after = table_marks(stored, significance), table_marks(mixed, significance)
    tables_before, tables_after = {k[0] for k in before}, {k[0] for k in after}
    shared = sorted(k for k in set(before) | set(after) if k[0] in tables_before & tables_after)
    changes = tuple(MarkChange(*key, before.get(key, ""), after.get(key, ""))
                    for key in shared if before.get(key, "") != after.get(key, ""))
    return ReproduceReport(drifts, len(shared), changes, tuple(sorted(tables_before ^ tables_after)))


def _number(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.4f}"


def format_report(report: ReproduceReport) -> str:
    """The per-run, per-metric table and the verdict on the tables' significance marks."""
    lines: list[str] = []
    width = max((len(m.metric) for r in report.runs for m in r.metrics), default=6)
    for run in report.runs:
        lines.append(f"{run.run_id}: {run.identical_rows} of {run.n_rows} per-query rows bitwise identical")
        lines.append(f"  {'metric':<{width}}  {'stored':>8}  {'rerun':>8}  {'diff':>8}  {'seed std':>8}  verdict")
        for m in run.metrics:
            std = "-" if m.seed_std is None else f"{m.seed_std:.4f}"
            lines.append(f"  {m.metric:<{width}}  {_number(m.committed):>8}  {_number(m.rerun):>8}  "
                         f"{m.diff:>+8.4f}  {std:>8}  {m.verdict}")
    counts = report.verdict_counts()
    lines.append("")
    if report.uncompared_tables:
        lines.append("not compared (rendered from the stored runs or the reruns only): "
                     + ", ".join(report.uncompared_tables))
    lines.append(f"{len(report.runs)} runs rerun; metric values: " +
                 ", ".join(f"{n} {verdict}" for verdict, n in counts.items()))
    if report.conclusions_hold:
        lines.append(f"significance marks: all {report.marks_compared} tested cells keep their marks: "
                     "every conclusion of the tables holds in this environment")
    else:
        lines.append(f"significance marks: {len(report.mark_changes)} of {report.marks_compared} tested cells "
                     "change: these conclusions do not hold in this environment")
        for change in report.mark_changes:
            lines.append(f"  {change.table} | {change.row} | {change.column}: "
                         f"stored {change.committed or '(none)'} -> rerun {change.rerun or '(none)'}")
    return "\n".join(lines)


def report_rows(report: ReproduceReport) -> list[dict[str, object]]:
    """One row per (run, metric), for a CSV beside the results."""
    return [
        {"run_id": run.run_id, "metric": m.metric, "stored": m.committed, "rerun": m.rerun, "diff": m.diff,
         "seed_std": m.seed_std, "verdict": m.verdict, "identical_rows": run.identical_rows,
         "n_rows": run.n_rows}
        for run in report.runs for m in run.metrics
    ]
