"""The experiment matrix: a profile expands into content-addressed run specs.

A run is identified by its resolved configuration. ``compute_key`` hashes everything that affects the
numbers (dataset, data/SID/model/training/evaluation settings, method, seed, swept factor) and not the
experiment name, so a configuration shared by two experiments (Table 1's RAD-DPO row is also Table 2's size-s
row and Figure 2's 100% point) is trained and evaluated once and its result is filed under both.

``resolve`` turns the spec's plain mappings (the profile's overrides) into the validated config objects of every
stage, and the key hashes those resolved objects, not the overrides: a value written out equal to its default
gives the same key as leaving it out, and a changed code default changes the key of exactly the runs that use it
(an old result is never silently reused for a configuration it did not run). run.json stores the same resolved
configuration, so a reader sees every setting (DPO's beta, the learning rates, the beam width) of a run.
``validate_profile`` resolves every run of a profile up front, so a bad key or value fails before any data is
built or trained.

Which runs an experiment needs is the experiment's own (``benchmark.experiments.<name>.runs``, built with
``spec_for``); ``expand`` only orders them.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any

from benchmark.artifacts import hash_json
from benchmark.config import from_dict, to_dict
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.suite.profiles import FRACTION_BUDGETS, CurveSettings, Profile

if TYPE_CHECKING:
    from benchmark.data.config import DataConfig
    from benchmark.evaluation import EvalConfig
    from benchmark.model.config import ModelConfig
    from benchmark.sids.config import SidConfig
    from benchmark.training.config import TrainConfig

@dataclasses.dataclass(frozen=True)
class RunSpec:
    experiment: str
    method: str
    seed: int
    dataset: str
    data: dict
    sids: dict
    model: dict
    sft: dict
    preference: dict
    eval: dict
    method_config: dict = dataclasses.field(default_factory=dict)
    preference_fraction: float = 1.0
    variant: dict = dataclasses.field(default_factory=dict)
    # Set by benchmark.tuning.apply when the method settings came from a tuning study: what run.json records of
    # it. Not a setting: the settings it chose are in method_config and preference, which the key hashes.
    tuning: dict | None = None
    # The profile's validation-curve settings (CurveSettings as a mapping; {} = none) and the checkpoint the run
    # reports: "final", or "best" (the best-validation snapshot of the curve: then the curve settings decide
    # the numbers and are hashed; a "final" run's key is what it was before curves existed).
    curve: dict = dataclasses.field(default_factory=dict)
    checkpoint: str = "final"
    # With preference_fraction < 1, what stays fixed: "epochs" (the steps scale with the fraction: the paper's
    # reading, one number of passes over the data) or "steps" (the profile's steps: more passes over less data).
    # Hashed only for "steps" below 1.0 (at 1.0 the two are one run), so every "epochs" run keeps its key.
    fraction_budget: str = "epochs"
    # The share of items held out of all training as cold-start items (experiment ``sids``, issue #16;
    # ``benchmark.sids.coldstart``). Hashed only when > 0, so every run without it keeps its key.
    cold_start: float = 0.0

    def compute_config(self) -> dict[str, Any]:
        """Everything that determines the numbers, resolved (every default filled in, as plain JSON); the
        experiment name is deliberately absent. This is what run.json stores as ``config`` and what
        ``compute_key`` hashes."""
        resolved = resolve(self)
        return {
            "method": self.method,
            "seed": self.seed,
            "dataset": self.dataset,
            "data": plain_config(resolved.data),
            "sids": plain_config(resolved.sids),
            "model": plain_config(resolved.model),
            "sft": plain_config(resolved.sft),
            "preference": plain_config(resolved.preference),
            "method_config": plain_config(resolved.method),
            "preference_fraction": float(self.preference_fraction),
            **({"fraction_budget": "steps"} if self.fixed_steps else {}),
            "eval": plain_config(resolved.eval),
            **({"checkpoint": {"report": "best", **self.curve_settings()}} if self.checkpoint == "best" else {}),
            **({"cold_start": _cold_start_config(self.cold_start)} if self.cold_start else {}),
        }

    @property
    def fixed_steps(self) -> bool:
        """Whether a data-scale run keeps the profile's steps (``fraction_budget: steps``, below 100% data)."""
        return self.fraction_budget == "steps" and self.preference_fraction != 1.0

    def curve_settings(self) -> dict[str, Any]:
        """The validation-curve settings, every default filled in (``CurveSettings``)."""
        settings = to_dict(from_dict(CurveSettings, self.curve, "curves."))
        settings.pop("report")  # which checkpoint a table reports is the spec's ``checkpoint``
        return settings

    @property
    def compute_key(self) -> str:
        return hash_json(self.compute_config())

    @property
    def run_id(self) -> str:
        return f"{self.experiment}-{self.method}-seed{self.seed}-{hash_json([self.experiment, self.compute_key], 10)}"

    @property
    def model_size(self) -> str:
        return str(self.model.get("size", "s"))

    def sft_config(self) -> dict[str, Any]:
        """What determines the shared SFT checkpoint (resolved): every method of one seed starts from it."""
        config = self.compute_config()
        return {k: config[k] for k in ("seed", "dataset", "data", "sids", "model", "sft", "cold_start") if k in config}

    def training_config(self) -> dict[str, Any]:
        """What determines the aligned checkpoint: everything but the evaluation settings, so that changing
        the beam width or the number of test queries re-evaluates without retraining."""
        return {k: v for k, v in self.compute_config().items() if k not in ("eval", "checkpoint")}


