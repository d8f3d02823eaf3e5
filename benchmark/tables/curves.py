"""Figures and data of the validation curves of an experiment's trained runs (``benchmark.suite.curves``).

``<experiment>-curves.csv``: every curve row of every run that stored one (run id, method, variant, seed, then
the curve's own columns), so a reader can replot or check a figure. ``<experiment>-curves.png``: the selection
metric and rank-1 hallucination on the validation split against the optimizer step, one line per method (the
mean over seeds; a run's final and best-validation twins share one training, so only final runs are drawn).
``rl-frontier.png`` (any experiment with a hallucination column): the retrieval-validity frontier, HR@10 against
hallucination over the evaluated checkpoints, one line per method, from the SFT start (step 0) to the end.

Drawn with the Agg canvas (no pyplot state) and without the "Software" PNG chunk: the bytes depend only on the
stored curves and the matplotlib version.
"""

from __future__ import annotations

import json

import pandas as pd

from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.render import figure_png, new_figure

FIGURE_METRICS = ("valid_target_hit@10", "valid_halluc@1")
FRONTIER = ("valid_halluc@1", "valid_target_hit@10")  # (x, y)
LABELS = {"valid_target_hit@10": "HR@10 (ordered item, validation)",
          "valid_halluc@1": "rank-1 hallucination (validation)",
          "valid_halluc": "all-beam hallucination (validation)"}


def curve_frame(experiment: ExperimentRuns) -> pd.DataFrame | None:
    """Every stored curve row of the experiment's runs, labelled by run; None when no run stored a curve."""
    frames = []
    for run in sorted(experiment.runs, key=lambda r: r.result.run_id):
        curve = run.curve()
        if curve is None:
            continue
        labels = {"run_id": run.result.run_id, "method": run.result.method, "seed": run.result.seed,
                  "variant": json.dumps(run.result.variant, sort_keys=True)}
        frames.append(curve.assign(**labels)[[*labels, *curve.columns]])
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)


def _lines(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Line label -> mean over seeds per step, of the final-checkpoint runs (one training each)."""
    lines = {}
    for (method, variant), group in frame.groupby(["method", "variant"], sort=True):
        settings = json.loads(variant)
        if settings.get("checkpoint") == "best":
            continue
        label = method + "".join(f" {k}={v}" for k, v in sorted(settings.items()))
        lines[label] = group.groupby("step", sort=True).mean(numeric_only=True).reset_index()
    return lines


def render_curves_png(frame: pd.DataFrame, title: str) -> bytes:
    """One panel per metric of ``FIGURE_METRICS`` against the optimizer step, one line per method."""
    metrics = [m for m in FIGURE_METRICS if m in frame.columns]
    figure = new_figure(5.0 * max(1, len(metrics)), 3.6)
    axes = figure.subplots(1, max(1, len(metrics)), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        for label, line in _lines(frame).items():
            ax.plot(line["step"], line[metric], marker="o", markersize=3, linewidth=1.2, label=label)
        ax.set_xlabel("optimizer step of the preference stage (0: the SFT start)", fontsize=8)
        ax.set_title(LABELS.get(metric, metric), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(True, color="#eeeeee", linewidth=0.6)
    figure.suptitle(title, fontsize=10)
    return figure_png(figure, legend_from=axes[0], legend_on=axes[-1], fontsize=7, loc="best")


def render_frontier_png(frame: pd.DataFrame, title: str) -> bytes:
    """HR@10 against rank-1 hallucination over the evaluated checkpoints, one line per method (arrow of time:
    hollow marker at the SFT start, filled at the last checkpoint)."""
    x, y = FRONTIER
    figure = new_figure(6.4, 4.6)
    ax = figure.subplots()
    for label, line in _lines(frame).items():
        (drawn,) = ax.plot(line[x], line[y], marker="o", markersize=3, linewidth=1.2, label=label)
        ax.plot(line[x].iloc[-1:], line[y].iloc[-1:], marker="o", markersize=7, color=drawn.get_color())
    ax.set_xlabel(LABELS[x] + " (lower is better)", fontsize=9)
    ax.set_ylabel(LABELS[y], fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.grid(True, color="#eeeeee", linewidth=0.6)
    return figure_png(figure, legend_from=ax, fontsize=7, loc="best")


def curve_outputs(experiment: ExperimentRuns) -> dict[str, bytes]:
    """File name -> bytes of the experiment's curve outputs (empty when no run stored a curve)."""
    frame = curve_frame(experiment)
    if frame is None:
        return {}
    name = experiment.name
    outputs = {
        f"{name}-curves.csv": frame.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        f"{name}-curves.png": render_curves_png(frame, f"{name}: validation curves (mean over seeds)"),
    }
    if all(column in frame.columns for column in FRONTIER):
        outputs[f"{name}-frontier.png"] = render_frontier_png(
            frame, f"{name}: retrieval-validity frontier over checkpoints")
    return outputs
