"""The run card: what a leaderboard submission declares about the method and how it was trained.

A card is the ``card.yaml`` of a submission directory. It is read with ``yaml.safe_load`` only, after a
pass over the YAML event stream that refuses aliases (the "billion laughs" expansion) and bounds the number
and nesting of nodes, so a hostile card can neither execute anything nor exhaust memory. Its structure is
the frozen dataclasses below; ``results/schema/submission.schema.json`` documents the same structure as a
JSON Schema (a test keeps the two in agreement).

Example (every key is required unless marked optional)::

    schema_version: 1
    benchmark_version: 0.1.0
    method:
      name: my-method                      # [A-Za-z0-9][A-Za-z0-9._+-]{0,63}
      description: one paragraph           # may hold line feeds (so may training_data.other)
      code: https://github.com/me/my-method   # or grbench:<method> for the suite's own methods
      hyperparameters: {lr: 1.0e-4, beta: 2.0}
    seeds: [0, 1, 2]                       # one rankings-seed<N>.parquet (or .csv) per seed
    budget: {optimizer_steps: 300, batch_size: 32, tokens: 1234567}   # flops, examples_seen, details optional
    hardware: 1x NVIDIA H100 80GB
    training_data:
      dataset: amazon18-scientific
      data: {}                             # the benchmark's DataConfig, as a mapping
      sids: {}                             # the benchmark's SidConfig, as a mapping
      other: none                          # optional: any data used beyond the benchmark's training split
    evaluation: {beam_width: 128, max_queries: 1000}   # the benchmark's EvalConfig, as a mapping
    hashes: {test_hash: ..., catalog_hash: ...}        # split_hash optional
    claimed_metrics:                       # optional: mean metrics per seed; re-checked to 1e-6
      0: {item_recall@100: 0.5433}
    submitter: optional name / contact

Free text (description, hardware, training_data.other, submitter) is data: HTML, ``|`` or a leading ``=`` are
accepted and escaped wherever the board renders text (``escape``); control characters are refused, line
feeds included except in the two paragraph fields.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from benchmark.config import ConfigError, check_number, from_dict, to_dict
from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.escape import control_characters

CARD_SCHEMA_VERSION = 1
MAX_CARD_BYTES = 1 << 20          # 1 MiB: a card is metadata, never data
MAX_YAML_NODES = 20_000
MAX_YAML_DEPTH = 32
MAX_SEEDS = 32
MAX_TEXT = 10_000                 # characters in any one string of the card
# The paper's serving width (section 3.1) is also the most ranks a submission may give per query.
MAX_BEAM_WIDTH = 128

METHOD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
# The run schema's "token": a content hash or an artifact name derived from one.
HASH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$")
CODE_LINK = re.compile(r"^(https?://[^\s]+|grbench:[a-z0-9][a-z0-9._-]*)$")
VERSION = re.compile(r"^\d+\.\d+(\.\d+)?([.+-][0-9A-Za-z.+-]+)?$")


# ------------------------------------------------------------------------------------------------ checks
def _text(owner: str, name: str, value: Any, *, required: bool = True, multiline: bool = False) -> None:
    """Free text. Control characters are refused (only a paragraph field may hold line feeds); HTML, ``|`` or a
    leading ``=`` are accepted as data: the board escapes every text it renders (``escape``)."""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_TEXT:
        need = "a non-empty string" if required else "a string"
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be {need} of at most {MAX_TEXT} characters. "
            f"Got {_short(value)} instead."
        )
    found = control_characters(value.replace("\n", "") if multiline else value)
    if found:
        kind = "text whose only control character is the line feed" if multiline else "one line of text"
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be {kind} (no control characters). Got {_short(value)} "
            f"instead, which holds {', '.join(found)}."
        )


def _pattern(owner: str, name: str, value: Any, pattern: re.Pattern[str], what: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"The {name!r} parameter of {owner} must be {what}. Got {_short(value)} instead.")


def _mapping(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ConfigError(f"The {name!r} parameter of {owner} must be a mapping. Got {_short(value)} instead.")
    check_json_value(value, f"{owner}.{name}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_json_value(value: Any, where: str) -> None:
    """Raise ConfigError unless ``value`` is plain JSON data (YAML can also build dates, bytes, sets)."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"{where} must hold finite numbers only. Got {value!r}.")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json_value(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{where} must have string keys only. Got key {_short(key)}.")
            check_json_value(item, f"{where}.{key}")
        return
    raise ConfigError(
        f"{where} must hold plain JSON values (strings, numbers, booleans, null, lists, mappings). "
        f"Got a {type(value).__name__}: {_short(value)}."
    )


# ----------------------------------------------------------------------------------------------- sections
@dataclasses.dataclass(frozen=True)
class MethodInfo:
    """Who the method is: name (the leaderboard row), a description, where its code lives, its settings."""

    name: str
    description: str
    code: str
    hyperparameters: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        _pattern("MethodInfo", "name", self.name, METHOD_NAME,
                 "1-64 characters from [A-Za-z0-9._+-] starting with a letter or digit")
        _text("MethodInfo", "description", self.description, multiline=True)
        _pattern("MethodInfo", "code", self.code, CODE_LINK,
                 "an http(s) URL of the method's code, or grbench:<method> for a method shipped with grbench")
        _mapping("MethodInfo", "hyperparameters", self.hyperparameters)


