"""Figure 2: preference-data fraction -> relative improvement (%) of RAD-DPO and DPO over SFT, SID-level.

For each fraction f of the preference set (runs of experiment ``fig2`` with variant
``{"preference_fraction": f}``) and each SID-level metric:

    improvement = 100 * (mean_method - mean_SFT) / mean_SFT

with means over seeds of each run's mean over queries; SFT is the run at the same fraction (or a fraction-free
SFT run of the experiment: SFT never sees preference data). † marks a point whose per-query difference from
SFT is significant (Holm over every point of the figure). The PNG is drawn from the table itself, so the two
always show the same numbers. The paper prints no values for its Figure 2, so there is no paper overlay.
"""

from __future__ import annotations

import logging

from benchmark.metrics.registry import SID_METRICS, get_metric
from benchmark.tables.collect import ExperimentRuns, MethodRuns, describe_runs
from benchmark.tables.markers import (
    SFT_MARK,
    Comparison,
    SignificanceConfig,
    run_comparisons,
    significance_legend,
)
from benchmark.tables.render import Cell, Column, Row, Table, figure_png, new_figure
from benchmark.tables.table1 import method_label

log = logging.getLogger(__name__)

FRACTION_KEY = "preference_fraction"
BUDGET_KEY = "budget"  # {"budget": "steps"}: a fixed-steps point (RunSpec.fraction_budget); absent: fixed epochs
BUDGETS = ("epochs", "steps")
SERIES = {"epochs": "Fixed epochs (steps scale with the data)", "steps": "Fixed steps (more passes over less data)"}
METHODS = ("raddpo", "dpo")
METRICS = SID_METRICS
# Protocol 2: the ordered item at the item and SID level.
TARGET_FIG2_METRICS = ("target_hit@10", "target_mrr", "target_sid_hit@64", "target_sid_mrr")
COLORS = {"raddpo": "#d62728", "dpo": "#1f77b4"}
OTHER_COLORS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _sft_for(experiment: ExperimentRuns, variant: dict) -> MethodRuns | None:
    return experiment.get("sft", variant) or experiment.get("sft", {})


def _points(experiment: ExperimentRuns) -> list[tuple[str, float, dict]]:
    """(budget, fraction, stored variant) of every point, fixed-epochs first. A fixed-steps run carries
    {"budget": "steps"}; at 100% data the two budgets are one run, so the fixed-steps series reuses that point."""
    series: dict[str, dict[float, dict]] = {}
    for variant in experiment.variants():
        if FRACTION_KEY in variant:
            series.setdefault(variant.get(BUDGET_KEY, "epochs"), {})[float(variant[FRACTION_KEY])] = variant
    if "steps" in series and 1.0 in series.get("epochs", {}):
        series["steps"].setdefault(1.0, series["epochs"][1.0])
    return [(budget, f, series[budget][f]) for budget in BUDGETS if budget in series for f in sorted(series[budget])]


def build_fig2(experiment: ExperimentRuns, significance: SignificanceConfig) -> Table:
    dataset = experiment.single("dataset")
    model_size = experiment.single("model_size")
    points = _points(experiment)
    two = len({budget for budget, _, _ in points}) > 1  # one series: the rows and keys of before (fraction only)

    def key(budget: str, fraction: float) -> str:
        return f"{budget}:{fraction:g}" if two else f"{fraction:g}"

    metrics = TARGET_FIG2_METRICS if experiment.protocol() >= 2 else METRICS
    others = [m for m in experiment.methods() if m not in METHODS and m != "sft"]
    methods = [m for m in METHODS if m in experiment.methods()] + others
    columns = tuple(
        Column(f"{method}:{metric}", get_metric(metric).label, method_label(method), decimals=2, signed=True)
        for method in methods
        for metric in metrics
    )
    comparisons = []
    for budget, fraction, variant in points:
        sft = _sft_for(experiment, variant)
        for method in methods:
            group = experiment.get(method, variant)
            for metric in metrics:
                if group is not None and sft is not None and group.has(metric) and sft.has(metric):
                    comparisons.append(Comparison(key(budget, fraction), f"{method}:{metric}", SFT_MARK, group, sft,
                                                  metric))
    tests = run_comparisons(comparisons, significance)

    rows = []
    missing_sft = []
    for budget, fraction, variant in points:
        sft = _sft_for(experiment, variant)
        if sft is None:
            missing_sft.append(f"{100 * fraction:g}%" + (f" ({SERIES[budget]})" if two else ""))
        cells = []
        for method in methods:
            group = experiment.get(method, variant)
            for metric in metrics:
                base = sft.summary(metric) if sft is not None else None
                mine = group.summary(metric) if group is not None else None
                if base is None or mine is None or base.mean == 0:
                    cells.append(Cell())
                    continue
                marks, pvalues = tests.cell(key(budget, fraction), f"{method}:{metric}")
                value = 100.0 * (mine.mean - base.mean) / base.mean
                cells.append(Cell(value=value, n_seeds=mine.n_seeds, marks=marks, pvalues=pvalues))
        rows.append(Row(f"{100 * fraction:g}% ({_examples_seen(experiment, variant)})", tuple(cells),
                        key=key(budget, fraction), section=SERIES[budget] if two else ""))

    notes = [
        f"Dataset {dataset}, model size {model_size}. {describe_runs(experiment)}",
        "Cells: relative improvement over SFT in percent, 100 * (mean_method - mean_SFT) / mean_SFT, means over "
        "seeds; rows are the fraction of the preference set used for alignment, with the preference examples "
        "each method saw (optimizer steps x batch size, from the runs' budgets).",
        significance_legend(significance, "SFT at the same preference fraction", None),
        "In fig2.png, filled markers are the points marked †.",
        "The paper's Figure 2 (10M to 50M preference examples) prints no values, so none are shown beside it.",
    ]
    if two:
        notes.insert(2, "Two series decouple data from steps. Fixed epochs: the preference steps scale with the "
                        "fraction (one pass count; the paper's reading), so less data also means fewer updates. "
                        "Fixed steps: every fraction gets the profile's full steps (more passes over less data); "
                        "SFT is continued on the same data for the same steps. The 100% point is one run in both "
                        "series. In fig2.png the fixed-steps series is dashed.")
    if missing_sft:
        notes.append(f"No SFT run at {', '.join(missing_sft)}: those improvements are missing.")
    if tests.skipped:
        notes.append(f"Not tested ({len(tests.skipped)}): " + "; ".join(tests.skipped) + ".")
    return Table(
        name="fig2",
        title=f"Figure 2: relative improvement over SFT (%) vs preference-data fraction on {dataset}",
        stub_header="Preference data",
        columns=columns,
        rows=tuple(rows),
        notes=tuple(notes),
    )


