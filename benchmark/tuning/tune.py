"""``grbench tune``: for each trained method of a profile, on each dataset it runs on, one seeded TPE study of
``tuning.trials`` trials (the same number for every method).

A trial is a run of the suite's own stages (``benchmark.suite.stages``): the shared SFT checkpoint of the
profile's first seed, the method trained with its full preference budget at the sampled parameters, then beam
search over the VALIDATION split, scored by the profile's ``tuning.metric`` (mean over queries). The stages get
the prepared data with the test split withheld (``withhold_test``): a trial that touched it would fail, so no
tuning decision can depend on test data. Trial checkpoints are cached like every run's, under the key of their
training configuration: the run that later uses the chosen configuration on that seed reuses its checkpoint.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.artifacts import cache_root, hash_json
from benchmark.errors import DataError
from benchmark.locks import key_lock
from benchmark.tuning.apply import apply_params, base_spec
from benchmark.tuning.space import search_space
from benchmark.tuning.study import SPLIT, choose, read_study, run_study, study_path, write_study

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


def score_trial(spec, metric: str, data_dir: str | None) -> float:
    """Train ``spec`` from its seed's shared SFT checkpoint and score ``metric`` on the validation split."""
    from benchmark.suite.matrix import resolve
    from benchmark.suite.stages import evaluate, method_checkpoint, prepare, sft_checkpoint

    prepared = withhold_test(prepare(spec, data_dir))
    sft_dir = sft_checkpoint(spec, prepared)
    trained = method_checkpoint(spec, prepared, sft_dir)
    evaluation = evaluate(trained.checkpoint_dir, prepared, resolve(spec).eval, split=SPLIT)
    if metric not in evaluation.per_query:
        raise DataError(f"The selection metric {metric!r} is not computed under this profile's eval settings; "
                        f"computed: {', '.join(sorted(evaluation.per_query))}.")
    return float(np.mean(evaluation.per_query[metric]))


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


def tune_method(profile, dataset: str, method: str, data_dir: str | None) -> dict[str, Any]:
    """One method's study on ``dataset``: its settings, every trial and the chosen parameters."""
    settings = study_settings(profile, dataset, method)
    base = base_spec(profile, dataset, method)
    keys: dict[int, str] = {}

    def objective(params: dict[str, float]) -> float:
        spec = apply_params(base, params)
        keys[len(keys)] = spec.compute_key
        return score_trial(spec, settings["metric"], data_dir)

    trials = run_study(search_space(method), objective, profile.tuning.trials, profile.tuning.seed,
                       settings["direction"])
    for trial in trials:
        trial["compute_key"] = keys[trial["number"]]
    return {**settings, "trials": trials, "chosen": choose(trials, settings["direction"])}


def tune_profile(profile, results_root: Path, *, only: tuple[str, ...] = (), methods: tuple[str, ...] = (),
                 data_dir: str | None = None) -> list[dict[str, Any]]:
    """Run (or reuse) the study of every (dataset, method) of the plan; write each dataset's study file after
    each method, and its sensitivity CSV and plots. Returns one summary per study."""
    from tqdm.auto import tqdm

    from benchmark.tuning.sensitivity import write_sensitivity

    summaries = []
    plan = tuning_plan(profile, only, methods)
    for dataset, method in tqdm(plan, desc=f"tune {profile.name}", unit="study", dynamic_ncols=True):
        path = study_path(results_root, profile.name, dataset)
        stored = ((read_study(path) or {}).get("methods") or {}).get(method)
        settings = study_settings(profile, dataset, method)
        reused = stored is not None and all(stored.get(k) == v for k, v in settings.items())
        entry = stored if reused else tune_method(profile, dataset, method, data_dir)
        if not reused:
            # Another `grbench tune --method` may write the same file: merge under its lock.
            with key_lock(cache_root(), "study-" + hash_json(str(path.resolve()))):
                current = dict((read_study(path) or {}).get("methods") or {})
                current[method] = entry
                write_study(path, profile.name, dataset, current)
                write_sensitivity(path, current)
        summaries.append({"dataset": dataset, "method": method, "study": path, "reused": reused,
                          "chosen": entry["chosen"], "metric": entry["metric"]})
    return summaries
