"""The registry of SID builders: how each item's vector to quantise is made, by name (``SidConfig.builder``).

A builder is a registered ``Builder`` record whose ``build(dataset, config, codebook_sizes, force)`` returns
a ``BuiltCodes`` (codes, codebooks and the build record); ``build_sids`` does the rest (caching, the catalog,
statistics) the same way for every builder. Built-in builders:

- ``rqkmeans`` (the default): RQ-KMeans over the frozen encoder's item embeddings (``embed_items``).
- ``dualtower``: RQ-KMeans over the item-tower embeddings of a dual tower trained on the training split's
  (query, clicked item) pairs (``benchmark.sids.dualtower``).
- ``sci``: the same tower trained with SCI's symmetric input-swapping alignment; RQ-KMeans over the dual-view
  item representation (item tower and query tower applied to the item text).
- ``acrq``: RQ-KMeans codebooks fitted on head items and frozen as anchors; torso and tail items quantised
  against them, with a regularised last stage fitted on their residuals (``benchmark.sids.acrq``).
- ``cqsid``: a dual tower with an extra category-aware contrastive term; level 0 constrained to the items'
  category (or dominant query) groups, lower levels RQ-KMeans (``benchmark.sids.cqsid``).
- ``sarq``: RQ-KMeans codes cut per item where the popularity-weighted entropy of the rest of its path falls
  below a threshold chosen to meet a mean-length budget: variable-length SIDs (``benchmark.sids.sarq``).

``settings`` lists the ``SidConfig`` fields only this builder reads (``tower`` for the two tower builders);
build and run keys leave out the ones the chosen builder does not read (``config.legacy_omitted``). The
registry imports nothing heavy: a builder's code (torch, faiss) loads when it builds.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmark.registry import Registry


@dataclasses.dataclass(frozen=True)
class BuiltCodes:
    """What a builder returns.

    - ``codes``: (N, L) int64, the SID of item i in row i.
    - ``codebooks``: L arrays (K_l, D) float32 of centroids (stored with the catalog).
    - ``info``: JSON-able build record merged into ``SidCatalog.build_info`` (embedding key and dimension,
      residual error per level, ``seconds`` per phase, ...).
    """

    codes: np.ndarray
    codebooks: tuple[np.ndarray, ...]
    info: dict[str, Any]


Build = Callable[[Any, Any, tuple[int, ...], bool], BuiltCodes]


@dataclasses.dataclass(frozen=True)
class Builder:
    """A registered SID builder: ``name`` (``SidConfig.builder``), a one-line ``description``, ``build`` and
    ``settings`` (the SidConfig fields only it reads)."""

    name: str
    description: str
    build: Build
    settings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for field in ("name", "description"):
            value = getattr(self, field)
            if not isinstance(value, str) or not value.strip() or value != value.strip():
                raise ValueError(
                    f"Builder.{field} must be a non-empty string without surrounding spaces; got {value!r}"
                )
        if not callable(self.build):
            raise ValueError(f"Builder {self.name!r}: build must be callable; got {self.build!r}")


_BUILDERS: Registry[Builder] = Registry("SID builder")


def register_builder(builder: Builder) -> Builder:
    """Add ``builder`` under ``builder.name``; a name already registered is a ValueError."""
    if not isinstance(builder, Builder):
        raise TypeError(f"register_builder expects a Builder; got {type(builder).__name__}")
    return _BUILDERS.register(builder.name, builder)


def get_builder(name: str) -> Builder:
    """The builder registered as ``name``; an unknown name raises UnknownNameError with suggestions."""
    return _BUILDERS.get(name)


def builder_names() -> list[str]:
    """Every registered builder name, in registration order (``rqkmeans`` first)."""
    return _BUILDERS.names()


def builder_settings(name: str | None) -> tuple[str, ...]:
    """The SidConfig fields only builder ``name`` reads; ``None``: those of every builder (sorted)."""
    if name is None:
        return tuple(sorted({s for n in _BUILDERS.names() for s in _BUILDERS.get(n).settings}))
    return _BUILDERS.get(name).settings if name in _BUILDERS else ()


# ------------------------------------------------------------------------------------------- built-ins
def quantize(vectors: np.ndarray, config: Any, sizes: tuple[int, ...]) -> tuple[Any, float]:
    """RQ-KMeans of ``vectors`` under the config's seed and iterations, and its wall time."""
    from benchmark.sids.rqkmeans import rq_kmeans

    start = time.perf_counter()
    quantized = rq_kmeans(vectors, sizes, seed=config.seed, iters=config.kmeans_iters)
    return quantized, time.perf_counter() - start


