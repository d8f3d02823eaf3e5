"""Sensitivity of each method to its tuned parameters: the selection metric against each parameter over the
study's trials, as one CSV per study file and one PNG per method, beside the study file::

    <results>/<profile>/tuning/<dataset>-sensitivity.csv        method, trial, parameter, value, score, chosen
    <results>/<profile>/tuning/<dataset>-<method>.png           one panel per parameter, the chosen trial filled

An unfinished study (``chosen`` null) is drawn with the trials it has, none marked chosen, titled unfinished.

Both are rendered from the study file alone (a rerun is byte-identical), and written atomically.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from benchmark.artifacts import atomic_write_bytes, atomic_write_text
from benchmark.tables.render import figure_png, new_figure

CSV_COLUMNS = ("method", "trial", "parameter", "value", "score", "chosen")


def sensitivity_rows(methods: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (method, trial, parameter), methods and parameters sorted, trials in order."""
    rows = []
    for method, entry in sorted(methods.items()):
        chosen = chosen_trial(entry)
        for trial in entry["trials"]:
            for name, value in sorted(trial["params"].items()):
                rows.append({"method": method, "trial": trial["number"], "parameter": name, "value": value,
                             "score": trial["score"], "chosen": int(trial["number"] == chosen)})
    return rows


def chosen_trial(entry: dict[str, Any]) -> int | None:
    """The chosen trial's number; None while the study is unfinished (nothing is chosen yet)."""
    return entry["chosen"]["trial"] if entry.get("chosen") else None


def write_sensitivity(study_file: Path, methods: dict[str, Any]) -> list[Path]:
    """Write the CSV of every method of ``study_file`` and one PNG per method; return the paths."""
    stem = study_file.with_suffix("")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in sensitivity_rows(methods):
        writer.writerow({**row, "value": repr(float(row["value"])), "score": repr(float(row["score"]))})
    written = [atomic_write_text(stem.parent / f"{stem.name}-sensitivity.csv", buffer.getvalue())]
    for method, entry in sorted(methods.items()):
        png = render_png(method, entry)
        written.append(atomic_write_bytes(stem.parent / f"{stem.name}-{method}.png", png))
    return written


def render_png(method: str, entry: dict[str, Any]) -> bytes:
    """One panel per tuned parameter: the metric of each trial against the parameter's value (log axis for a
    log-scale range); the chosen trial filled. Drawn on the Agg canvas without the "Software" PNG chunk, so the
    bytes depend only on the study and the matplotlib version."""
    names = sorted(entry["space"])
    figure = new_figure(3.6 * len(names), 3.0)
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    chosen = chosen_trial(entry)
    for ax, name in zip(axes, names):
        xs = [t["params"][name] for t in entry["trials"]]
        ys = [t["score"] for t in entry["trials"]]
        ax.plot(xs, ys, linestyle="none", marker="o", markersize=5, color="#1f77b4", markerfacecolor="white")
        best = [(t["params"][name], t["score"]) for t in entry["trials"] if t["number"] == chosen]
        if best:
            ax.plot([x for x, _ in best], [y for _, y in best], linestyle="none", marker="o", markersize=6,
                    color="#d62728", label="chosen")
        if entry["space"][name]["log"]:
            ax.set_xscale("log")
        ax.set_xlim(entry["space"][name]["low"], entry["space"][name]["high"])
        ax.set_xlabel(name, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, color="#eeeeee", linewidth=0.6)
    axes[0].set_ylabel(f"{entry['metric']} (validation)", fontsize=9)
    done = len(entry["trials"])
    title = f"{done} trials" if chosen is not None else f"unfinished: {done} of {entry['n_trials']} trials"
    figure.suptitle(f"{method}: {title}", fontsize=10)
    return figure_png(figure, legend_from=axes[0], fontsize=8)
