"""Noise robustness (beyond the paper): does RAD-DPO's advantage hold as click noise grows?

Runs of experiment ``noise`` sweep the click model's position-bias strength ``eta`` (examination
theta_k = (1/k)^eta) and the click-noise floor (clicks on irrelevant items). For each noise level (a section)
the table shows SID R@64, SID MRR and item R@100 of SFT, DPO, SimPO, ORPO and RAD-DPO (mean ± std over seeds),
† against SFT, and a last row with the gap RAD-DPO minus the best baseline of that level and column (the best
of SFT, DPO, SimPO, ORPO: the strongest competitor, SFT included), ‡ when that gap is significant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmark.metrics.registry import NOISE_METRICS
from benchmark.retrieval import is_retriever
from benchmark.tables.collect import CELL_NOTE, ExperimentRuns, describe_runs
from benchmark.tables.markers import (
    BASELINE_MARK,
    SFT_MARK,
    Comparison,
    SignificanceConfig,
    rank_emphasis,
    run_comparisons,
    significance_legend,
)
from benchmark.tables.render import Cell, Row, Table, metric_column
from benchmark.tables.table1 import MAIN_METHODS, best_group, method_label, retrieval_rows

BASELINES = ("sft", "dpo", "simpo", "orpo")
COLUMNS = tuple(metric_column(m) for m in NOISE_METRICS)
TARGET_COLUMNS = tuple(metric_column(m) for m in ("target_hit@10", "target_mrr", "target_sid_hit@64"))
FACTOR_LABELS = {"eta": "η", "noise_floor": "noise floor"}
GAP_LABEL = "Δ RAD-DPO − best baseline"


def level_label(variant: Mapping[str, Any]) -> str:
    """"η = 0.5, noise floor = 0.02" (factors in key order, numbers in %g)."""
    parts = []
    for key in sorted(variant):
        value = variant[key]
        text = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
        parts.append(f"{FACTOR_LABELS.get(key, key)} = {text}")
    return ", ".join(parts) or "default noise"


def build_noise(experiment: ExperimentRuns, significance: SignificanceConfig) -> Table:
    dataset = experiment.single("dataset")
    columns = TARGET_COLUMNS if experiment.protocol() >= 2 else COLUMNS
    model_size = experiment.single("model_size")
    variants = experiment.variants()
    present = set(experiment.methods())
    # the retrieval baselines first: every trained row is read against them
    retrievers = retrieval_rows(present)
    methods = (retrievers + [m for m in MAIN_METHODS if m in present]
               + sorted(present - set(MAIN_METHODS) - set(retrievers)))

    comparisons = []
    best_names: dict[tuple[int, str], str] = {}
    for i, variant in enumerate(variants):
        groups = {m: experiment.get(m, variant) for m in methods}
        sft, raddpo = groups.get("sft"), groups.get("raddpo")
        for column in columns:
            metric = column.key
            for method in methods:
                group = groups[method]
                trained = method != "sft" and not is_retriever(method)
                if trained and group is not None and sft is not None and group.has(metric) and sft.has(metric):
                    comparisons.append(Comparison(f"{i}:{method}", metric, SFT_MARK, group, sft, metric))
            best = best_group([groups.get(m) for m in BASELINES], metric)
            if best is not None and raddpo is not None and raddpo.has(metric):
                best_names[(i, metric)] = best.method
                comparisons.append(Comparison(f"{i}:gap", metric, BASELINE_MARK, raddpo, best, metric))
    tests = run_comparisons(comparisons, significance)

    rows = []
    best_lines = []
    for i, variant in enumerate(variants):
        section = level_label(variant)
        groups = {m: experiment.get(m, variant) for m in methods}
        listed = [m for m in methods if groups[m] is not None]
        emphasis = {}
        for column in columns:
            means = [_mean(groups[m], column.key) for m in listed]
            for method, mark in zip(listed, rank_emphasis(means, column.decimals)):
                emphasis[(method, column.key)] = mark
        for method in listed:
            cells = []
            for column in columns:
                summary = groups[method].summary(column.key)
                marks, pvalues = tests.cell(f"{i}:{method}", column.key)
                cells.append(
                    Cell(
                        value=None if summary is None else summary.mean,
                        std=None if summary is None else summary.std,
                        n_seeds=0 if summary is None else summary.n_seeds,
                        emphasis=emphasis[(method, column.key)],
                        marks=marks,
                        pvalues=pvalues,
                    )
                )
            rows.append(Row(method_label(method), tuple(cells), key=f"{i}:{method}", section=section))
        if any((i, c.key) in best_names for c in columns):
            cells = []
            for column in columns:
                name = best_names.get((i, column.key))
                if name is None:
                    cells.append(Cell())
                    continue
                gap = _mean(groups["raddpo"], column.key) - _mean(groups[name], column.key)
                marks, pvalues = tests.cell(f"{i}:gap", column.key)
                cells.append(Cell(value=gap, marks=marks, pvalues=pvalues, signed=True,
                                  n_seeds=len(groups["raddpo"].runs)))
            rows.append(Row(GAP_LABEL, tuple(cells), key=f"{i}:gap", section=section))
            named = ", ".join(
                f"{column.group} {column.header}: {method_label(best_names[(i, column.key)])}"
                for column in columns
                if (i, column.key) in best_names
            )
            best_lines.append(f"{section}: {named}")

    notes = [
        f"Dataset {dataset}, model size {model_size}. {describe_runs(experiment)} {CELL_NOTE}",
        "Sections: click-model noise levels (η: position-bias strength, examination (1/k)^η; noise floor: "
        "click probability on irrelevant exposed items). Bold: best, underline: second best per column within "
        "a level, compared as printed.",
        f"{GAP_LABEL}: RAD-DPO's mean minus that of the best of SFT, DPO, SimPO and ORPO in the same level and "
        "column (positive = RAD-DPO ahead). Best baseline per level: " + "; ".join(best_lines) + "."
        if best_lines
        else f"{GAP_LABEL}: not available (no RAD-DPO or baseline runs).",
        significance_legend(
            significance, "SFT at the same noise level", "the best baseline (on the gap row)"
        ),
        "Beyond the paper: the paper reports no noise sweep.",
    ]
    if tests.skipped:
        notes.append(f"Not tested ({len(tests.skipped)}): " + "; ".join(tests.skipped) + ".")
    return Table(
        name="noise",
        title=f"Noise robustness: click-noise sweep on {dataset}",
        stub_header="Method",
        columns=columns,
        rows=tuple(rows),
        notes=tuple(notes),
    )


def _mean(group, metric: str) -> float | None:
    summary = group.summary(metric) if group is not None else None
    return None if summary is None else summary.mean
