"""Parity of two result directories whose runs differ in one setting only (by default: precision).

``grbench parity A B`` answers "does bf16 change any number of the tables?" (issue #17): the same profile run
twice, once with ``sft.precision=bf16`` and ``preference.precision=bf16``, is compared cell by cell.

1. ``pair_runs``: a run of A and a run of B are twins when their experiment, variant and resolved configuration
   (run.json ``config``) agree once the ``ignore``d settings (dotted paths, default ``PRECISION_KEYS``) are
   removed: the same method, seed, dataset, budget and everything else. Runs without a twin are listed.
2. ``compare_cells``: per table cell (experiment, variant, method) and metric, each side's per-query values
   pooled over its paired seeds (``benchmark.stats.pool_seeds``, as the tables do), paired by query id, and
   tested with the tables' paired permutation test (signs flipped per query-text cluster when both sides
   stored the texts), plus a paired t-test, a Wilcoxon signed-rank test and a bootstrap 95% CI of the mean
   difference B - A. The permutation p-values of every (cell, metric) are Holm-adjusted as one family, so
   "some metric differs" is a claim about the whole comparison at level ``alpha``.
3. The verdict: parity holds when no Holm-adjusted p-value is below ``alpha``.

A per-query test holds the two trained models fixed: it asks whether these two checkpoints rank differently,
not whether precision moves a method's expected score. Training amplifies any perturbation (a last-bit
difference of a kernel, another CPU: ``benchmark.reproduce``), so two fp32 trainings that differ in nothing
but rounding can differ "significantly" per query too. Each row therefore also carries the seed-level view:
the sample std of A's run means over seeds (the run-to-run spread a reader of the tables already accepts),
whether |B - A| lies within it, and the paired t-test over seeds (``benchmark.stats.seed_level_test``; needs
2+ seeds). Read a significant per-query difference that lies within the seed spread as "another training
trajectory", not as a precision effect.

Only queries both sides scored (in every paired seed) are tested; the count is in each row.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.artifacts import hash_json
from benchmark.errors import BenchmarkError
from benchmark.results import StoredRun
from benchmark.stats import (
    align_labels,
    bootstrap_ci,
    holm,
    pair_by_query,
    paired_permutation_test,
    paired_t_test,
    pool_seeds,
    seed_level_test,
    seed_summary,
    wilcoxon_test,
)

PRECISION_KEYS = ("sft.precision", "preference.precision")


@dataclasses.dataclass(frozen=True)
class RunPair:
    """Twin runs: ``a`` from the first directory, ``b`` from the second."""

    a: StoredRun
    b: StoredRun

    @property
    def cell(self) -> tuple[str, str, str]:
        from benchmark.tables.collect import variant_key

        r = self.a.result
        return (r.experiment, variant_key(r.variant), r.method)


@dataclasses.dataclass(frozen=True)
class ParityRow:
    """One metric of one table cell: means over the paired queries, B - A, and the paired tests."""

    experiment: str
    variant: str  # JSON of the run's variant ("{}" for none)
    method: str
    metric: str
    seeds: tuple[int, ...]
    n_queries: int  # paired queries tested: scored on both sides in every paired seed
    equal_queries: int  # queries whose (pooled) values are bitwise equal on both sides
    mean_a: float
    mean_b: float
    ci_low: float  # bootstrap 95% CI of mean(B - A)
    ci_high: float
    p_permutation: float
    p_holm: float
    p_t: float
    p_wilcoxon: float
    seed_std_a: float  # sample std over seeds of A's run means (NaN with one seed)
    p_seeds: float  # paired t-test over seeds of the run means (NaN with < 2 seeds or constant differences)

    @property
    def diff(self) -> float:
        return self.mean_b - self.mean_a

    @property
    def within_seed_spread(self) -> bool | None:
        """|B - A| <= A's seed std; None with one seed (nobody can tell)."""
        return None if math.isnan(self.seed_std_a) else abs(self.diff) <= self.seed_std_a


