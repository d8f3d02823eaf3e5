"""Table 2: the model-size ladder (xs, s, m, l) x {SFT, DPO, RAD-DPO}, SID-level metrics.

The paper's Table 2 sits alongside as a column group; its backbones 0.6B / 1.7B / 4B / 8B are shown beside
this benchmark's xs / s / m / l by rank on the ladder (results/paper/README.md). Marks within each size: †
against SFT, ‡ (RAD-DPO) against the better of the preference baselines present (DPO here).
"""

from __future__ import annotations

from benchmark.errors import DataError
from benchmark.metrics.registry import SID_METRICS
from benchmark.retrieval import is_retriever
from benchmark.tables.collect import CELL_NOTE, ExperimentRuns, MethodRuns, describe_runs
from benchmark.tables.markers import (
    BASELINE_MARK,
    SFT_MARK,
    Comparison,
    SignificanceConfig,
    rank_emphasis,
    run_comparisons,
    significance_legend,
)
from benchmark.tables.paper import PaperRow
from benchmark.tables.render import Cell, Column, Row, Table, metric_column
from benchmark.tables.table1 import (
    MAIN_METHODS,
    PREFERENCE_BASELINES,
    best_group,
    method_label,
    retrieval_rows,
)

SIZE_ORDER = ("xs", "s", "m", "l")
METRICS = SID_METRICS
TARGET_TABLE2_METRICS = ("target_hit@10", "target_mrr", "target_sid_hit@8", "target_sid_hit@64", "target_sid_mrr")
OURS = "This benchmark"
PAPER = "Paper (reported)"


def _size_order(size: str) -> tuple[int, str]:
    return (SIZE_ORDER.index(size), "") if size in SIZE_ORDER else (len(SIZE_ORDER), size)


def build_table2(
    experiment: ExperimentRuns, significance: SignificanceConfig, paper: dict[tuple[str, str], PaperRow] | None
) -> Table:
    dataset = experiment.single("dataset")
    protocol = experiment.protocol()
    metrics = TARGET_TABLE2_METRICS if protocol >= 2 else METRICS
    paper = paper if protocol < 2 else None  # the paper's relevant-set recall is no target-item metric
    # protocol 2 prints no paper columns, so each column keeps its own family heading (item or SID level)
    columns = [metric_column(metric, OURS) if paper else metric_column(metric) for metric in metrics]
    if paper:
        columns += [Column(f"paper:{c.key}", c.header, PAPER) for c in columns]
    sizes = sorted(experiment.values("model_size"), key=_size_order)
    present = set(experiment.methods())
    # the retrieval baselines first: every trained row is read against them
    retrievers = retrieval_rows(present)
    methods = (retrievers + [m for m in MAIN_METHODS if m in present]
               + sorted(present - set(MAIN_METHODS) - set(retrievers)))

    # (size, method) -> group; runs of one size are one cell block whatever their variant key says
    blocks = {}
    for size in sizes:
        sub = experiment.where(lambda r, size=size: r.result.model_size == size)
        for method in methods:
            variants = [v for v in sub.variants() if sub.get(method, v) is not None]
            if len(variants) == 1:
                blocks[(size, method)] = sub.get(method, variants[0])
            elif variants:
                raise DataError(
                    f"Experiment {experiment.name!r} has runs of {method} at size {size} under several "
                    f"variants {variants}; Table 2 expects one per size."
                )

    comparisons = []
    for size in sizes:
        for metric in metrics:
            sft = blocks.get((size, "sft"))
            baseline = best_group([blocks.get((size, m)) for m in PREFERENCE_BASELINES], metric)
            for method in methods:
                group = blocks.get((size, method))
                if group is None or method == "sft" or is_retriever(method) or not group.has(metric):
                    continue
                row = f"{size}:{method}"
                if sft is not None and sft.has(metric):
                    comparisons.append(Comparison(row, metric, SFT_MARK, group, sft, metric))
                if baseline is not None and method not in PREFERENCE_BASELINES:
                    comparisons.append(Comparison(row, metric, BASELINE_MARK, group, baseline, metric))
    tests = run_comparisons(comparisons, significance)

    rows = []
    for size in sizes:
        present_methods = [m for m in methods if (size, m) in blocks]
        paper_rows = {m: paper[(size, m)] for m in methods if paper and (size, m) in paper}
        section = f"Size {size}"
        if paper_rows:
            section += f" (paper: {next(iter(paper_rows.values())).paper_model})"
        emphasis = {}
        for metric in metrics:
            means = [_mean(blocks[(size, m)], metric) for m in present_methods]
            for method, mark in zip(present_methods, rank_emphasis(means, 4)):
                emphasis[(method, metric)] = mark
        for method in present_methods:
            group = blocks[(size, method)]
            row = f"{size}:{method}"
            cells = []
            for metric in metrics:
                summary = group.summary(metric)
                marks, pvalues = tests.cell(row, metric)
                cells.append(
                    Cell(
                        value=None if summary is None else summary.mean,
                        std=None if summary is None else summary.std,
                        n_seeds=0 if summary is None else summary.n_seeds,
                        emphasis=emphasis[(method, metric)],
                        marks=marks,
                        pvalues=pvalues,
                    )
                )
            if paper:
                values = paper_rows[method].values if method in paper_rows else {}
                cells += [Cell(value=values.get(metric)) for metric in metrics]
            rows.append(Row(method_label(method), tuple(cells), key=row, section=section))

    notes = [
        f"Dataset {dataset}, data protocol {protocol}, "
        f"{'ordered-item metrics' if protocol >= 2 else 'SID-level metrics'}. {describe_runs(experiment)} {CELL_NOTE}",
        "Bold: best, underline: second best per column within each size, compared as printed.",
        significance_legend(
            significance,
            "SFT of the same size",
            "the best of DPO, SimPO and ORPO present at the same size, per column (marked on RAD-DPO)",
        ),
    ]
    if tests.skipped:
        notes.append(f"Not tested ({len(tests.skipped)}): " + "; ".join(tests.skipped) + ".")
    if paper:
        notes.append(
            "Paper columns: the RAD-DPO paper's Table 2 as printed (results/paper/table2.csv), JD.com data. Its "
            "backbones 0.6B / 1.7B / 4B / 8B are placed beside sizes xs / s / m / l by rank on the ladder only; "
            "this benchmark's models are far smaller. Compare directions of effects, not absolute values."
        )
    return Table(
        name="table2",
        title=f"Table 2: model-size ladder on {dataset} "
              f"({'ordered item' if protocol >= 2 else 'SID-level metrics'})",
        stub_header="Method",
        columns=tuple(columns),
        rows=tuple(rows),
        notes=tuple(notes),
    )


def _mean(group: MethodRuns, metric: str) -> float | None:
    summary = group.summary(metric)
    return None if summary is None else summary.mean
