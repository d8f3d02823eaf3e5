"""``grbench tune``: for each trained method of a profile, on each dataset it runs on, one seeded TPE study of
``tuning.trials`` trials (the same number for every method).

A trial is a run of the suite's own stages (``benchmark.suite.stages``): the shared SFT checkpoint of the
profile's first seed, the method trained with its full preference budget at the sampled parameters, then beam
search over the VALIDATION split, scored by the profile's ``tuning.metric`` (mean over queries). The stages get
the prepared data with the test split withheld (``withhold_test``): a trial that touched it would fail, so no
tuning decision can depend on test data. Trial checkpoints are cached like every run's, under the key of their
training configuration: the run that later uses the chosen configuration on that seed reuses its checkpoint.
The study file is stored after every trial; an interrupted study resumes from its stored trials (``study``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.artifacts import cache_root, hash_json
from benchmark.errors import ConfigError, DataError
from benchmark.locks import key_lock
from benchmark.tuning.apply import apply_params, base_spec
from benchmark.tuning.space import search_space
from benchmark.tuning.study import SPLIT, choose, finished, read_study, run_study, study_path, write_study

log = logging.getLogger(__name__)


class WithheldSplit:
    """Stands in for the test split while tuning: any use of it is an error naming the leak."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise DataError("Tuning tried to read the test split: studies are scored on the validation split only.")

    __getattr__ = __getitem__ = __len__ = __iter__ = __array__ = _refuse


def withhold_test(prepared):
    """``prepared`` (``stages.Prepared``) with its dataset's test split replaced by a ``WithheldSplit``; the
    split's hash stays, so trial checkpoints are cached under the same keys as the runs'."""
    return dataclasses.replace(prepared, dataset=dataclasses.replace(prepared.dataset, test=WithheldSplit()))


def sft_start(sft_dir: Path) -> dict[str, Any]:
    """Which build of the shared SFT checkpoint ``sft_dir`` is: its final training loss, and the thread count and
    torch CPU dispatch level it was trained with (None for a build from before the trainer recorded them). Its
    cache key names what it was trained from, not the machine it ran on, and a build under another dispatch level
    is another model (float rounding compounds over the SFT steps), so trials record this beside their scores."""
    import json

    from benchmark.training.checkpoint import SUMMARY_FILE

    summary = json.loads((Path(sft_dir).parent / SUMMARY_FILE).read_text(encoding="utf-8"))
    environment = summary.get("environment") or {}
    return {"final_loss": summary["final_loss"], "threads": environment.get("threads"),
            "cpu_capability": environment.get("torch_cpu_capability")}


def _built_on(start: dict[str, Any]) -> str:
    return f"{start.get('threads')} thread(s), CPU dispatch {start.get('cpu_capability')}"


def check_sft_start(sft_dir: Path, start: dict[str, Any], expected: dict[str, Any] | None, method: str) -> None:
    """Refuse to add trials to a study whose stored trials started from another build of the SFT checkpoint."""
    if expected is None or start["final_loss"] == expected["final_loss"]:
        return
    raise ConfigError(
        f"The SFT checkpoint {Path(sft_dir).parent} (final loss {start['final_loss']!r}; {_built_on(start)}) is "
        f"not the build the stored trials of {method} started from (final loss {expected['final_loss']!r}; "
        f"{_built_on(expected)}): new trials would not be comparable with them. Move that directory away and "
        f"resume where the stored build was made (`grbench --threads {expected.get('threads') or 'N'} tune ...` "
        f"on a CPU with dispatch {expected.get('cpu_capability')}), or delete the method's entry from the study "
        f"file to start its study afresh.")


