"""Table 1: every method and the RAD-DPO ablations on one dataset (the paper's Table 1 layout).

Rows: SFT, DPO, SimPO, ORPO, RAD-DPO, then "Ablation studies" (w/o TLGD, w/o RDRW, w/o multi-label SFT), then
any other method found in the runs; columns: hallucination rate, item-level R@10/100/500 + MRR, SID-level
R@8/64/128 + MRR. Cells are mean ± std over seeds. Marks: † against SFT, ‡ (RAD-DPO, its ablations and other
methods) against the best of DPO/SimPO/ORPO in that column. The paper's reported rows follow as a block.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.errors import DataError
from benchmark.metrics.registry import TABLE1_METRICS, lower_is_better
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
from benchmark.tables.render import Cell, Row, Table, metric_column

MAIN_METHODS = ("sft", "dpo", "simpo", "orpo", "raddpo")
ABLATIONS = ("raddpo-no-tlgd", "raddpo-no-rdrw", "raddpo-no-mlsft")
PREFERENCE_BASELINES = ("dpo", "simpo", "orpo")
METHOD_LABELS = {
    "sft": "SFT",
    "dpo": "DPO",
    "simpo": "SimPO",
    "orpo": "ORPO",
    "raddpo": "RAD-DPO",
    "raddpo-no-tlgd": "w/o TLGD",
    "raddpo-no-rdrw": "w/o RDRW",
    "raddpo-no-mlsft": "w/o multi-label SFT",
}
ABLATION_SECTION = "Ablation studies"
OTHER_SECTION = "Other methods"

def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def best_group(groups: Sequence[MethodRuns | None], metric: str) -> MethodRuns | None:
    """The group with the best seed-mean on ``metric`` (lower for hallucination); ties go to the first."""
    best: MethodRuns | None = None
    best_value = 0.0
    sign = -1.0 if lower_is_better(metric) else 1.0
    for group in groups:
        summary = group.summary(metric) if group is not None else None
        if summary is None:
            continue
        if best is None or sign * summary.mean > sign * best_value:
            best, best_value = group, summary.mean
    return best


def build_methods_table(
    experiment: ExperimentRuns,
    *,
    name: str,
    title: str,
    significance: SignificanceConfig,
    paper: dict[str, PaperRow] | None = None,
    paper_section: str = "",
    paper_note: str = "",
    metrics: Sequence[str] = TABLE1_METRICS,
) -> Table:
    """The Table-1 layout for the runs of ``experiment`` (one dataset, one model size, one variant), one
    column per registered metric of ``metrics``."""
    columns = tuple(metric_column(m) for m in metrics)
    dataset = experiment.single("dataset")
    model_size = experiment.single("model_size")
    variants = experiment.variants()
    if len(variants) != 1:
        raise DataError(f"Experiment {experiment.name!r} has several variants {variants}; its table expects one.")
    variant = variants[0]
    present = set(experiment.methods())
    layout = (
        [("", m) for m in MAIN_METHODS if m in present]
        + [(ABLATION_SECTION, m) for m in ABLATIONS if m in present]
        + [(OTHER_SECTION, m) for m in sorted(present - set(MAIN_METHODS) - set(ABLATIONS))]
    )
    groups = {m: experiment.get(m, variant) for _, m in layout}
    sft = groups.get("sft")

    comparisons = []
    for column in columns:
        metric = column.key
        baseline = best_group([groups.get(m) for m in PREFERENCE_BASELINES], metric)
        for _, method in layout:
            group = groups[method]
            if method == "sft" or not group.has(metric):
                continue
            if sft is not None and sft.has(metric):
                comparisons.append(Comparison(method, metric, SFT_MARK, group, sft, metric))
            if baseline is not None and method not in PREFERENCE_BASELINES:
                comparisons.append(Comparison(method, metric, BASELINE_MARK, group, baseline, metric))
    tests = run_comparisons(comparisons, significance)

    ranked = [m for m in MAIN_METHODS if m in present]
    emphasis = {}
    for column in columns:
        means = [_mean(groups[m], column.key) for m in ranked]
        for method, mark in zip(ranked, rank_emphasis(means, column.decimals, column.lower_is_better)):
            emphasis[(method, column.key)] = mark

    rows = []
    for section, method in layout:
        cells = []
        for column in columns:
            summary = groups[method].summary(column.key)
            marks, pvalues = tests.cell(method, column.key)
            cells.append(
                Cell(
                    value=None if summary is None else summary.mean,
                    std=None if summary is None else summary.std,
                    n_seeds=0 if summary is None else summary.n_seeds,
                    emphasis=emphasis.get((method, column.key), ""),
                    marks=marks,
                    pvalues=pvalues,
                )
            )
        rows.append(Row(method_label(method), tuple(cells), key=method, section=section))
    if paper:
        for method in [*MAIN_METHODS, *ABLATIONS]:
            if method in paper:
                values = paper[method].values
                cells = tuple(Cell(value=values.get(c.key)) for c in columns)
                rows.append(Row(paper[method].label, cells, key=f"paper:{method}", section=paper_section))

    notes = [
        f"Dataset {dataset}, model size {model_size}. {describe_runs(experiment)} {CELL_NOTE}",
        "Bold: best, underline: second best per column among the main rows (SFT, DPO, SimPO, ORPO, RAD-DPO), "
        "compared as printed; lower is better for Halluc.",
        significance_legend(
            significance,
            "SFT",
            "the best of DPO, SimPO and ORPO in that column (marked on RAD-DPO, its ablations and other methods)",
        ),
    ]
    if tests.skipped:
        notes.append(f"Not tested ({len(tests.skipped)}): " + "; ".join(tests.skipped) + ".")
    if paper and paper_note:
        notes.append(paper_note)
    return Table(name=name, title=title, stub_header="Method", columns=columns, rows=tuple(rows), notes=tuple(notes))


def _mean(group: MethodRuns, metric: str) -> float | None:
    summary = group.summary(metric)
    return None if summary is None else summary.mean


def build_table1(
    experiment: ExperimentRuns, significance: SignificanceConfig, paper: dict[str, PaperRow] | None
) -> Table:
    dataset = experiment.single("dataset")
    return build_methods_table(
        experiment,
        name="table1",
        title=f"Table 1: preference-alignment methods and RAD-DPO ablations on {dataset}",
        significance=significance,
        paper=paper,
        paper_section="Paper, Table 1 (as reported; JD.com data, Qwen 1.7B)",
        paper_note=(
            "Paper rows: the RAD-DPO paper's Table 1 as printed (results/paper/table1.csv): industrial JD.com "
            "data and a 1.7B backbone, single numbers without std or significance. Compare directions of "
            "effects, not absolute values."
        ),
    )