@dataclasses.dataclass(frozen=True)
class ParityReport:
    rows: tuple[ParityRow, ...]
    pairs: int
    unpaired_a: tuple[str, ...]  # run ids of A without a twin in B
    unpaired_b: tuple[str, ...]
    ignored: tuple[str, ...]  # the dotted settings the twins may differ in
    differing: dict[str, list[Any]]  # ignored setting -> the distinct (A value, B value) pairs seen
    alpha: float

    @property
    def significant(self) -> tuple[ParityRow, ...]:
        return tuple(r for r in self.rows if r.p_holm < self.alpha)

    @property
    def parity(self) -> bool:
        """No metric of any cell differs significantly (Holm over the whole family)."""
        return not self.significant


# ------------------------------------------------------------------------------------------------ pairing
def _split_path(path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise BenchmarkError(f"ignored setting {path!r} must be a dotted path such as 'preference.precision'.")
    return parts


def _lookup(config: dict, parts: Sequence[str]) -> Any:
    node: Any = config
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _without(config: dict, paths: Sequence[str]) -> dict:
    """``config`` with every dotted path of ``paths`` removed (absent paths are fine)."""
    out = copy.deepcopy(config)
    for path in paths:
        *parents, leaf = _split_path(path)
        node = _lookup(out, parents) if parents else out
        if isinstance(node, dict):
            node.pop(leaf, None)
    return out


def twin_key(run: StoredRun, ignore: Sequence[str] = PRECISION_KEYS) -> str:
    """What a twin must share: experiment, variant and the resolved configuration without ``ignore``."""
    r = run.result
    return hash_json([r.experiment, dict(r.variant), _without(dict(r.config), ignore)])


def pair_runs(runs_a: Sequence[StoredRun], runs_b: Sequence[StoredRun], ignore: Sequence[str] = PRECISION_KEYS,
              ) -> tuple[list[RunPair], list[str], list[str]]:
    """Twin runs of A and B (``twin_key``), and the run ids of each side left without a twin.

    Raises BenchmarkError when one side holds two runs with one key (then the pairing would be ambiguous).
    """
    def index(runs: Sequence[StoredRun], side: str) -> dict[str, StoredRun]:
        out: dict[str, StoredRun] = {}
        for run in runs:
            key = twin_key(run, ignore)
            if key in out:
                raise BenchmarkError(f"{side} holds two runs that differ only in {list(ignore)}: "
                                     f"{out[key].result.run_id} and {run.result.run_id}; compare them directly.")
            out[key] = run
        return out

    a, b = index(runs_a, "A"), index(runs_b, "B")
    pairs = [RunPair(a[k], b[k]) for k in sorted(set(a) & set(b), key=lambda k: a[k].result.run_id)]
    return (pairs, sorted(a[k].result.run_id for k in set(a) - set(b)),
            sorted(b[k].result.run_id for k in set(b) - set(a)))


def differing_settings(pairs: Sequence[RunPair], ignore: Sequence[str]) -> dict[str, list[Any]]:
    """For each ignored setting, the distinct (A, B) value pairs the twins show where they differ."""
    seen: dict[str, list[Any]] = {}
    for pair in pairs:
        for path in ignore:
            parts = _split_path(path)
            va, vb = _lookup(dict(pair.a.result.config), parts), _lookup(dict(pair.b.result.config), parts)
            if va != vb and [va, vb] not in seen.setdefault(path, []):
                seen[path].append([va, vb])
    return {k: v for k, v in seen.items() if v}


# ------------------------------------------------------------------------------------------------ tests
def _pooled(runs: Sequence[StoredRun], metric: str) -> tuple[np.ndarray, np.ndarray]:
    frames = [run.per_query() for run in runs]
    return pool_seeds([f["query_id"].to_numpy() for f in frames], [f[metric].to_numpy() for f in frames])


def _query_texts(runs: Sequence[StoredRun]) -> tuple[np.ndarray, np.ndarray] | None:
    frame = runs[0].per_query()
    if "query" not in frame.columns:
        return None
    return frame["query_id"].to_numpy(), frame["query"].astype(str).to_numpy()


def _seed_level(pairs: Sequence[RunPair], metric: str) -> dict[str, float]:
    means_a = [p.a.result.metrics[metric] for p in pairs]
    means_b = [p.b.result.metrics[metric] for p in pairs]
    return {"seed_std_a": seed_summary(means_a).std, "p_seeds": seed_level_test(means_b, means_a).pvalue_t}


def compare_cells(pairs: Sequence[RunPair], metrics: Sequence[str] | None = None, *, n_resamples: int = 10_000,
                  seed: int = 0) -> list[ParityRow]:
    """One ``ParityRow`` per (cell, metric) over the twins ``pairs`` (module docstring), Holm over all rows.

    metrics: the metrics to test (each must be stored by every run of the cells); None = every metric both
    sides of a cell store.
    """
    cells: dict[tuple[str, str, str], list[RunPair]] = {}
    for pair in pairs:
        cells.setdefault(pair.cell, []).append(pair)
    raw: list[dict[str, Any]] = []
    for (experiment, variant, method), cell_pairs in sorted(cells.items()):
        runs_a, runs_b = [p.a for p in cell_pairs], [p.b for p in cell_pairs]
        available = set.intersection(*(set(r.per_query().columns) for r in runs_a + runs_b)) - {"query_id"}
        wanted = list(metrics) if metrics is not None else sorted(
            m for m in available if all(m in r.result.metrics for r in runs_a + runs_b))
        texts_a, texts_b = _query_texts(runs_a), _query_texts(runs_b)
        for metric in wanted:
            if metric not in available:
                raise BenchmarkError(f"metric {metric!r} is not stored by every run of {method} ({experiment}); "
                                     f"stored by all: {', '.join(sorted(available)) or 'none'}.")
            ids, a, b = pair_by_query(*_pooled(runs_a, metric), *_pooled(runs_b, metric))
            if ids.size == 0:
                raise BenchmarkError(f"the twins of {method} ({experiment}) share no query ids: they were not "
                                     f"evaluated on the same split.")
            clusters = (align_labels(ids, *texts_a) if texts_a is not None and texts_b is not None else None)
            ci = bootstrap_ci(b, a, n_resamples=n_resamples, seed=seed)
            raw.append({
                "experiment": experiment, "variant": variant, "method": method, "metric": metric,
                "seeds": tuple(sorted(int(p.a.result.seed) for p in cell_pairs)),
                "n_queries": int(ids.size),
                "equal_queries": int(np.count_nonzero(a == b)),
                "mean_a": float(a.mean()), "mean_b": float(b.mean()), "ci_low": ci.low, "ci_high": ci.high,
                "p_permutation": paired_permutation_test(b, a, n_resamples=n_resamples, seed=seed,
                                                         clusters=clusters).pvalue,
                "p_t": paired_t_test(b, a).pvalue, "p_wilcoxon": wilcoxon_test(b, a).pvalue,
                **_seed_level(cell_pairs, metric),
            })
    adjusted = holm([r["p_permutation"] for r in raw]) if raw else []
    return [ParityRow(**r, p_holm=float(p)) for r, p in zip(raw, adjusted)]


def parity(runs_a: Sequence[StoredRun], runs_b: Sequence[StoredRun], *, ignore: Sequence[str] = PRECISION_KEYS,
           metrics: Sequence[str] | None = None, alpha: float = 0.05, n_resamples: int = 10_000,
           seed: int = 0) -> ParityReport:
    """Pair A's and B's runs that differ only in ``ignore`` and test every cell's metrics (module docstring).

    Raises BenchmarkError when no run has a twin (nothing would be compared).
    """
    if not 0.0 < alpha < 1.0:
        raise BenchmarkError(f"The 'alpha' parameter of parity must be a float in the range (0, 1). Got {alpha}.")
    pairs, lone_a, lone_b = pair_runs(runs_a, runs_b, ignore)
    if not pairs:
        raise BenchmarkError(
            f"no run of A ({len(runs_a)} runs) has a twin in B ({len(runs_b)} runs) that differs only in "
            f"{list(ignore)}: were both made with the same profile and overrides but those?")
    rows = compare_cells(pairs, metrics, n_resamples=n_resamples, seed=seed)
    return ParityReport(tuple(rows), len(pairs), tuple(lone_a), tuple(lone_b), tuple(ignore),
                        differing_settings(pairs, ignore), alpha)


# ------------------------------------------------------------------------------------------------ report
def _num(value: float, spec: str = ".4f") -> str:
    return "nan" if math.isnan(value) else format(value, spec)


def format_report(report: ParityReport, name_a: str = "A", name_b: str = "B") -> str:
    """The per-cell, per-metric table and the verdict."""
    lines = [f"A = {name_a}", f"B = {name_b}"]
    settings = "; ".join(f"{k}: " + ", ".join(f"{va} -> {vb}" for va, vb in v)
                         for k, v in report.differing.items()) or "none (the twins' configurations are identical)"
    lines.append(f"{report.pairs} twin runs (same configuration except {', '.join(report.ignored)}); differing: "
                 f"{settings}")
    for side, lone in (("A", report.unpaired_a), ("B", report.unpaired_b)):
        if lone:
            lines.append(f"{len(lone)} run(s) of {side} without a twin, not compared: {', '.join(lone)}")
    width = max((len(r.metric) for r in report.rows), default=6)
    label = max((len(_cell_label(r)) for r in report.rows), default=4)
    lines.append(f"{'cell':<{label}}  {'metric':<{width}}  {'A':>8}  {'B':>8}  {'B - A':>8}  {'95% CI':>19}  "
                 f"{'perm p':>8}  {'Holm p':>8}  {'t p':>8}  {'Wilc. p':>8}  {'equal q':>9}  {'seed std A':>10}  "
                 f"{'seeds p':>8}")
    for r in report.rows:
        flag = "  *" if r.p_holm < report.alpha else ""
        spread = "" if r.within_seed_spread is None else (" (within)" if r.within_seed_spread else " (outside)")
        lines.append(
            f"{_cell_label(r):<{label}}  {r.metric:<{width}}  {_num(r.mean_a):>8}  {_num(r.mean_b):>8}  "
            f"{_num(r.diff, '+.4f'):>8}  [{_num(r.ci_low, '+.4f')}, {_num(r.ci_high, '+.4f')}]  "
            f"{_num(r.p_permutation, '.3g'):>8}  {_num(r.p_holm, '.3g'):>8}  {_num(r.p_t, '.3g'):>8}  "
            f"{_num(r.p_wilcoxon, '.3g'):>8}  {f'{r.equal_queries}/{r.n_queries}':>9}  "
            f"{_num(r.seed_std_a):>10}  {_num(r.p_seeds, '.3g'):>8}{flag}{spread if flag else ''}")
    lines.append("")
    if report.parity:
        lines.append(f"PARITY: no metric of the {len(report.rows)} (cell, metric) tests differs significantly "
                     f"(paired permutation test, Holm-adjusted over all of them, alpha {report.alpha:g})")
    else:
        lines.append(f"DIFFERS: {len(report.significant)} of {len(report.rows)} (cell, metric) tests differ "
                     f"significantly (Holm-adjusted p < {report.alpha:g}, marked *): "
                     + ", ".join(f"{_cell_label(r)} {r.metric}" for r in report.significant))
        within = [r for r in report.significant if r.within_seed_spread]
        unknown = [r for r in report.significant if r.within_seed_spread is None]
        lines.append(f"  of these, {len(within)} lie within A's seed spread (|B - A| <= the std of A's run means "
                     f"over seeds: another training trajectory, as a rerun on another machine gives)"
                     + (f"; {len(unknown)} have one seed (the spread is unknown)" if unknown else ""))
    return "\n".join(lines)


def _cell_label(row: ParityRow) -> str:
    variant = "" if row.variant in ("{}", "") else f" {row.variant}"
    return f"{row.experiment}/{row.method}{variant} s{','.join(map(str, row.seeds))}"


def report_rows(report: ParityReport) -> list[dict[str, Any]]:
    """One row per (cell, metric), for a CSV or JSON beside the results."""
    return [{**dataclasses.asdict(r), "seeds": list(r.seeds), "diff": r.diff,
             "significant": r.p_holm < report.alpha, "within_seed_spread": r.within_seed_spread}
            for r in report.rows]