def _cold_start_config(share: float) -> dict[str, Any]:
    from benchmark.sids.coldstart import cold_start_config

    return cold_start_config(share)


def plain_config(config: Any) -> Any:
    """The JSON form of a resolved config dataclass, as hashed and stored: tuples become lists, and a field
    typed ``float`` is a float even when its default is written as an int (``beta: float = 1``), so the key
    cannot depend on how a default happens to be spelled."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        hints = typing.get_type_hints(type(config))
        out = {}
        omitted = _legacy_omitted(config)
        for field in dataclasses.fields(config):
            if field.name in omitted:
                continue
            value = plain_config(getattr(config, field.name))
            if hints.get(field.name) is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            out[field.name] = value
        return out
    if isinstance(config, (list, tuple)):
        return [plain_config(v) for v in config]
    if isinstance(config, dict):
        return {k: plain_config(v) for k, v in config.items()}
    return to_dict(config)


def _legacy_omitted(config: Any) -> tuple[str, ...]:
    from benchmark.data.config import DataConfig, legacy_omitted
    from benchmark.sids.config import SidConfig
    from benchmark.sids.config import legacy_omitted as sids_legacy_omitted

    if isinstance(config, SidConfig):
        return sids_legacy_omitted(config)
    return legacy_omitted(config) if isinstance(config, DataConfig) else ()


@dataclasses.dataclass(frozen=True)
class ResolvedRun:
    """The validated config objects of one run's stages, built from its spec's plain mappings."""

    data: DataConfig
    sids: SidConfig
    eval: EvalConfig
    method: Any  # an instance of the method's registered config_cls
    sft: TrainConfig
    preference: TrainConfig  # steps already scaled by the spec's preference_fraction
    model: ModelConfig


def resolve(spec: RunSpec) -> ResolvedRun:
    """Build and validate every config of ``spec`` (nothing is built or trained); ConfigError names the
    dotted key (``eval.beam_width``, ``methods.dpo.beta``) of the first bad key or value."""
    # Cheapest imports first: a bad data/sids/eval setting fails before torch and transformers are loaded.
    from benchmark.data.config import DataConfig
    from benchmark.evaluation import EvalConfig
    from benchmark.sids.config import SidConfig

    data = from_dict(DataConfig, spec.data, "data.")
    sids = from_dict(SidConfig, spec.sids, "sids.")
    from benchmark.sids.coldstart import check_share

    check_share(spec.cold_start, "cold_start")
    eval_config = from_dict(EvalConfig, spec.eval, "eval.")

    from benchmark.suite.untrained import NoConfig, is_untrained

    if is_untrained(spec.method):  # a non-learned baseline or the SFT start: no method settings to resolve
        method = from_dict(NoConfig, spec.method_config, f"methods.{spec.method}.")
    else:
        from benchmark.methods import get_method

        method = from_dict(get_method(spec.method).config_cls, spec.method_config, f"methods.{spec.method}.")

    from benchmark.model.config import ModelConfig

    sft = _train_config(spec.sft, spec.seed, "sft.")
    if spec.fraction_budget not in FRACTION_BUDGETS:
        raise ConfigError(f"The 'fraction_budget' of a run must be one of {list(FRACTION_BUDGETS)}. "
                          f"Got {spec.fraction_budget!r} instead.")
    scale = 1.0 if spec.fixed_steps else spec.preference_fraction
    preference = _train_config(spec.preference, spec.seed, "preference.", scale)
    model = from_dict(ModelConfig, spec.model, "model.")
    return ResolvedRun(data, sids, eval_config, method, sft, preference, model)


def _train_config(settings: dict, seed: int, path: str, steps_scale: float = 1.0) -> TrainConfig:
    """The stage's TrainConfig as the suite trains it: the run's seed, and the steps scaled for a data-scale
    run (the same rule as ``benchmark.suite.stages``), so a warm-up longer than the scaled budget fails here."""
    from benchmark.training.config import TrainConfig

    settings = {**settings, "seed": seed}
    config = from_dict(TrainConfig, settings, path)
    if steps_scale == 1.0:
        return config
    return from_dict(TrainConfig, {**settings, "steps": max(1, round(config.steps * steps_scale))}, path)


def validate_profile(profile: Profile) -> None:
    """Check every name and resolve every run of ``profile``, or raise ConfigError naming the dotted key.

    Covers dataset names, every method named anywhere (``methods.<name>``, ``table1.methods``, ...) and its
    settings, and every run of every experiment, listed in ``experiments`` or not (``--set
    experiments=[table2]`` must not reveal a bad ``table2.sizes`` only after Table 1 has trained): table2
    sizes, fig2 fractions and noise levels change a run's model, budget and data.
    """
    from benchmark.data.registry import get_spec
    from benchmark.experiments import experiment_names
    from benchmark.methods import get_method

    for key, name in profile.datasets.items():
        if name is not None:
            _named(f"datasets.{key}", get_spec, name)
    method_lists = {
        "table1.methods": profile.table1.methods,
        "table2.methods": profile.table2.methods,
        "fig2.methods": profile.fig2.methods,
        "noise.methods": profile.noise.methods,
        "games.methods": () if profile.games.methods == "all" else profile.games.methods,
        "rl.methods": profile.rl.methods,
    }
    for key, names in method_lists.items():
        for name in names:
            _named(key, get_method, name)
    from benchmark.suite.untrained import is_untrained, untrained_names

    for name in profile.table1.baselines:
        if not isinstance(name, str) or not is_untrained(name):
            from benchmark.registry import unknown_name_message

            raise ConfigError(f"table1.baselines: {unknown_name_message('baseline', str(name), untrained_names())}")
    for name, settings in profile.methods.items():
        method = _named(f"methods.{name}", get_method, name)
        from_dict(method.config_cls, settings, f"methods.{name}.")
    seen: set[str] = set()
    for spec in expand(dataclasses.replace(profile, experiments=experiment_names())):
        # Not compute_key: that resolves the spec, which is what is being checked here.
        if overrides_key(spec) in seen:
            continue
        seen.add(overrides_key(spec))
        try:
            resolve(spec)
        except ConfigError as exc:
            if not spec.variant:
                raise
            # The bad value came from the experiment's sweep (e.g. a noise level), not the section it lands in.
            raise ConfigError(f"{exc} (in the {spec.experiment} runs with {spec.variant})") from exc


def _named(key: str, lookup: Any, name: Any) -> Any:
    """``lookup(name)`` from a registry, its unknown-name error (with suggestions) prefixed by the profile key."""
    if not isinstance(name, str):
        raise ConfigError(f"{key}: names must be strings. Got {name!r} instead.")
    try:
        return lookup(name)
    except BenchmarkError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{key}: {exc}") from exc


def merge(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` merged in, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def spec_for(profile: Profile, experiment: str, method: str, seed: int, **changes: Any) -> RunSpec:
    """The run of ``method`` and ``seed`` with the profile's settings, ``changes`` (an experiment's swept factor)
    applied; an experiment's ``runs`` builds its run list from these."""
    spec = RunSpec(
        experiment=experiment,
        method=method,
        seed=seed,
        dataset=profile.datasets["primary"],
        data=dict(profile.data),
        sids=dict(profile.sids),
        model=merge({"size": "s"}, profile.model),
        sft=dict(profile.sft),
        preference=dict(profile.preference),
        eval=dict(profile.eval),
        method_config=dict(profile.methods.get(method) or {}),
        curve=to_dict(profile.curves),
    )
    return dataclasses.replace(spec, **changes)