@dataclasses.dataclass(frozen=True)
class Budget:
    """Training budget actually used per seed (the suite gives every compared method the same one)."""

    optimizer_steps: int
    batch_size: int
    tokens: int
    flops: float | None = None
    examples_seen: int | None = None
    details: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        check_number("Budget", "optimizer_steps", self.optimizer_steps, low=0, integer=True)
        check_number("Budget", "batch_size", self.batch_size, low=1, integer=True)
        check_number("Budget", "tokens", self.tokens, low=0, integer=True)
        if self.flops is not None:
            check_number("Budget", "flops", self.flops, low=0)
            if not math.isfinite(self.flops):
                raise ConfigError(f"The 'flops' parameter of Budget must be finite. Got {self.flops!r} instead.")
        if self.examples_seen is not None:
            check_number("Budget", "examples_seen", self.examples_seen, low=0, integer=True)
        _mapping("Budget", "details", self.details)


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """The benchmark dataset (and its configs) the method trained on, plus any other data it used."""

    dataset: str
    data: dict = dataclasses.field(default_factory=dict)
    sids: dict = dataclasses.field(default_factory=dict)
    other: str = "none"

    def __post_init__(self) -> None:
        _pattern("TrainingData", "dataset", self.dataset, METHOD_NAME, "a benchmark dataset name")
        _mapping("TrainingData", "data", self.data)
        _mapping("TrainingData", "sids", self.sids)
        _text("TrainingData", "other", self.other, multiline=True)


@dataclasses.dataclass(frozen=True)
class Hashes:
    """Provenance: the test split and SID catalog the rankings were produced against."""

    test_hash: str
    catalog_hash: str
    split_hash: str | None = None

    def __post_init__(self) -> None:
        names = ("test_hash", "catalog_hash") + (("split_hash",) if self.split_hash is not None else ())
        for name in names:
            _pattern("Hashes", name, getattr(self, name), HASH, "a content hash ([A-Za-z0-9_.:+-], 1-128 chars)")


@dataclasses.dataclass(frozen=True)
class RunCard:
    """A submission's card. ``claimed_metrics[seed][metric]`` are means the validator recomputes."""

    schema_version: int
    benchmark_version: str
    method: MethodInfo
    seeds: tuple[int, ...]
    budget: Budget
    hardware: str
    training_data: TrainingData
    evaluation: dict
    hashes: Hashes
    claimed_metrics: dict = dataclasses.field(default_factory=dict)
    submitter: str = ""

    def __post_init__(self) -> None:
        for name, cls in (("method", MethodInfo), ("budget", Budget), ("training_data", TrainingData),
                          ("hashes", Hashes)):
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(
                    f"The {name!r} parameter of RunCard must be a mapping ({cls.__name__}). "
                    f"Got {_short(getattr(self, name))} instead."
                )
        if isinstance(self.schema_version, bool) or self.schema_version != CARD_SCHEMA_VERSION:
            raise ConfigError(
                f"The 'schema_version' parameter of RunCard must be {CARD_SCHEMA_VERSION} (the version this "
                f"validator reads). Got {self.schema_version!r} instead."
            )
        _pattern("RunCard", "benchmark_version", self.benchmark_version, VERSION, "a version like 0.1.0")
        seeds = list(self.seeds) if isinstance(self.seeds, (list, tuple)) else None
        if (
            not seeds
            or len(seeds) > MAX_SEEDS
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds)
            or len(set(seeds)) != len(seeds)
        ):
            raise ConfigError(
                f"The 'seeds' parameter of RunCard must be a non-empty list of at most {MAX_SEEDS} distinct "
                f"ints >= 0. Got {_short(seeds if seeds is not None else self.seeds)} instead."
            )
        object.__setattr__(self, "seeds", tuple(seeds))
        _text("RunCard", "hardware", self.hardware)
        _mapping("RunCard", "evaluation", self.evaluation)
        width = self.evaluation.get("beam_width", MAX_BEAM_WIDTH)
        check_number("RunCard", "evaluation.beam_width", width, low=1, high=MAX_BEAM_WIDTH, integer=True)
        object.__setattr__(self, "claimed_metrics", _claims(self.claimed_metrics, self.seeds))
        _text("RunCard", "submitter", self.submitter, required=False)

    @property
    def beam_width(self) -> int:
        return int(self.evaluation.get("beam_width", MAX_BEAM_WIDTH))


