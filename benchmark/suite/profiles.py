"""Profiles: how much of the experiment matrix to run, at what budget (DESIGN.md section 9).

A profile is a YAML file in ``benchmark/suite/profiles``; it is loaded into the frozen, validated
``Profile`` below. Stage settings (``data``, ``sids``, ``model``, ``sft``, ``preference``, ``eval``,
``methods.<name>``) are plain mappings here (they are what run keys hash); ``load_profile`` validates them
through the owning stage's own config class by resolving every run of the profile
(``benchmark.suite.matrix.validate_profile``), so a profile with a key its stage does not know, or a value out
of range, fails when it is loaded, before any data is built or anything is trained.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from benchmark.config import (
    ConfigError,
    apply_overrides,
    check_choice,
    check_int_list,
    check_number,
    from_dict,
    load_yaml,
)
from benchmark.errors import BenchmarkError
from benchmark.registry import unknown_name_message

PROFILE_NAMES = ("smoke", "quick", "full")
# Mappings validated by a stage's config class when the profile's runs are resolved; None (an empty YAML
# section) means no settings.
SECTIONS = ("data", "sids", "model", "sft", "preference", "eval", "methods")


def _check_list(owner: str, name: str, value: Any) -> None:
    # A bare string is iterable: without this, "table1" would be checked letter by letter.
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"The {name!r} parameter of {owner} must be a list. Got {value!r} instead.")


# The paper's Table 1 rows; a profile's ``table1.methods`` replaces them (names checked by ``validate_profile``).
TABLE1_METHODS = (
    "sft",
    "dpo",
    "simpo",
    "orpo",
    "raddpo",
    "raddpo-no-tlgd",
    "raddpo-no-rdrw",
    "raddpo-no-mlsft",
)


# Rows that train nothing in the preference stage, evaluated beside every trained method of Table 1 (and
# games): the retrieval baselines (``benchmark.retrieval``, the trained dual tower included) and the SFT
# checkpoint every method starts from (``sft-start``). A trained row means something only next to them (names
# checked by ``validate_profile``).
TABLE1_BASELINES = ("popularity", "query-lookup", "dense-zeroshot", "dense-dualtower", "sft-start")


@dataclasses.dataclass(frozen=True)
class Table1Settings:
    methods: tuple[str, ...] = TABLE1_METHODS
    baselines: tuple[str, ...] = TABLE1_BASELINES

    def __post_init__(self) -> None:
        _check_list("Table1Settings", "methods", self.methods)
        _check_list("Table1Settings", "baselines", self.baselines)
        if not self.methods:
            raise ConfigError("The 'methods' parameter of Table1Settings must be a non-empty list. Got [].")


@dataclasses.dataclass(frozen=True)
class Table2Settings:
    sizes: tuple[str, ...] = ("xs", "s", "m", "l")
    methods: tuple[str, ...] = ("sft", "dpo", "raddpo")

    def __post_init__(self) -> None:
        _check_list("Table2Settings", "sizes", self.sizes)
        _check_list("Table2Settings", "methods", self.methods)


FRACTION_BUDGETS = ("epochs", "steps")  # what a data-scale run keeps fixed (RunSpec.fraction_budget)


@dataclasses.dataclass(frozen=True)
class Fig2Settings:
    """Figure 2: ``methods`` at each preference-data ``fractions``, under each of ``budgets``: ``epochs`` (the
    preference steps scale with the fraction: one number of passes, the paper's reading) and/or ``steps`` (the
    profile's steps at every fraction: more passes over less data), so data and steps can be told apart."""

    fractions: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    methods: tuple[str, ...] = ("sft", "dpo", "raddpo")
    budgets: tuple[str, ...] = ("epochs",)

    def __post_init__(self) -> None:
        _check_list("Fig2Settings", "fractions", self.fractions)
        _check_list("Fig2Settings", "methods", self.methods)
        _check_list("Fig2Settings", "budgets", self.budgets)
        for budget in self.budgets:
            check_choice("Fig2Settings", "budgets", budget, FRACTION_BUDGETS)
        if not self.fractions:
            raise ConfigError("The 'fractions' parameter of Fig2Settings must be a non-empty list. Got [].")
        for value in self.fractions:
            check_number("Fig2Settings", "fractions", value, low=0.0, high=1.0, low_open=True)


@dataclasses.dataclass(frozen=True)
class NoiseSettings:
    levels: tuple[dict, ...] = ()
    methods: tuple[str, ...] = ("sft", "dpo", "simpo", "orpo", "raddpo")

    def __post_init__(self) -> None:
        _check_list("NoiseSettings", "levels", self.levels)
        _check_list("NoiseSettings", "methods", self.methods)
        for level in self.levels:
            if not isinstance(level, dict) or not level:
                raise ConfigError(
                    f"Each entry of 'noise.levels' must be a mapping of click-model overrides "
                    f"(e.g. {{eta: 1.0, noise_floor: 0.05}}). Got {level!r} instead."
                )


@dataclasses.dataclass(frozen=True)
class RlSettings:
    """Experiment ``rl`` (issue #15): the reward-guided methods beside continued SFT and RAD-DPO, from the same SFT
    checkpoint on the same budget. ``methods`` train once each; ``mixtures``: one ``nll-grpo`` run per lam."""

    methods: tuple[str, ...] = ("sft", "raddpo", "grpo", "eg-grpo", "adagrpo")
    mixtures: tuple[float, ...] = (0.1, 0.5, 1.0)

    def __post_init__(self) -> None:
        _check_list("RlSettings", "methods", self.methods)
        _check_list("RlSettings", "mixtures", self.mixtures)
        for lam in self.mixtures:
            check_number("RlSettings", "mixtures", lam, low=0.0)


# The SID builders of experiment ``sids`` (issue #16), the methods trained on each builder's catalog, and the rows
# that train nothing (``sft-start``: what SFT alone does with each ID scheme).
SID_BUILDERS = ("rqkmeans", "dualtower", "sci")


@dataclasses.dataclass(frozen=True)
class SidBuildersSettings:
    """Experiment ``sids`` (issue #16, profile key ``sid_builders``; ``sids`` is the SID-config section): every
    builder of ``builders`` gets its own SFT checkpoint (same budget), then each method of ``methods`` and each
    untrained row of ``baselines`` on top. ``retrievers``: the retrieval baselines (no generative model, no SIDs
    of their own), run once per seed on the same cold-start split and ranked into the default catalog, so every
    builder's bucket and cold scores are read beside them. Names are checked against the SID-builder, method,
    baseline and retriever registries. The table marks each builder's row against the ``rqkmeans`` row of the same method.
    ``cold_start``: the share of items held out of all training as cold-start items (``benchmark.sids.coldstart``;
    issue #16's default 5%); 0 trains on the full split, so the ``rqkmeans`` rows reuse the other experiments'
    runs.
    ``max_seeds``: run only the first this many of the profile's seeds (default: all of them). Each builder trains
    its own SFT checkpoint per seed, so the smoke profile (part of the test suite) runs its first seed only."""

    builders: tuple[str, ...] = SID_BUILDERS
    methods: tuple[str, ...] = ("sft", "raddpo")
    baselines: tuple[str, ...] = ("sft-start",)
    retrievers: tuple[str, ...] = tuple(m for m in TABLE1_BASELINES if m != "sft-start")  # Table 1's, in its order
    cold_start: float = 0.05  # benchmark.sids.coldstart.DEFAULT_COLD_START
    max_seeds: int | None = None

    def __post_init__(self) -> None:
        from benchmark.methods import get_method
        from benchmark.retrieval import is_retriever, retriever_names
        from benchmark.sids.builders import get_builder
        from benchmark.sids.coldstart import check_share
        from benchmark.suite.untrained import is_untrained, untrained_names

        for name in ("builders", "methods", "baselines", "retrievers"):
            _check_list("SidBuildersSettings", name, getattr(self, name))
        if self.max_seeds is not None:
            check_number("SidBuildersSettings", "max_seeds", self.max_seeds, low=1, integer=True)
        object.__setattr__(self, "cold_start", check_share(self.cold_start, "sid_builders.cold_start"))
        if not self.builders:
            raise ConfigError("The 'builders' parameter of SidBuildersSettings must be a non-empty list. Got [].")
        for key, names, lookup in (("builders", self.builders, get_builder), ("methods", self.methods, get_method)):
            for name in names:
                try:
                    lookup(name)
                except BenchmarkError as exc:  # unknown name: "Did you mean ... / Available: ..."
                    raise ConfigError(f"sid_builders.{key}: {exc}") from exc
        if len(set(self.builders)) != len(self.builders):
            raise ConfigError(f"The 'builders' parameter of SidBuildersSettings lists a builder twice. "
                              f"Got {list(self.builders)} instead.")
        for baseline in self.baselines:
            if not isinstance(baseline, str) or not is_untrained(baseline):
                raise ConfigError("sid_builders.baselines: "
                                  + unknown_name_message("baseline", str(baseline), untrained_names()))
        for retriever in self.retrievers:
            if not isinstance(retriever, str) or not is_retriever(retriever):
                raise ConfigError("sid_builders.retrievers: "
                                  + unknown_name_message("retriever", str(retriever), retriever_names()))


@dataclasses.dataclass(frozen=True)
class GamesSettings:
    methods: str | tuple[str, ...] = "all"  # "all": Table 1's methods (``table1.methods``)

    def __post_init__(self) -> None:
        if self.methods != "all" and not isinstance(self.methods, (list, tuple)):
            raise ConfigError(
                f"The 'methods' parameter of GamesSettings must be 'all' or a list of method names. "
                f"Got {self.methods!r} instead."
            )


@dataclasses.dataclass(frozen=True)
class TuningSettings:
    """``grbench tune`` (``benchmark.tuning``): ``trials`` per method, the same for every method; the study's
    selection ``metric``, scored on the validation split; the TPE sampler's ``seed``; and ``use``: whether
    ``grbench run`` trains each tuned method with the configuration its study chose (and records the study)."""

    trials: int = 16
    metric: str = "target_hit@10"
    seed: int = 0
    use: bool = False

    def __post_init__(self) -> None:
        from benchmark.metrics.registry import is_metric_name, unknown_metric_message

        check_number("TuningSettings", "trials", self.trials, low=1, integer=True)
        check_number("TuningSettings", "seed", self.seed, low=0, integer=True)
        if not is_metric_name(self.metric):
            raise ConfigError(f"The 'metric' parameter of TuningSettings: {unknown_metric_message(self.metric)}")
        if not isinstance(self.use, bool):
            raise ConfigError(f"The 'use' parameter of TuningSettings must be one of [True, False]. "
                              f"Got {self.use!r} instead.")


REPORTED_CHECKPOINTS = ("final", "best")


@dataclasses.dataclass(frozen=True)
class CurveSettings:
    """Validation curves (``benchmark.suite.curves``): every trained run of the preference stage is also saved at
    ``points`` evenly spaced optimizer steps and each snapshot is scored on the first ``max_queries`` queries of
    the VALIDATION split (0 points: no curves). ``metric`` picks the best-validation checkpoint; ``report``
    says which checkpoint Table 1 reports (``final`` or ``best``; the rl table always shows both)."""

    points: int = 4
    max_queries: int = 300
    metric: str = "target_hit@10"
    report: str = "final"

    def __post_init__(self) -> None:
        from benchmark.metrics.registry import is_metric_name, unknown_metric_message

        check_number("CurveSettings", "points", self.points, low=0, integer=True)
        check_number("CurveSettings", "max_queries", self.max_queries, low=1, integer=True)
        check_choice("CurveSettings", "report", self.report, REPORTED_CHECKPOINTS)
        if not is_metric_name(self.metric):
            raise ConfigError(f"The 'metric' parameter of CurveSettings: {unknown_metric_message(self.metric)}")
        if self.report == "best" and self.points == 0:
            raise ConfigError("The 'report' parameter of CurveSettings is 'best', which needs a validation curve: "
                              "set curves.points to 1 or more.")


@dataclasses.dataclass(frozen=True)
class DatasetNames:
    """The keys a profile's ``datasets`` mapping may hold; the names are checked against the data registry
    when the profile is validated."""

    primary: str | None = None
    games: str | None = None


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str = "custom"
    description: str = ""
    seeds: tuple[int, ...] = (0,)
    datasets: dict = dataclasses.field(default_factory=lambda: {"primary": "amazon18-scientific"})
    experiments: tuple[str, ...] = ("table1",)
    data: dict = dataclasses.field(default_factory=dict)
    sids: dict = dataclasses.field(default_factory=dict)
    model: dict = dataclasses.field(default_factory=dict)
    sft: dict = dataclasses.field(default_factory=dict)
    preference: dict = dataclasses.field(default_factory=dict)
    eval: dict = dataclasses.field(default_factory=dict)
    # Per-method config overrides, e.g. {raddpo: {beta: 2.0}}; validated by each method's config class.
    methods: dict = dataclasses.field(default_factory=dict)
    table1: Table1Settings = dataclasses.field(default_factory=Table1Settings)
    table2: Table2Settings = dataclasses.field(default_factory=Table2Settings)
    fig2: Fig2Settings = dataclasses.field(default_factory=Fig2Settings)
    noise: NoiseSettings = dataclasses.field(default_factory=NoiseSettings)
    games: GamesSettings = dataclasses.field(default_factory=GamesSettings)
    rl: RlSettings = dataclasses.field(default_factory=RlSettings)
    sid_builders: SidBuildersSettings = dataclasses.field(default_factory=SidBuildersSettings)
    tuning: TuningSettings = dataclasses.field(default_factory=TuningSettings)
    curves: CurveSettings = dataclasses.field(default_factory=CurveSettings)

    def __post_init__(self) -> None:
        from benchmark.experiments import experiment_names  # experiment modules import this one

        for name in ("datasets", *SECTIONS):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, {})
            elif not isinstance(value, dict):
                raise ConfigError(
                    f"The {name!r} parameter of Profile must be a mapping of settings. Got {value!r} instead."
                )
        check_int_list("Profile", "seeds", self.seeds, low=0)
        _check_list("Profile", "experiments", self.experiments)
        for experiment in self.experiments:
            check_choice("Profile", "experiments", experiment, experiment_names())
        from_dict(DatasetNames, self.datasets, "datasets.")
        if "primary" not in self.datasets:
            raise ConfigError("The 'datasets' parameter of Profile must name a 'primary' dataset.")


def profile_path(name: str) -> Path:
    if name not in PROFILE_NAMES:
        path = Path(name)
        if path.suffix in (".yaml", ".yml") and path.is_file():
            return path
        raise ConfigError(unknown_name_message("profile", name, list(PROFILE_NAMES)) + " (or a path to a YAML file)")
    return Path(str(resources.files("benchmark.suite") / "profiles" / f"{name}.yaml"))


def load_profile(name: str, overrides: Iterable[str] = ()) -> Profile:
    """Load a named profile (smoke, quick, full) or a YAML path, with dotted overrides (``sft.steps=10``).

    Every key and value of every section is validated here (ConfigError naming the dotted key), so a typo
    fails before a run starts rather than after its SFT and preference stages.
    """
    from benchmark.suite.matrix import validate_profile  # matrix imports this module

    path = profile_path(name)
    data: Mapping[str, Any] = apply_overrides(load_yaml(path), overrides)
    data = {**data, "name": data.get("name", path.stem)}
    profile = from_dict(Profile, data)
    validate_profile(profile)
    return profile