def build_rqkmeans(dataset: Any, config: Any, sizes: tuple[int, ...], force: bool) -> BuiltCodes:
    from benchmark.sids.embed import embed_items

    start = time.perf_counter()
    embeddings, emb_key = embed_items(dataset, config, force=force)
    embed_seconds = time.perf_counter() - start
    quantized, kmeans_seconds = quantize(embeddings, config, sizes)
    info = {
        "embedding_key": emb_key,
        "encoder": config.encoder,
        "embedding_dim": int(embeddings.shape[1]),
        "residual_mse": list(quantized.residual_mse),
        "seconds": {"embedding": round(embed_seconds, 3), "rq_kmeans": round(kmeans_seconds, 3)},
    }
    return BuiltCodes(quantized.codes, quantized.codebooks, info)


def _tower_builder(symmetric: bool) -> Build:
    def build(dataset: Any, config: Any, sizes: tuple[int, ...], force: bool) -> BuiltCodes:
        from benchmark.sids.dualtower import dual_view, trained_tower

        start = time.perf_counter()
        tower = trained_tower(dataset, config, symmetric=symmetric, force=force)
        vectors = dual_view(tower) if symmetric else tower.item_vectors
        tower_seconds = time.perf_counter() - start
        quantized, kmeans_seconds = quantize(vectors, config, sizes)
        info = {
            "embedding_key": tower.item_embedding_key,
            "tower_key": tower.key,
            "encoder": config.encoder,
            "embedding_dim": int(vectors.shape[1]),
            "tower_loss": tower.losses,
            "residual_mse": list(quantized.residual_mse),
            "seconds": {
                "tower": round(tower_seconds, 3),
                "tower_training": tower.train_seconds,
                "rq_kmeans": round(kmeans_seconds, 3),
            },
        }
        return BuiltCodes(quantized.codes, quantized.codebooks, info)

    return build


register_builder(Builder(
    name="rqkmeans",
    description="RQ-KMeans over the frozen text encoder's item embeddings",
    build=build_rqkmeans,
))
register_builder(Builder(
    name="dualtower",
    description="RQ-KMeans over the item-tower embeddings of a dual tower trained on training clicks",
    build=_tower_builder(symmetric=False),
    settings=("tower",),
))
register_builder(Builder(
    name="sci",
    description="dual tower trained with SCI's input-swapping alignment; RQ-KMeans over the dual view",
    build=_tower_builder(symmetric=True),
    settings=("tower",),
))


def _imported(module: str, function: str) -> Build:
    """A build that imports ``module`` (torch, faiss) only when it runs, then calls its ``function``."""

    def build(dataset: Any, config: Any, sizes: tuple[int, ...], force: bool) -> BuiltCodes:
        return getattr(importlib.import_module(module), function)(dataset, config, sizes, force)

    return build


register_builder(Builder(
    name="acrq",
    description="RQ-KMeans codebooks fitted on head items and frozen; a regularised last stage for the rest",
    build=_imported("benchmark.sids.acrq", "build_acrq"),
    settings=("acrq",),
))
register_builder(Builder(
    name="cqsid",
    description="category/query-contrastive tower; level 0 constrained to item categories, then RQ-KMeans",
    build=_imported("benchmark.sids.cqsid", "build_cqsid"),
    settings=("tower", "cqsid"),
))
register_builder(Builder(
    name="sarq",
    description="RQ-KMeans codes truncated per item by popularity-weighted path entropy (variable length)",
    build=_imported("benchmark.sids.sarq", "build_sarq"),
    settings=("sarq",),
))
