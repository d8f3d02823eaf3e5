"""The experiment matrix: a profile expands into content-addressed run specs.

A run is identified by its resolved configuration. ``compute_key`` hashes everything that affects the
numbers (dataset, data/SID/model/training/evaluation settings, method, seed, swept factor) and not the
experiment name, so a configuration shared by two experiments (Table 1's RAD-DPO row is also Table 2's size-s
row and Figure 2's 100% point) is trained and evaluated once and its result is filed under both.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchmark.artifacts import hash_json
from benchmark.suite.profiles import Profile

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

    def compute_config(self) -> dict[str, Any]:
        """Everything that determines the numbers; the experiment name is deliberately absent."""
        return {
            "method": self.method,
            "seed": self.seed,
            "dataset": self.dataset,
            "data": self.data,
            "sids": self.sids,
            "model": self.model,
            "sft": self.sft,
            "preference": self.preference,
            "method_config": self.method_config,
            "preference_fraction": self.preference_fraction,
            "eval": self.eval,
        }

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
        """What determines the shared SFT checkpoint: every method of one seed starts from it."""
        return {k: self.compute_config()[k] for k in ("seed", "dataset", "data", "sids", "model", "sft")}

    def training_config(self) -> dict[str, Any]:
        """What determines the aligned checkpoint: everything but the evaluation settings, so that changing
        the beam width or the number of test queries re-evaluates without retraining."""
        return {k: v for k, v in self.compute_config().items() if k != "eval"}


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _spec(profile: Profile, experiment: str, method: str, seed: int, **changes: Any) -> RunSpec:
    spec = RunSpec(
        experiment=experiment,
        method=method,
        seed=seed,
        dataset=profile.datasets["primary"],
        data=dict(profile.data),
        sids=dict(profile.sids),
        model=_merge({"size": "s"}, profile.model),
        sft=dict(profile.sft),
        preference=dict(profile.preference),
        eval=dict(profile.eval),
        method_config=dict(profile.methods.get(method, {})),
    )
    return dataclasses.replace(spec, **changes)


def expand(profile: Profile, only: tuple[str, ...] = (), methods: tuple[str, ...] = ()) -> list[RunSpec]:
    """All run specs of ``profile`` in a stable order (experiment, factor, method, seed).

    ``only`` restricts experiments, ``methods`` restricts methods (both empty = everything).
    """
    experiments = [e for e in profile.experiments if not only or e in only]
    specs: list[RunSpec] = []
    for experiment in experiments:
        for seed in profile.seeds:
            specs.extend(_experiment_specs(profile, experiment, seed))
    if methods:
        specs = [s for s in specs if s.method in methods]
    order = {name: i for i, name in enumerate(experiments)}
    # Seed-major within an experiment: an interrupted suite leaves whole seeds finished (one SFT each).
    return sorted(specs, key=lambda s: (order[s.experiment], s.seed, s.dataset, s.compute_key))


def _experiment_specs(profile: Profile, experiment: str, seed: int) -> list[RunSpec]:
    if experiment == "table1":
        return [_spec(profile, "table1", m, seed) for m in TABLE1_METHODS]
    if experiment == "table2":
        return [
            _spec(profile, "table2", m, seed, model=_merge(_spec(profile, "table2", m, seed).model, {"size": size}),
                  variant={"model_size": size})
            for size in profile.table2.sizes
            for m in profile.table2.methods
        ]
    if experiment == "fig2":
        return [
            _spec(profile, "fig2", m, seed, preference_fraction=float(f), variant={"preference_fraction": float(f)})
            for f in profile.fig2.fractions
            for m in profile.fig2.methods
        ]
    if experiment == "noise":
        return [
            _spec(profile, "noise", m, seed, data=_merge(profile.data, {"clicks": dict(level)}), variant=dict(level))
            for level in profile.noise.levels
            for m in profile.noise.methods
        ]
    if experiment == "games":
        methods = TABLE1_METHODS if profile.games.methods == "all" else tuple(profile.games.methods)
        dataset = profile.datasets.get("games", profile.datasets["primary"])
        return [_spec(profile, "games", m, seed, dataset=dataset) for m in methods]
    raise ValueError(f"unknown experiment {experiment!r}")


def shard(specs: list[RunSpec], index: int, count: int) -> list[RunSpec]:
    """Shard ``index`` (1-based) of ``count``: runs sharing an SFT checkpoint stay on one shard when possible."""
    groups: dict[str, list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault(hash_json(spec.sft_config()), []).append(spec)
    keys = sorted(groups)
    mine = [k for i, k in enumerate(keys) if i % count == index - 1]
    chosen = {id(s) for k in mine for s in groups[k]}
    return [s for s in specs if id(s) in chosen]
