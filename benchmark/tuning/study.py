"""One tuning study (seeded optuna TPE, ask/tell over an objective) and the study file that records it.

The study file is one JSON per dataset and profile, ``<results>/<profile>/tuning/<dataset>.json``::

    {"schema_version": 1, "profile": ..., "dataset": ..., "split": "valid",
     "methods": {"<method>": {"metric": ..., "direction": "maximize" | "minimize",
                              "sampler": {"name": "TPESampler", "seed": 0, "optuna": "<version>"},
                              "n_trials": 8, "space": {"beta": {"low": ..., "high": ..., "log": true}, ...},
                              "base_key": "<hash of the untuned run configuration>",
                              "trials": [{"number": 0, "params": {...}, "score": ..., "compute_key": ...,
                                          "seconds": ..., "sft_start": {"final_loss": ..., "threads": ...,
                                                                         "cpu_capability": ...}}, ...],
                              "chosen": {"trial": 3, "params": {...}, "score": ...}}}}

It is written by ``write_study`` only, atomically, after every trial: an interrupted ``grbench tune`` keeps the
trials it scored. A study still short of ``n_trials`` has ``"chosen": null`` (``finished`` says which); the next
``grbench tune`` with the same settings replays its stored trials through the seeded sampler (no training, no
scoring) and scores only the trials that follow, so a study resumed any number of times asks and chooses exactly
what an uninterrupted one does. A full-profile study is hours of CPU: it may span sessions. ``sft_start`` names
the build of the shared SFT checkpoint a trial started from (``tune.sft_start``); a resumed study refuses a
different build, since an SFT checkpoint rebuilt under another CPU dispatch level is another model under the
same key.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmark.artifacts import atomic_write_json, hash_json
from benchmark.errors import DataError
from benchmark.tuning.space import Range

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TUNING_DIR = "tuning"
SPLIT = "valid"  # the only split a study scores on: tuning never reads the test split


def study_path(results_root: Path, profile: str, dataset: str) -> Path:
    """``<results>/<profile>/tuning/<dataset>.json``."""
    return Path(results_root) / profile / TUNING_DIR / f"{dataset}.json"


def run_study(
    space: dict[str, Range], objective: Callable[[dict[str, float]], float], n_trials: int, seed: int,
    direction: str, *, done: Sequence[dict[str, Any]] = (),
    on_trial: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """``n_trials`` trials of a TPE study seeded with ``seed``: each asks a point of ``space`` and tells the
    objective's score. Returns [{"number", "params", "score", ...}] in trial order. The same seed and the same
    scores give the same points (optuna's TPE draws only from its seeded generator).

    ``done``: the trials an interrupted study stored, in order. Each is told again in place of calling the
    objective while the sampler asks exactly its parameters; from the first that it does not ask (trials of
    another sampler or search space), the rest are dropped and scored afresh. ``on_trial`` gets the trials so
    far after each newly scored one (to store them; it may add fields to the newest)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {name: optuna.distributions.FloatDistribution(r.low, r.high, log=r.log)
                     for name, r in sorted(space.items())}
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    replay = list(done)
    trials: list[dict[str, Any]] = []
    for _ in range(n_trials):
        trial = study.ask(distributions)
        params = {name: float(trial.params[name]) for name in distributions}
        stored = replay.pop(0) if replay else None
        if stored is not None and (stored.get("number") != trial.number or stored.get("params") != params):
            log.warning("stored trial %s has %s where the sampler asks %s: it and the %d stored after it are "
                        "scored afresh", stored.get("number"), stored.get("params"), params, len(replay))
            stored, replay = None, []
        record = dict(stored) if stored is not None else {
            "number": trial.number, "params": params, "score": float(objective(params))}
        if not math.isfinite(record["score"]):
            raise DataError(f"Trial {trial.number} with {params} scored {record['score']}: a selection metric "
                            f"must be finite.")
        study.tell(trial, record["score"])
        trials.append(record)
        log.info("trial %d: %s -> %.6f%s", trial.number, params, record["score"],
                 " (stored)" if stored is not None else "")
        if stored is None and on_trial is not None:
            on_trial(trials)
    return trials


def finished(entry: dict[str, Any]) -> bool:
    """Whether a method's study has scored all its trials (and so has a chosen configuration)."""
    return entry.get("chosen") is not None and len(entry.get("trials") or ()) >= entry.get("n_trials", 0)


def choose(trials: list[dict[str, Any]], direction: str) -> dict[str, Any]:
    """The best trial (the earliest among equal scores): {"trial", "params", "score"}."""
    if not trials:
        raise DataError("A study with no trial has nothing to choose.")
    sign = 1.0 if direction == "maximize" else -1.0
    best = max(trials, key=lambda t: (sign * t["score"], -t["number"]))
    return {"trial": best["number"], "params": dict(best["params"]), "score": best["score"]}


def read_study(path: Path) -> dict[str, Any] | None:
    """The study file at ``path``, or None when there is none yet."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"The study file {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION or "methods" not in data:
        raise DataError(f"The study file {path} is not a version-{SCHEMA_VERSION} study file.")
    return data


def write_study(path: Path, profile: str, dataset: str, methods: dict[str, Any]) -> Path:
    """Write the study file of ``dataset`` and ``profile`` atomically (one function writes it)."""
    data = {"schema_version": SCHEMA_VERSION, "profile": profile, "dataset": dataset, "split": SPLIT,
            "methods": dict(sorted(methods.items()))}
    return atomic_write_json(path, data)


def entry_hash(entry: dict[str, Any]) -> str:
    """The content hash of one method's study (what a tuned run records as ``study_hash``)."""
    return hash_json(entry)