def expand(profile: Profile, only: tuple[str, ...] = (), methods: tuple[str, ...] = ()) -> list[RunSpec]:
    """All run specs of ``profile`` in a stable order (experiment, factor, method, seed).

    ``only`` restricts experiments, ``methods`` restricts methods (both empty = everything).
    """
    from benchmark.experiments import get_experiment  # its modules import this one

    experiments = [e for e in profile.experiments if not only or e in only]
    specs: list[RunSpec] = []
    for experiment in experiments:
        runs = get_experiment(experiment).runs
        for seed in profile.seeds:
            specs.extend(runs(profile, seed))
    if methods:
        specs = [s for s in specs if s.method in methods]
    order = {name: i for i, name in enumerate(experiments)}
    # Seed-major within an experiment: an interrupted suite leaves whole seeds finished (one SFT each).
    return sorted(specs, key=lambda s: (order[s.experiment], s.seed, s.dataset, overrides_key(s)))


def overrides_key(spec: RunSpec) -> str:
    """A hash of the spec's settings as written (not resolved): a stable order and a cheap de-duplication that
    work before a spec is known to resolve."""
    # cold_start only when set: every spec without it keeps the hash (and the run order) it had before it existed
    return hash_json({k: v for k, v in dataclasses.asdict(spec).items()
                      if k not in ("experiment", "variant", "tuning", "curve") and (k != "cold_start" or v)})


def shard(specs: list[RunSpec], index: int, count: int) -> list[RunSpec]:
    """Shard ``index`` (1-based) of ``count``: runs sharing an SFT checkpoint stay on one shard when possible."""
    groups: dict[str, list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault(hash_json(spec.sft_config()), []).append(spec)
    keys = sorted(groups)
    mine = [k for i, k in enumerate(keys) if i % count == index - 1]
    chosen = {id(s) for k in mine for s in groups[k]}
    return [s for s in specs if id(s) in chosen]