def _claims(value: Any, seeds: tuple[int, ...]) -> dict[int, dict[str, float]]:
    """Normalise ``{seed: {metric: mean}}``; YAML may give the seed keys as ints or strings."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"The 'claimed_metrics' parameter of RunCard must be a mapping seed -> {{metric: value}}. "
            f"Got {_short(value)} instead."
        )
    claims: dict[int, dict[str, float]] = {}
    for key, metrics in value.items():
        seed = int(key) if isinstance(key, str) and key.isdigit() else key
        if isinstance(seed, bool) or not isinstance(seed, int) or seed not in seeds:
            raise ConfigError(
                f"The 'claimed_metrics' parameter of RunCard has an entry for seed {key!r}, which is not one "
                f"of the card's seeds {list(seeds)}."
            )
        if not isinstance(metrics, Mapping) or not metrics:
            raise ConfigError(
                f"claimed_metrics[{seed}] must be a non-empty mapping metric -> value. Got {_short(metrics)}."
            )
        clean: dict[str, float] = {}
        for name, number in metrics.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"claimed_metrics[{seed}] has a metric name that is not a string: {name!r}.")
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                raise ConfigError(
                    f"claimed_metrics[{seed}][{name!r}] must be a finite number. Got {_short(number)} instead."
                )
            clean[name] = float(number)
        claims[seed] = dict(sorted(clean.items()))
    return dict(sorted(claims.items()))


# ------------------------------------------------------------------------------------------------ reading
def _check_yaml_events(text: str, where: str) -> None:
    """Refuse aliases and bound the node count and nesting, on the event stream, before anything is built."""
    nodes = depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise SubmissionError(f"{where}: YAML aliases (*name) are not allowed in a run card; write values out.")
            if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                nodes += 1
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            if nodes > MAX_YAML_NODES or depth > MAX_YAML_DEPTH:
                raise SubmissionError(
                    f"{where}: the card is too large or too deeply nested (at most {MAX_YAML_NODES} values, "
                    f"nesting depth {MAX_YAML_DEPTH})."
                )
    except yaml.YAMLError as exc:
        raise SubmissionError(f"{where} is not valid YAML: {exc}") from exc


def parse_card(text: str, where: str = "card.yaml") -> RunCard:
    """Validate card text (safe YAML only) and return the card; every problem is a SubmissionError."""
    _check_yaml_events(text, where)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SubmissionError(f"{where} is not valid YAML: {exc}") from exc
    return card_from_dict(data, where)


def card_from_dict(data: Any, where: str = "card") -> RunCard:
    if not isinstance(data, Mapping):
        raise SubmissionError(f"{where} must hold a mapping at top level, got {type(data).__name__}.")
    missing = _missing_keys(RunCard, data, "")
    if missing:
        raise SubmissionError(f"{where}: missing required key(s): {', '.join(missing)}.")
    try:
        # claimed_metrics may use int seed keys (YAML "0:"); _claims validates that section itself
        check_json_value({k: v for k, v in data.items() if k != "claimed_metrics"}, "card")
        return from_dict(RunCard, data)
    except ConfigError as exc:
        raise SubmissionError(f"{where}: {exc}") from exc


def _missing_keys(cls: type, data: Mapping[str, Any], prefix: str) -> list[str]:
    missing: list[str] = []
    for field in dataclasses.fields(cls):
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if field.name not in data:
            if required:
                missing.append(prefix + field.name)
            continue
        value = data[field.name]
        if isinstance(field.type, str) and field.type in _SECTIONS and isinstance(value, Mapping):
            missing.extend(_missing_keys(_SECTIONS[field.type], value, f"{prefix}{field.name}."))
    return missing


_SECTIONS = {"MethodInfo": MethodInfo, "Budget": Budget, "TrainingData": TrainingData, "Hashes": Hashes}


def load_card(path: Path, max_bytes: int = MAX_CARD_BYTES) -> RunCard:
    """Read and validate a card file (size-bounded, UTF-8, safe YAML). The validator reads a submission's
    card through ``submission.read_submission`` instead, which also refuses links and foreign files."""
    size = path.stat().st_size
    if size > max_bytes:
        raise SubmissionError(f"{path.name} is {size} bytes; a run card may be at most {max_bytes} bytes.")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text: {exc}") from exc
    return parse_card(text, path.name)


def card_to_dict(card: RunCard) -> dict[str, Any]:
    """Plain-JSON form of a card (the form written to card.yaml and hashed)."""
    data = to_dict(card)
    # string seed keys keep the card valid JSON (and JSON Schema-checkable); parsing turns them back to ints
    data["claimed_metrics"] = {str(seed): metrics for seed, metrics in card.claimed_metrics.items()}
    if not data["claimed_metrics"]:
        del data["claimed_metrics"]
    if not data["submitter"]:
        del data["submitter"]
    for section, key in (("hashes", "split_hash"), ("budget", "flops"), ("budget", "examples_seen")):
        if data[section][key] is None:
            del data[section][key]
    return data


def dump_card(card: RunCard) -> str:
    """YAML text of a card, keys in declaration order (human-readable, parses back to an equal card)."""
    return yaml.safe_dump(card_to_dict(card), sort_keys=False, allow_unicode=True, width=100)
