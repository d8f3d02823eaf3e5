"""Search spaces: what a tuning study may vary for each method, and the checks on it.

A method's space is the ``SEARCH_SPACE`` class attribute of its config dataclass (a ClassVar, so it is not a
setting and does not enter run keys): ``{parameter: Range}``, where a parameter is a field of the config
(``beta``) or ``LEARNING_RATE`` (``"lr"``), the learning rate of the preference stage (``preference.lr``), which
every method has. Every error names the method, the parameter, the allowed range and the value.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any

from benchmark.errors import ConfigError

LEARNING_RATE = "lr"  # the preference stage's learning rate (``preference.lr``), not a method-config field


@dataclasses.dataclass(frozen=True)
class Range:
    """A closed interval [low, high] of floats, sampled on a log scale when ``log``."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"The {name!r} parameter of Range must be a finite float. Got {value!r} instead.")
        if not self.low < self.high:
            raise ConfigError(f"A Range needs low < high. Got [{self.low!r}, {self.high!r}] instead.")
        if self.log and self.low <= 0:
            raise ConfigError(f"A log-scale Range needs low > 0. Got [{self.low!r}, {self.high!r}] instead.")

    def __str__(self) -> str:
        return f"[{self.low:g}, {self.high:g}]" + (" (log scale)" if self.log else "")

    def to_dict(self) -> dict[str, Any]:
        return {"low": float(self.low), "high": float(self.high), "log": self.log}


# Preference-stage learning rate: from the RAD-DPO paper's 1e-6 up to 1e-3 (the profiles train at 1e-4 to 5e-4).
PREFERENCE_LR = Range(1e-6, 1e-3, log=True)


def search_space(method: str) -> dict[str, Range]:
    """The search space of registered ``method``, checked: every parameter is a field of its config or
    ``lr``, and each range's ends are values the config accepts."""
    from benchmark.methods import get_method

    config_cls = get_method(method).config_cls
    space = getattr(config_cls, "SEARCH_SPACE", None)
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"Method {method!r} declares no search space: {config_cls.__name__} needs a "
                          f"SEARCH_SPACE class attribute {{parameter: Range}} to be tuned.")
    fields = [f.name for f in dataclasses.fields(config_cls) if f.init]
    for name, bounds in space.items():
        if name != LEARNING_RATE and name not in fields:
            raise ConfigError(f"Method {method!r} declares a search space over {name!r}, which is neither a "
                              f"parameter of {config_cls.__name__} ({', '.join(fields) or 'none'}) nor "
                              f"{LEARNING_RATE!r}.")
        if not isinstance(bounds, Range):
            raise ConfigError(f"The search space of method {method!r} must map {name!r} to a Range. "
                              f"Got {bounds!r} instead.")
        if name != LEARNING_RATE:
            for end in (bounds.low, bounds.high):
                try:
                    config_cls(**{name: end})
                except ConfigError as exc:
                    raise ConfigError(f"The search space of method {method!r} over {name!r} {bounds} holds "
                                      f"a value its config refuses: {exc}") from exc
    return dict(space)


def check_params(method: str, params: dict[str, Any]) -> dict[str, float]:
    """``params`` as floats when each is a parameter of ``method``'s space and inside its range, else a
    ConfigError naming the method, the parameter, the allowed range and the value."""
    space = search_space(method)
    if not isinstance(params, dict):
        raise ConfigError(f"The tuned parameters of method {method!r} must be a mapping. Got {params!r} instead.")
    out = {}
    for name, value in params.items():
        if name not in space:
            close = difflib.get_close_matches(str(name), list(space), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"Unknown search-space parameter {name!r} for method {method!r}.{hint} "
                              f"Allowed: {', '.join(sorted(space))}.")
        bounds = space[name]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not bounds.low <= value <= bounds.high:
            raise ConfigError(f"The {name!r} parameter of method {method!r} must be a float in the search "
                              f"range {bounds}. Got {value!r} instead.")
        out[name] = float(value)
    return out


def split_params(params: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(method-config settings, preference-stage settings) of a set of tuned parameters."""
    method = {k: v for k, v in params.items() if k != LEARNING_RATE}
    preference = {"lr": params[LEARNING_RATE]} if LEARNING_RATE in params else {}
    return method, preference
