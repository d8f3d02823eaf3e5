"""Profiles: how much of the experiment matrix to run, at what budget (DESIGN.md section 9).

A profile is a YAML file in ``benchmark/suite/profiles``; it is loaded into the frozen, validated
``Profile`` below. Stage settings (``data``, ``sids``, ``model``, ``sft``, ``preference``, ``eval``) are
plain mappings here and are validated by the owning stage's own config class when a run is resolved, so a
profile can never carry a key its stage does not know.
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
from benchmark.registry import unknown_name_message

EXPERIMENTS = ("table1", "table2", "fig2", "noise", "games")
PROFILE_NAMES = ("smoke", "quick", "full")


@dataclasses.dataclass(frozen=True)
class Table2Settings:
    sizes: tuple[str, ...] = ("xs", "s", "m", "l")
    methods: tuple[str, ...] = ("sft", "dpo", "raddpo")


@dataclasses.dataclass(frozen=True)
class Fig2Settings:
    fractions: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    methods: tuple[str, ...] = ("sft", "dpo", "raddpo")

    def __post_init__(self) -> None:
        if not self.fractions:
            raise ConfigError("The 'fractions' parameter of Fig2Settings must be a non-empty list. Got [].")
        for value in self.fractions:
            check_number("Fig2Settings", "fractions", value, low=0.0, high=1.0, low_open=True)


@dataclasses.dataclass(frozen=True)
class NoiseSettings:
    levels: tuple[dict, ...] = ()
    methods: tuple[str, ...] = ("sft", "dpo", "simpo", "orpo", "raddpo")

    def __post_init__(self) -> None:
        for level in self.levels:
            if not isinstance(level, dict) or not level:
                raise ConfigError(
                    f"Each entry of 'noise.levels' must be a mapping of click-model overrides "
                    f"(e.g. {{eta: 1.0, noise_floor: 0.05}}). Got {level!r} instead."
                )


@dataclasses.dataclass(frozen=True)
class GamesSettings:
    methods: str | tuple[str, ...] = "all"


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
    table2: Table2Settings = dataclasses.field(default_factory=Table2Settings)
    fig2: Fig2Settings = dataclasses.field(default_factory=Fig2Settings)
    noise: NoiseSettings = dataclasses.field(default_factory=NoiseSettings)
    games: GamesSettings = dataclasses.field(default_factory=GamesSettings)

    def __post_init__(self) -> None:
        check_int_list("Profile", "seeds", list(self.seeds), low=0)
        for experiment in self.experiments:
            check_choice("Profile", "experiments", experiment, EXPERIMENTS)
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
    """Load a named profile (smoke, quick, full) or a YAML path, with dotted overrides (``sft.steps=10``)."""
    path = profile_path(name)
    data: Mapping[str, Any] = apply_overrides(load_yaml(path), overrides)
    data = {**data, "name": data.get("name", path.stem)}
    return from_dict(Profile, data)
