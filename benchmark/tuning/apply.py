"""Tuned configurations in runs: a study's parameters applied to a run spec, and ``grbench run`` with
``tuning.use: true`` taking each method's chosen configuration from the profile's study files.

A tuned run is a different configuration (its method settings and ``preference.lr`` are the study's choice), so
it has its own compute key and run id; the untuned runs keep theirs. Its run.json records the study
(``RunRecord.tuning``): the study file (relative to the results root), the hash of the method's study, the
chosen parameters, the selection metric and the validation score.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import ConfigError
from benchmark.tuning.space import check_params, split_params
from benchmark.tuning.study import entry_hash, finished, read_study, study_path

if TYPE_CHECKING:
    from benchmark.suite.matrix import RunSpec
    from benchmark.suite.profiles import Profile

TUNE_EXPERIMENT = "tune"  # the experiment name of a trial's spec (run ids do not hash it into the compute key)


def apply_params(spec: RunSpec, params: dict[str, float]) -> RunSpec:
    """``spec`` with tuned ``params`` (checked against the method's search space) in its method settings and
    its preference stage."""
    settings, preference = split_params(check_params(spec.method, params))
    return dataclasses.replace(spec, method_config={**spec.method_config, **settings},
                               preference={**spec.preference, **preference})


def base_spec(profile: Profile, dataset: str, method: str) -> RunSpec:
    """The untuned configuration a study of ``method`` on ``dataset`` starts from: the profile's settings, its
    first seed (the SFT checkpoint the trials share)."""
    from benchmark.suite.matrix import spec_for

    return spec_for(profile, TUNE_EXPERIMENT, method, profile.seeds[0], dataset=dataset)


def tuned_specs(specs: list[RunSpec], profile: Profile, results_root: Path) -> list[RunSpec]:
    """``specs`` with each trained method's chosen configuration applied, when ``profile.tuning.use``.

    Every seed, size, fraction and noise level of a method on a dataset uses the one configuration chosen on
    that dataset. A parameter that a run's variant pins (the rl experiment's fixed NLL-GRPO mixtures,
    variant {"lam": 0.1}) keeps the variant's value, the rest of the chosen configuration applies, and run.json
    records it under ``held``: otherwise every mixture row would silently run the study's lam under its own
    label. A method without a study, or whose study was made from other profile settings, is a ConfigError
    saying which ``grbench tune`` to run.
    """
    if not profile.tuning.use:
        return specs
    from benchmark.suite.untrained import is_untrained

    records: dict[tuple[str, str], dict[str, Any]] = {}
    out = []
    for spec in specs:
        if is_untrained(spec.method):
            out.append(spec)
            continue
        key = (spec.dataset, spec.method)
        if key not in records:
            records[key] = study_record(profile, spec.dataset, spec.method, Path(results_root))
        record = records[key]
        held = {name: spec.variant[name] for name in record["params"] if name in spec.variant}
        chosen = {name: value for name, value in record["params"].items() if name not in held}
        out.append(dataclasses.replace(apply_params(spec, chosen),
                                       tuning={**record, "held": held} if held else record))
    return out


def study_record(profile: Profile, dataset: str, method: str, results_root: Path) -> dict[str, Any]:
    """What a tuned run records of its study (``RunRecord.tuning``)."""
    path = study_path(results_root, profile.name, dataset)
    study = read_study(path)
    entry = (study or {}).get("methods", {}).get(method)
    command = f"grbench tune --profile {profile.name} --method {method} --results {results_root}"
    if entry is None:
        raise ConfigError(f"tuning.use is true, but {path} holds no study of method {method!r} on {dataset}. "
                          f"Run `{command}` first, or set tuning.use=false.")
    if not finished(entry):
        raise ConfigError(f"tuning.use is true, but the study of method {method!r} in {path} is unfinished: "
                          f"{len(entry.get('trials') or ())} of {entry.get('n_trials')} trials scored. Run "
                          f"`{command}` to finish it (it resumes from the stored trials), or set tuning.use=false.")
    if entry["base_key"] != base_spec(profile, dataset, method).compute_key:
        raise ConfigError(f"The study of method {method!r} in {path} was made from other profile settings than "
                          f"profile {profile.name!r} has now (a stale study). Run `{command}` again.")
    return {
        "study": path.relative_to(results_root).as_posix(),
        "study_hash": entry_hash(entry),
        "params": check_params(method, entry["chosen"]["params"]),
        "metric": entry["metric"],
        "split": study["split"],
        "trial": entry["chosen"]["trial"],
        "score": entry["chosen"]["score"],
    }
