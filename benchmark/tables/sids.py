"""How items get their IDs (issue #16, beyond the paper): each SID builder under the same SFT budget (and the same
methods on top), on the ordered item's HR@10, MRR, NDCG@10, the rank-1 hallucination rate and the collision rate
of the builder's catalog, then HR@10 on the test queries whose ordered item is a head, torso or tail item
(terciles of training clicks, ``benchmark.sids.buckets``) or a cold-start item held out of all training
(``benchmark.sids.coldstart``; the experiment's ``sid_builders.cold_start``): the run's per-query ``target_bucket``.

The retrieval baselines come first, in their own section (no builder: they rank items into the default catalog,
fitted on the same cold-start split), then one section per builder, one row per method (the untrained
``sft-start`` first). † marks a cell that differs from
the ``rqkmeans`` row of the same method (paired permutation test on the per-query values of the cell's queries:
all of them, or those of one bucket), Holm-corrected over the whole table. The collision rate is a property of the
catalog, not of the queries: it is read from each run's run.json (``catalog``, recorded by the suite) and never
tested.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from benchmark.results.schema import TARGET_BUCKETS
from benchmark.stats import seed_summary
from benchmark.tables.collect import CELL_NOTE, ExperimentRuns, MethodRuns, describe_runs
from benchmark.tables.markers import (
    SFT_MARK,
    Comparison,
    SignificanceConfig,
    rank_emphasis,
    run_comparisons,
    significance_legend,
)
from benchmark.tables.render import Cell, Column, Row, Table, figure_png, metric_column, new_figure
from benchmark.tables.table1 import BASELINE_SECTION, method_label, retrieval_rows

METRICS = ("target_hit@10", "target_mrr", "target_ndcg@10", "halluc@1")
BUCKET_METRIC = "target_hit@10"
COLLISION = "catalog:collision_rate"
BEAM = "beam:reference_sid_recall"
SID_MRR = "target_sid_mrr"
REFERENCE = "rqkmeans"  # † against this builder's row of the same method
BUILDER_ORDER = ("rqkmeans", "dualtower", "sci", "sarq", "acrq", "cqsid")
BUILDER_LABELS = {"rqkmeans": "RQ-KMeans", "dualtower": "Dual tower", "sci": "SCI", "sarq": "SARQ (variable length)",
                  "acrq": "ACRQ", "cqsid": "CQ-SID"}
METHOD_ORDER = ("sft", "raddpo")
BUCKET_GROUP = "HR@10 per target bucket"
RETRIEVAL = "retrieval"  # the row-key prefix of the retrieval baselines (no builder)


def bucket_key(bucket: str) -> str:
    return f"{BUCKET_METRIC}:{bucket}"


@dataclasses.dataclass(frozen=True)
class BucketRuns(MethodRuns):
    """``MethodRuns`` restricted to the test queries whose ordered item falls in ``bucket`` (the stored
    ``target_bucket`` column): its summaries and per-query arrays, hence its tests, see those queries only."""

    bucket: str = "head"

    def has(self, metric: str) -> bool:
        """The metric is stored, with buckets, and every run has queries in the bucket (runs trained without
        cold-start items have no ``cold`` query: that cell is empty, not an untestable comparison)."""
        return (super().has(metric) and all(_has_buckets(run) for run in self.runs)
                and all(len(self._run_frame(i)) for i in range(len(self.runs))))

    def summary(self, metric: str):
        """Mean and std over seeds of each run's mean over the bucket's queries; None when a run has none."""
        if not self.has(metric):
            return None
        frames = [self._run_frame(i) for i in range(len(self.runs))]
        if any(len(f) == 0 for f in frames):
            return None
        return seed_summary([float(f[metric].mean()) for f in frames])

    def _run_frame(self, index: int) -> pd.DataFrame:
        key = ("bucket", index)
        if key not in self._frames:
            frame = super()._run_frame(index)
            self._frames[key] = frame[frame["target_bucket"] == self.bucket]
        return self._frames[key]


def _has_buckets(run) -> bool:
    # the parquet schema only: no per-query data is read for this
    return "target_bucket" in pq.read_schema(run.path / run.result.files["per_query"]).names


def _rows(experiment: ExperimentRuns) -> list[tuple[str, str, str, MethodRuns]]:
    """(row key "builder/method", builder, method, runs) in table order: the retrieval baselines (runs without a
    builder variant; key "retrieval/method") in Table 1's order, then builders as BUILDER_ORDER then by name;
    within a builder the rows that train nothing, then METHOD_ORDER, then other methods by name."""
    out = [(f"{RETRIEVAL}/{method}", RETRIEVAL, method, group)
           for method in retrieval_rows(experiment.methods()) if (group := experiment.get(method)) is not None]
    builders = sorted({str(v.get("builder")) for v in experiment.variants() if "builder" in v},
                      key=lambda b: (BUILDER_ORDER.index(b) if b in BUILDER_ORDER else len(BUILDER_ORDER), b))
    methods = {m: i for i, m in enumerate(METHOD_ORDER)}
    for builder in builders:
        groups = [(m, g) for m in experiment.methods() for g in [experiment.get(m, {"builder": builder})] if g is not None]
        groups.sort(key=lambda t: (_trained(t[1]), methods.get(t[0], len(METHOD_ORDER)), t[0]))
        out += [(f"{builder}/{method}", builder, method, group) for method, group in groups]
    return out


def _trained(group: MethodRuns) -> bool:
    return any(run.result.budget.optimizer_steps > 0 for run in group.runs)


def _collision(group: MethodRuns) -> Cell:
    """The catalog's collision rate: one value per run (the same catalog for every seed of a builder unless its
    seed changes it); missing when a run stored no catalog statistics."""
    values = [(run.result.catalog or {}).get("collision_rate") for run in group.runs]
    if not values or any(v is None for v in values):
        return Cell()
    summary = seed_summary([float(v) for v in values])
    return Cell(value=summary.mean, std=summary.std, n_seeds=summary.n_seeds)


def target_sid_ranks(group: MethodRuns, index: int) -> np.ndarray:
    """(Q,) rank of the ordered item's SID in run ``index``'s beam (1 = first), ``inf`` when the beam missed it:
    the reciprocal of the stored per-query SID MRR, which is exactly 1 / rank."""
    mrr = group._run_frame(index)[SID_MRR].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(mrr > 0, np.rint(1.0 / np.where(mrr > 0, mrr, 1.0)), np.inf)


def beam_to_match(ranks: np.ndarray, goal: float) -> float | None:
    """The smallest K whose share of queries with rank <= K reaches ``goal``; None when no K within the beam does.

    By hand: ranks [1, 3, inf, 2], goal 0.5 -> 2 (ranks <= 2: 2 of 4); goal 0.75 -> 3; goal 1.0 -> None."""
    finite = np.sort(ranks[np.isfinite(ranks)])
    need = math.ceil(goal * len(ranks) - 1e-9)
    if need <= 0:
        return 1.0
    return None if need > len(finite) else float(finite[need - 1])


def _beam_cell(group: MethodRuns, reference: MethodRuns | None) -> Cell:
    """The beam width this row needs for the reference row's SID HR at the full beam (same method and seed): per
    seed, the smallest K such that the row's target-SID rank <= K on at least that share of queries; mean over
    seeds. Empty when a seed never reaches it within its beam (the note says so) or runs lack the SID MRR."""
    if reference is None or not (group.has(SID_MRR) and reference.has(SID_MRR)):
        return Cell()
    goal_by_seed = {run.result.seed: float(np.isfinite(target_sid_ranks(reference, i)).mean())
                    for i, run in enumerate(reference.runs)}
    widths = []
    for i, run in enumerate(group.runs):
        if run.result.seed not in goal_by_seed:
            return Cell()
        widths.append(beam_to_match(target_sid_ranks(group, i), goal_by_seed[run.result.seed]))
    if any(w is None for w in widths):
        return Cell()
    summary = seed_summary(widths)
    return Cell(value=summary.mean, std=summary.std, n_seeds=summary.n_seeds)


def build_sids_table(experiment: ExperimentRuns, significance: SignificanceConfig) -> Table:
    dataset = experiment.single("dataset")
    model_size = experiment.single("model_size")
    metric_columns = tuple(metric_column(m) for m in METRICS)
    collision = Column(COLLISION, "Collision", "Catalog", lower_is_better=True)
    beam = Column(BEAM, "Beam for RQ SID HR", "Catalog", decimals=1, lower_is_better=True)
    bucket_columns = tuple(Column(bucket_key(b), b.capitalize(), BUCKET_GROUP) for b in TARGET_BUCKETS)
    columns = (*metric_columns, collision, beam, *bucket_columns)
    rows = _rows(experiment)
    # the runs behind each tested column: all queries, or one bucket's
    cells: dict[tuple[str, str], MethodRuns] = {}
    for key, _, _, group in rows:
        for column in metric_columns:
            cells[(key, column.key)] = group
        for bucket in TARGET_BUCKETS:
            cells[(key, bucket_key(bucket))] = BucketRuns(group.method, group.variant, group.runs, bucket=bucket)
    tested = [*metric_columns, *bucket_columns]
    comparisons = []
    for key, builder, method, _ in rows:
        anchor_key = f"{REFERENCE}/{method}"
        if builder in (REFERENCE, RETRIEVAL) or (anchor_key, METRICS[0]) not in cells:
            continue
        for column in tested:
            metric = column.key.split(":", 1)[0]
            treatment, control = cells[(key, column.key)], cells[(anchor_key, column.key)]
            if treatment.has(metric) and control.has(metric):
                comparisons.append(Comparison(key, column.key, SFT_MARK, treatment, control, metric))
    tests = run_comparisons(comparisons, significance)
    # rows sharing a query text are not independent: the tests flip signs per query (as Table 1 under protocol 2)
    clustered = bool(rows) and all(group.clusters() is not None for *_, group in rows)

    values: dict[tuple[str, str], Cell] = {}
    groups = {key: group for key, *_, group in rows}
    for key, _, method, group in rows:
        values[(key, COLLISION)] = _collision(group)
        values[(key, BEAM)] = _beam_cell(group, groups.get(f"{REFERENCE}/{method}"))
        for column in tested:
            summary = cells[(key, column.key)].summary(column.key.split(":", 1)[0])
            marks, pvalues = tests.cell(key, column.key)
            values[(key, column.key)] = Cell(
                value=None if summary is None else summary.mean, std=None if summary is None else summary.std,
                n_seeds=0 if summary is None else summary.n_seeds, marks=marks, pvalues=pvalues)
    for column in columns:
        ranked = rank_emphasis([values[(key, column.key)].value for key, *_ in rows], column.decimals,
                               column.lower_is_better)
        for (key, *_), mark in zip(rows, ranked):
            values[(key, column.key)] = dataclasses.replace(values[(key, column.key)], emphasis=mark)
    table_rows = tuple(
        Row(method_label(method), tuple(values[(key, c.key)] for c in columns), key=key,
            section=BASELINE_SECTION if builder == RETRIEVAL else BUILDER_LABELS.get(builder, builder))
        for key, builder, method, _ in rows
    )
    notes = [
        f"Dataset {dataset}, model size {model_size}. {describe_runs(experiment)} {CELL_NOTE}",
        "Every builder gets its own SID catalog and SFT checkpoint, trained with the same SFT budget; the methods "
        "below it start from that checkpoint with the same preference budget. SFT start: the SFT checkpoint itself "
        "(no preference stage).",
        _retrieval_note(rows),
        "Collision: the share of catalog items whose SID holds more than one item (run.json `catalog`, recorded "
        "when the run was computed; a property of the catalog, not tested).",
        "Beam for RQ SID HR: the beam width this row needs to find the ordered item's SID as often as the RQ-KMeans "
        "row of the same method and seed does with the full beam: the smallest K with the row's SID rank <= K on "
        "that share of queries (ranks within the stored full-width beam; a narrower beam search can rank a little "
        "differently), mean over seeds; empty when the full beam never gets there. Not tested.",
        _bucket_note(rows),
        _cold_note(rows),
        "Bold: best, underline: second best per column over all rows (lowest for hallucination and collision), "
        "compared as printed.",
        significance_legend(significance, "the RQ-KMeans row of the same method (per bucket: on that bucket's "
                            "queries)", None, clustered=clustered),
        "Beyond the paper: the builders other than RQ-KMeans follow the documented ideas of their papers "
        "(benchmark/sids/builders.py and their config docstrings name every choice); SARQ's SIDs have 1 to L codes.",
    ]
    if tests.skipped:
        notes.append(f"Not tested ({len(tests.skipped)}): " + "; ".join(tests.skipped) + ".")
    return Table(name="sids", title=f"SID builders on {dataset}", stub_header="Builder / method", columns=columns,
                 rows=table_rows, notes=tuple(note for note in notes if note))


def _retrieval_note(rows: list[tuple[str, str, str, MethodRuns]]) -> str:
    """What the retrieval rows are and are not compared with; empty when the table has none."""
    if not any(builder == RETRIEVAL for _, builder, *_ in rows):
        return ""
    return (f"{BASELINE_SECTION}: fitted on the same training split as every builder's runs (cold items held out "
            "of their training, kept in their index), ranking items into the RQ-KMeans catalog (its collision "
            "rate); no beam width and no † (they have no RQ-KMeans row of their own).")


def _bucket_note(rows: list[tuple[str, str, str, MethodRuns]]) -> str:
    """How the buckets are defined and how many test queries each holds (from the first run that stored them)."""
    definition = ("Buckets: the ordered item's terciles of training clicks among the items that are not cold "
                  "(head, torso, tail; ties share a bucket, items never clicked in training are tail), or cold (a "
                  "cold-start item), stored per test query as `target_bucket`.")
    runs = [run for *_, group in rows for run in group.runs]
    with_buckets = [run for run in runs if _has_buckets(run)]
    if not with_buckets:
        return definition + " No run stored them (runs computed before the column existed): bucket cells are empty."
    counts = with_buckets[0].per_query()["target_bucket"].value_counts()
    sizes = ", ".join(f"{b} {int(counts.get(b, 0))}" for b in TARGET_BUCKETS)
    note = f"{definition} Test queries per bucket: {sizes}."
    if len(with_buckets) < len(runs):
        note += f" {len(runs) - len(with_buckets)} of {len(runs)} runs stored no buckets (their cells are empty)."
    return note


def _cold_note(rows: list[tuple[str, str, str, MethodRuns]]) -> str:
    """The cold-start setting the runs were trained with (run.json ``config.cold_start``), or that none was."""
    settings = {_json_key(run.result.config.get("cold_start")) for *_, group in rows for run in group.runs}
    if not settings or settings == {_json_key(None)}:
        return "Cold: no cold-start items (the runs trained on every item); cold cells are empty."
    if len(settings) > 1:
        return "Cold: the runs differ in their cold-start setting (run.json `config.cold_start`); compare with care."
    run = next(run for *_, group in rows for run in group.runs)
    share = float(run.result.config["cold_start"]["share"])
    return (f"Cold: a seeded {share:.0%} of the items (the dataset seed, rule "
            f"`{run.result.config['cold_start']['rule']}`, benchmark/sids/coldstart.py) held out of all training: "
            "impressions ordering one dropped, the others stripped of them (never a target, click, negative, "
            "history item, dual-tower pair or popularity count); they keep their text-built SIDs.")


def _json_key(value) -> str:
    return json.dumps(value, sort_keys=True)


def render_sids_png(table: Table) -> bytes:
    """HR@10 per popularity bucket, one bar per builder in each bucket, one panel per method, and a last panel
    with one bar per retrieval baseline; hatched bars differ from RQ-KMeans (†). Drawn with the Agg canvas
    directly and without the "Software" PNG chunk, so the bytes depend only on the table and the matplotlib
    version."""
    index = {c.key: i for i, c in enumerate(table.columns)}
    # panels: (title, [(colour, bar label, row)]), one per method over the builders, then the retrieval baselines;
    # a builder keeps its colour in every panel (by its first appearance); the retrievers have colours of their own
    colors = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#ff7f0e")
    retriever_colors = ("#7f7f7f", "#17becf", "#bcbd22", "#e377c2")
    panels: dict[str, tuple[str, list[tuple[str, str, Row]]]] = {}
    retrieval: list[tuple[str, str, Row]] = []
    builders: list[str] = []
    for row in table.rows:
        builder, method = row.key.split("/", 1)
        if builder == RETRIEVAL:
            retrieval.append((retriever_colors[len(retrieval) % len(retriever_colors)], row.label, row))
            continue
        if builder not in builders:
            builders.append(builder)
        color = colors[builders.index(builder) % len(colors)]
        panels.setdefault(method, (row.label, []))[1].append((color, row.section, row))
    panel_list = list(panels.values()) + ([(BASELINE_SECTION, retrieval)] if retrieval else [])
    figure = new_figure(3.6 * max(1, len(panel_list)) + 0.6, 3.2)
    axes = np.atleast_1d(figure.subplots(1, max(1, len(panel_list)), sharey=True))
    positions = np.arange(len(TARGET_BUCKETS), dtype=np.float64)
    tallest = 0.0
    for ax, (title, bars_of) in zip(axes, panel_list):
        width = 0.8 / max(1, len(bars_of))
        for i, (color, bar_label, row) in enumerate(bars_of):
            cells = [row.cells[index[bucket_key(b)]] for b in TARGET_BUCKETS]
            heights = [0.0 if c.value is None else c.value for c in cells]
            errors = [0.0 if c.std is None or math.isnan(c.std) else c.std for c in cells]
            x = positions - 0.4 + width * (i + 0.5)
            bars = ax.bar(x, heights, width, yerr=errors, color=color, label=bar_label,
                          error_kw={"linewidth": 0.8})
            tallest = max(tallest, *(h + e for h, e in zip(heights, errors)))
            for bar, cell in zip(bars, cells):
                if cell.marks:
                    bar.set_hatch("//")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ordered item's bucket (hatched: † against RQ-KMeans)", fontsize=8)
        ax.set_xticks(positions, list(TARGET_BUCKETS))
        ax.tick_params(labelsize=8)
        ax.grid(True, axis="y", color="#eeeeee", linewidth=0.6)
        if bars_of is retrieval and ax is not axes[0]:  # the first panel's legend (below) names the builders
            ax.legend(fontsize=7, frameon=False, loc="upper right")
    axes[0].set_ylabel("HR@10 of the ordered item", fontsize=9)
    axes[0].set_ylim(0.0, max(tallest, 0.05) * 1.45)  # shared: headroom so the legends clear the tallest bars
    return figure_png(figure, legend_from=axes[0], fontsize=8)
