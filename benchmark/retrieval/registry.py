"""The retriever contract and the registry of non-learned baselines by name.

A ``Retriever`` is a registered ``fit`` function. ``fit(dataset, catalog, sid_config) -> Ranker`` reads what
it needs from the training split (never valid/test) and returns a ``Ranker`` whose
``rank(frame, beam_width) -> Rankings`` ranks every row of an eval frame (columns ``query_id`` and ``query``
at least).

Why one three-argument signature rather than a context object: only ``dense-zeroshot`` needs the SID config
(the text encoder the SIDs were built with), but a uniform signature lets the suite fit every retriever with
the same call and no branch on its name; the others ignore ``sid_config``.

The built-in retrievers register themselves when their modules are imported; ``get_retriever`` and
``retriever_names`` import them lazily (they import this module to register themselves).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from benchmark.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

    from benchmark.data import BuiltDataset
    from benchmark.inference import Rankings
    from benchmark.sids import SidCatalog, SidConfig

BUILTIN_RETRIEVER_MODULES = ("popularity", "lookup", "dense", "dualtower")


class Ranker(Protocol):
    def rank(self, frame: pd.DataFrame, beam_width: int) -> Rankings:
        """Per row of ``frame``: at most ``beam_width`` distinct valid SIDs, best first, with the baseline's
        own scores (non-increasing); ``seconds`` is the wall time of ranking, fitting excluded."""
        ...


Fit = Callable[["BuiltDataset", "SidCatalog", "SidConfig"], Ranker]


@dataclasses.dataclass(frozen=True)
class Retriever:
    """A registered non-learned baseline: ``name`` (registry key), ``label`` (its table row), a one-line
    ``description`` and ``fit(dataset, catalog, sid_config) -> Ranker``."""

    name: str
    label: str
    description: str
    fit: Fit

    def __post_init__(self) -> None:
        for field in ("name", "label", "description"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip() or value != value.strip():
                raise ValueError(
                    f"Retriever.{field} must be a non-empty string without surrounding spaces; got {value!r}"
                )
        if not callable(self.fit):
            raise ValueError(f"Retriever {self.name!r}: fit must be callable; got {self.fit!r}")


_RETRIEVERS: Registry[Retriever] = Registry("retriever")
_builtins_loaded = False


def register_retriever(retriever: Retriever) -> Retriever:
    """Add ``retriever`` under ``retriever.name``; a name already registered is a ValueError."""
    if not isinstance(retriever, Retriever):
        raise TypeError(f"register_retriever expects a Retriever; got {type(retriever).__name__}")
    return _RETRIEVERS.register(retriever.name, retriever)


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in BUILTIN_RETRIEVER_MODULES:
            importlib.import_module(f"benchmark.retrieval.{module}")


def get_retriever(name: str) -> Retriever:
    """The retriever registered as ``name``; an unknown name raises UnknownNameError with suggestions."""
    _load_builtins()
    return _RETRIEVERS.get(name)


def retriever_names() -> list[str]:
    """Every registered retriever name, sorted (deterministic whatever the import order)."""
    _load_builtins()
    return sorted(_RETRIEVERS.names())


def is_retriever(name: object) -> bool:
    """True iff ``name`` names a registered retriever (a method name, e.g. ``dpo``, is not one)."""
    _load_builtins()
    return name in _RETRIEVERS