def score_trial(spec, metric: str, data_dir: str | None,
                expected_start: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
    """Train ``spec`` from its seed's shared SFT checkpoint and score ``metric`` on the validation split; returns
    the score and the checkpoint's ``sft_start``. ``expected_start``: that of the study's stored trials (a
    different build is refused before any training). The training keeps the snapshots a run of ``spec`` keeps
    for its validation curve, so that run reuses it."""
    from benchmark.suite.matrix import resolve
    from benchmark.suite.stages import evaluate, method_checkpoint, prepare, sft_checkpoint, snapshot_steps

    prepared = withhold_test(prepare(spec, data_dir))
    sft_dir = sft_checkpoint(spec, prepared)
    start = sft_start(sft_dir)
    check_sft_start(sft_dir, start, expected_start, spec.method)
    trained = method_checkpoint(spec, prepared, sft_dir, snapshot_steps(spec))
    evaluation = evaluate(trained.checkpoint_dir, prepared, resolve(spec).eval, split=SPLIT)
    if metric not in evaluation.per_query:
        raise DataError(f"The selection metric {metric!r} is not computed under this profile's eval settings; "
                        f"computed: {', '.join(sorted(evaluation.per_query))}.")
    return float(np.mean(evaluation.per_query[metric])), start


def tuning_plan(profile, only: tuple[str, ...] = (), methods: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The (dataset, method) pairs to tune, sorted: every trained method of the profile's experiments (or
    ``only``), on each dataset it runs on."""
    from benchmark.suite.matrix import expand
    from benchmark.suite.untrained import is_untrained

    return sorted({(s.dataset, s.method) for s in expand(profile, only, methods) if not is_untrained(s.method)})


def study_settings(profile, dataset: str, method: str) -> dict[str, Any]:
    """What identifies a study of ``method`` on ``dataset`` under ``profile``: a stored study with the same
    settings is reused, any difference reruns it."""
    import optuna

    from benchmark.metrics.registry import lower_is_better

    metric = profile.tuning.metric
    return {
        "metric": metric,
        "direction": "minimize" if lower_is_better(metric) else "maximize",
        "sampler": {"name": "TPESampler", "seed": profile.tuning.seed, "optuna": optuna.__version__},
        "n_trials": profile.tuning.trials,
        "space": {name: r.to_dict() for name, r in sorted(search_space(method).items())},
        "base_key": base_spec(profile, dataset, method).compute_key,
    }


def tune_method(profile, dataset: str, method: str, data_dir: str | None, *,
                done: Sequence[dict[str, Any]] = (), store=None) -> dict[str, Any]:
    """One method's study on ``dataset``: its settings, every trial and the chosen parameters. ``done``: the
    trials an unfinished study stored (replayed, not retrained); ``store`` gets the unfinished entry after each
    newly scored trial but the last (the caller stores the finished entry)."""
    settings = study_settings(profile, dataset, method)
    base = base_spec(profile, dataset, method)
    timing: dict[str, Any] = {}
    # the SFT build the study's trials started from (trials stored before it was recorded carry none)
    known = {"start": next((t["sft_start"] for t in reversed(done) if "sft_start" in t), None)}

    def objective(params: dict[str, float]) -> float:
        start = time.perf_counter()
        score, known["start"] = score_trial(apply_params(base, params), settings["metric"], data_dir,
                                            expected_start=known["start"])
        timing["seconds"] = time.perf_counter() - start
        return score

    def on_trial(trials: list[dict[str, Any]]) -> None:
        trials[-1]["compute_key"] = apply_params(base, trials[-1]["params"]).compute_key
        if "seconds" in timing:  # wall time of training + validation scoring (+ the SFT checkpoint when trained)
            trials[-1]["seconds"] = round(timing.pop("seconds"), 1)
        if known["start"] is not None:
            trials[-1]["sft_start"] = known["start"]
        if store is not None and len(trials) < profile.tuning.trials:  # the last trial is stored with the choice
            store({**settings, "trials": list(trials), "chosen": None})

    trials = run_study(search_space(method), objective, profile.tuning.trials, profile.tuning.seed,
                       settings["direction"], done=done, on_trial=on_trial)
    return {**settings, "trials": trials, "chosen": choose(trials, settings["direction"])}


def stored_study(profile, results_root: Path, dataset: str, method: str) -> dict[str, Any] | None:
    """The stored study of ``method`` on ``dataset`` made with the profile's current settings (finished or not),
    or None when there is none or it was made with other settings (then it is tuned afresh)."""
    stored = ((read_study(study_path(results_root, profile.name, dataset)) or {}).get("methods") or {}).get(method)
    settings = study_settings(profile, dataset, method)
    return stored if stored is not None and all(stored.get(k) == v for k, v in settings.items()) else None


def study_state(profile, results_root: Path, dataset: str, method: str) -> str:
    """What ``grbench tune`` would do with a study: "finished (reused)", "resumes: k of n trials stored" or
    "new" (none stored with these settings)."""
    stored = stored_study(profile, results_root, dataset, method)
    if stored is None:
        return "new"
    if finished(stored):
        return "finished (reused)"
    return f"resumes: {len(stored['trials'])} of {stored['n_trials']} trials stored"


def tune_profile(profile, results_root: Path, *, only: tuple[str, ...] = (), methods: tuple[str, ...] = (),
                 data_dir: str | None = None) -> list[dict[str, Any]]:
    """Run, resume or reuse the study of every (dataset, method) of the plan; write each dataset's study file
    (and its sensitivity CSV and plots) after every trial. Returns one summary per study."""
    from tqdm.auto import tqdm

    summaries = []
    plan = tuning_plan(profile, only, methods)
    for dataset, method in tqdm(plan, desc=f"tune {profile.name}", unit="study", dynamic_ncols=True):
        path = study_path(results_root, profile.name, dataset)
        stored = stored_study(profile, results_root, dataset, method)
        reused = stored is not None and finished(stored)
        if stored is not None and not reused:
            log.info("resuming the study of %s on %s: %d of %d trials stored", method, dataset,
                     len(stored["trials"]), stored["n_trials"])
        store = functools.partial(store_entry, path, profile.name, dataset, method)
        entry = stored if reused else tune_method(profile, dataset, method, data_dir,
                                                  done=stored["trials"] if stored else [], store=store)
        if not reused:
            store(entry)
        summaries.append({"dataset": dataset, "method": method, "study": path, "reused": reused,
                          "chosen": entry["chosen"], "metric": entry["metric"]})
    return summaries


def store_entry(path: Path, profile: str, dataset: str, method: str, entry: dict[str, Any]) -> None:
    """Put one method's (finished or unfinished) study into the study file of ``dataset`` and re-render its
    sensitivity files. Another `grbench tune --method` may write the same file: merge under its lock."""
    from benchmark.tuning.sensitivity import write_sensitivity

    with key_lock(cache_root(), "study-" + hash_json(str(path.resolve()))):
        current = dict((read_study(path) or {}).get("methods") or {})
        current[method] = entry
        write_study(path, profile, dataset, current)
        write_sensitivity(path, current)
