"""Validated, frozen configuration dataclasses loaded from YAML plus dotted overrides.

Every config in the project is a frozen dataclass whose ``__post_init__`` validates its fields with the
``check_*`` helpers below, so an out-of-range value fails where it is set with a message that names the
parameter, the allowed range and the value received (scikit-learn style). ``from_dict`` rejects unknown keys
and suggests the closest known one; given the dotted path of a section (``"methods.raddpo."``) it names every
key, and every out-of-range value, by its full dotted key.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from benchmark.errors import ConfigError

C = TypeVar("C")


# ----------------------------------------------------------------------------------------------- validation
def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise ConfigError unless ``value`` is a number in the given interval."""
    kind = "an int" if integer else "a float"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (not integer and math.isnan(value)):
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be {kind} in the range "
            f"{_interval(low, high, low_open, high_open)}. Got {value!r} instead."
        )
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be {kind} in the range "
            f"{_interval(low, high, low_open, high_open)}. Got {value!r} instead."
        )


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = list(choices)
    if value not in choices:
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be one of {choices}. Got {value!r} instead."
        )


def check_int_list(owner: str, name: str, value: Any, *, low: int = 1, nonempty: bool = True) -> None:
    if (
        not isinstance(value, (list, tuple))
        or (nonempty and not value)
        or any(isinstance(v, bool) or not isinstance(v, int) or v < low for v in value)
    ):
        kind = "non-negative ints" if low == 0 else f"ints >= {low}"
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be a {'non-empty ' if nonempty else ''}list of {kind}. "
            f"Got {value!r} instead."
        )


# ----------------------------------------------------------------------------------------------- loading
def from_dict(cls: type[C], data: Mapping[str, Any] | None, path: str = "") -> C:
    """Build dataclass ``cls`` from a mapping, recursively; unknown keys are errors naming the key.

    ``path`` is the dotted prefix of the section being read (``"eval."``): unknown keys and out-of-range values
    are reported under their full dotted key (``eval.beam_width``), so an error in a profile that sets many
    configs says which section holds the value.
    """
    if data is not None and not isinstance(data, Mapping):
        where = f"section {path.rstrip('.')!r}" if path else "configuration"
        raise ConfigError(
            f"The {where} must be a mapping of {cls.__name__} settings (key: value). Got {data!r} instead."
        )
    data = dict(data or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"Unknown configuration key {path + key!r} for {cls.__name__}.{hint} "
            f"Allowed keys: {', '.join(sorted(fields))}."
        )
    hints = _type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        kwargs[key] = _coerce(hints.get(key, Any), value, f"{path}{key}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        if not path:
            raise
        raise ConfigError(f"{_dotted_key(str(exc), fields, path)}: {exc}") from exc


# Every check_* helper (and the project's hand-written checks) opens its message this way (scikit-learn style).
_PARAMETER = re.compile(r"The '(\w+)' parameter of ")


def _dotted_key(message: str, fields: Mapping[str, Any], path: str) -> str:
    """The full dotted key a validation message is about: the section plus the parameter it names."""
    match = _PARAMETER.match(message)
    return path + match.group(1) if match and match.group(1) in fields else path.rstrip(".")


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # Resolving string annotations dominates from_dict; a profile resolves the same classes for every run.
    return typing.get_type_hints(cls)


def _coerce(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return from_dict(hint, value, path + ".")
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if dataclasses.is_dataclass(arg) and isinstance(value, Mapping):
                return from_dict(arg, value, path + ".")
        return value
    if origin in (tuple, Sequence) and isinstance(value, list):
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is tuple and isinstance(value, list):
        return tuple(value)
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """The plain-JSON form of a config (tuples become lists): what run results record and hash."""
    def convert(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            return {f.name: convert(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        if isinstance(obj, (list, tuple)):
            return [convert(v) for v in obj]
        if isinstance(obj, dict):
            return {k: convert(v) for k, v in obj.items()}
        if isinstance(obj, Path):
            return str(obj)
        return obj

    return convert(config)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.lr=1e-4"`` -> (["train", "lr"], 0.0001); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"Override {text!r} must look like key.subkey=value.")
    key, raw = text.split("=", 1)
    if not key.strip():
        raise ConfigError(f"Override {text!r} has an empty key.")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Override {text!r}: value {raw!r} is not valid YAML ({exc}).") from exc
    if isinstance(value, str):
        # YAML 1.1 reads "5e-3" (no dot) as a string; users mean the float.
        try:
            value = float(value) if value.strip().lower() not in ("nan", "inf", "-inf", "infinity") else value
        except ValueError:
            pass
    return key.strip().split("."), value


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a deep copy of ``data`` with each dotted override applied."""
    result = _deep_copy(data)
    for text in overrides:
        keys, value = parse_override(text)
        node = result
        for key in keys[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"Override {text!r}: {key!r} is a value, not a section.")
            node = child
        node[keys[-1]] = value
    return result


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def load_yaml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Config file {path} does not exist.") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping at top level, got {type(data).__name__}.")
    return data


def load_config(cls: type[C], path: Path | str | None = None, overrides: Iterable[str] = ()) -> C:
    """Defaults of ``cls`` <- YAML file <- dotted overrides, validated."""
    data = load_yaml(path) if path else {}
    return from_dict(cls, apply_overrides(data, overrides))
