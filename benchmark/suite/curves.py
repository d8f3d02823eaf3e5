"""Validation curves of the preference stage, and the best-validation checkpoint (issues #14, #15).

A trained run keeps a snapshot of its model at ``curves.points`` evenly spaced optimizer steps (the last one is
the final model; ``train(snapshot_steps=...)``). Each snapshot, and the shared SFT checkpoint as step 0, is
beam-searched over the first ``curves.max_queries`` queries of the VALIDATION split with the run's own
evaluation settings, and scored. The curve joins those scores with the training log of the same window: the
mean of every per-step column of ``loss_curve.csv`` (the loss, each method's loss terms, the contrast-term
gradient share, TLGD's detached share, RDRW's mean weight, rollout statistics) over the steps since the
previous point.

The best-validation checkpoint is the snapshot (step >= 1: the SFT start is not one of the run's own
checkpoints) with the best ``curves.metric``, the earliest on a tie. A run with ``checkpoint: best`` reports
the test metrics of that snapshot; its curve marks the row it reports (``reported`` = 1), so the choice is
traceable. The test split is never read here.

Every point is cached under the key of what it is a function of (the checkpoint's training key and step, the
split and catalog hashes, the validation settings), so the SFT point is computed once per seed and a
``checkpoint: best`` run reuses the curve of its ``final`` twin.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.artifacts import atomic_write_json, cache_root, hash_json
from benchmark.config import to_dict
from benchmark.errors import DataError
from benchmark.locks import key_lock

log = logging.getLogger(__name__)

SPLIT = "valid"
# Scored at every point beside the selection metric: the rl table's columns (retrieval and validity).
CURVE_METRICS = ("target_hit@10", "target_mrr", "target_ndcg@10", "halluc@1", "halluc")
TRAIN_PREFIX = "train_"  # training-log columns in curve.csv are prefixed, so no name clashes with a metric
VALID_PREFIX = "valid_"


def curve_steps(steps: int, points: int) -> tuple[int, ...]:
    """``points`` evenly spaced optimizer steps of a ``steps``-step run, the last one ``steps`` (fewer when
    ``steps < points``: a step is never repeated). ``curve_steps(60, 4) == (15, 30, 45, 60)``."""
    if points <= 0:
        return ()
    return tuple(sorted({max(1, round(k * steps / points)) for k in range(1, points + 1)}))


def best_step(curve: pd.DataFrame, metric: str, lower_is_better: bool) -> int:
    """The step of the best ``valid_<metric>`` among the run's own snapshots (step >= 1), earliest on a tie."""
    own = curve[curve["step"] >= 1]
    if own.empty:
        raise DataError("A validation curve without trained checkpoints has no best-validation checkpoint.")
    values = own[VALID_PREFIX + metric].to_numpy(dtype=float)
    index = int(np.argmin(values) if lower_is_better else np.argmax(values))  # argmin/argmax: first on a tie
    return int(own["step"].iloc[index])


def point_metrics(checkpoint_dir: Path, identity: dict[str, Any], prepared, eval_config, settings: dict,
                  metrics: tuple[str, ...]) -> dict[str, float]:
    """Mean validation ``metrics`` of one checkpoint, cached under ``identity`` (what the checkpoint is a function
    of) and the validation settings."""
    from benchmark.suite.stages import evaluate

    config = dataclasses.replace(eval_config, max_queries=settings["max_queries"])
    key = hash_json({"checkpoint": identity, "hashes": prepared.checked_hashes, "split": SPLIT,
                     "eval": to_dict(config), "metrics": list(metrics)})
    path = cache_root() / "curves" / f"{key}.json"
    with key_lock(cache_root(), f"curve-{key}"):
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        evaluation = evaluate(checkpoint_dir, prepared, config, split=SPLIT)
        missing = [m for m in metrics if m not in evaluation.per_query]
        if missing:
            raise DataError(f"Validation curve metrics {missing} are not computed under this profile's eval settings; "
                            f"computed: {', '.join(sorted(evaluation.per_query))}.")
        values = {m: float(np.mean(evaluation.per_query[m])) for m in metrics}
        values["n_queries"] = len(evaluation.frame)
        atomic_write_json(path, values)
        return values


def validation_curve(*, sft_dir: Path, sft_identity: str, run_identity: str, snapshots: dict[int, Path],
                     loss_curve: Path, prepared, eval_config, settings: dict) -> pd.DataFrame:
    """One row per point (step 0 = the SFT checkpoint, then each snapshot): step, examples, the window means of
    the training log (``train_*``) and the validation metrics (``valid_*``)."""
    metrics = tuple(dict.fromkeys((*CURVE_METRICS, settings["metric"])))
    log_rows = pd.read_csv(loss_curve) if Path(loss_curve).is_file() else pd.DataFrame({"step": []})
    points = {0: (sft_dir, {"sft": sft_identity})}
    points.update({step: (path, {"run": run_identity, "step": step}) for step, path in sorted(snapshots.items())})
    rows, previous = [], 0
    for step, (path, identity) in points.items():
        values = point_metrics(path, identity, prepared, eval_config, settings, metrics)
        row: dict[str, Any] = {"step": step}
        window = log_rows[(log_rows["step"] > previous) & (log_rows["step"] <= step)]
        row["examples"] = int(window["examples"].iloc[-1]) if "examples" in window and len(window) else 0
        for column in log_rows.columns:
            if column not in ("step", "examples", "tokens"):
                numbers = pd.to_numeric(window[column], errors="coerce").dropna()
                row[TRAIN_PREFIX + column] = float(numbers.mean()) if len(numbers) else np.nan
        row["valid_queries"] = int(values["n_queries"])
        row.update({VALID_PREFIX + m: values[m] for m in metrics})
        rows.append(row)
        previous = step
    return pd.DataFrame(rows)