def _fraction(row: Row) -> float:
    return float(row.key.split(":")[-1])


def _examples_seen(experiment: ExperimentRuns, variant: dict) -> str:
    """The preference examples seen at one fraction, from the stored budgets (one number when every method and
    seed saw the same, a range otherwise)."""
    seen = sorted({r.result.budget.examples_seen for m in experiment.methods()
                   if (g := experiment.get(m, variant)) is not None for r in g.runs})
    if not seen:
        return "no runs"
    return f"{seen[0]:,} examples" if len(seen) == 1 else f"{seen[0]:,}-{seen[-1]:,} examples"


def render_fig2_png(table: Table) -> bytes:
    """One panel per SID-level metric, one line per method; filled markers are significant (†) points.

    Drawn with the Agg canvas directly (no pyplot global state) and without the "Software" PNG text chunk,
    so the bytes depend only on the table and the matplotlib version.
    """
    series = [(row.key.split(":")[0] if ":" in row.key else "epochs", row) for row in table.rows]
    lines = {budget: [row for b, row in series if b == budget] for budget in BUDGETS
             if any(b == budget for b, _ in series)}
    ticks = lines.get("epochs") or next(iter(lines.values()))
    fractions = [_fraction(row) * 100 for row in ticks]
    methods: list[str] = []
    for column in table.columns:
        method = column.key.split(":", 1)[0]
        if method not in methods:
            methods.append(method)
    metrics: list[str] = []
    for column in table.columns:
        metric = column.key.split(":", 1)[1]
        if metric not in metrics:
            metrics.append(metric)
    figure = new_figure(12.0, 3.2)
    axes = figure.subplots(1, len(metrics), sharex=True)
    for ax, metric in zip(axes, metrics):
        ax.axhline(0.0, color="#999999", linewidth=0.8)
        for i, method in enumerate(methods):
            index = next((j for j, c in enumerate(table.columns) if c.key == f"{method}:{metric}"), None)
            if index is None:
                continue
            if all(row.cells[index].value is None for row in table.rows):
                continue
            color = COLORS.get(method, OTHER_COLORS[i % len(OTHER_COLORS)])
            for budget, rows in lines.items():
                points = [(_fraction(row) * 100, row.cells[index]) for row in rows
                          if row.cells[index].value is not None]
                if not points:
                    continue
                xs = [x for x, _ in points]
                ys = [cell.value for _, cell in points]
                label = method_label(method) + (f", {budget}" if len(lines) > 1 else "")
                ax.plot(xs, ys, color=color, linewidth=1.5, label=label,
                        linestyle="--" if budget == "steps" else "-")
                for x, cell in points:
                    ax.plot([x], [cell.value], marker="o", markersize=5, color=color,
                            markerfacecolor=color if cell.marks else "white")
        ax.set_title(get_metric(metric).long_label, fontsize=10)
        ax.set_xlabel("preference data (% of set; examples)", fontsize=8)  # fits a panel: no overlap
        ax.set_xticks(fractions, [row.label.replace(" examples", "").replace(" (", "\n(") for row in ticks])
        ax.tick_params(labelsize=8)
        ax.grid(True, color="#eeeeee", linewidth=0.6)
    axes[0].set_ylabel("improvement over SFT (%)", fontsize=9)
    return figure_png(figure, legend_from=axes[0], fontsize=8)
