"""``build_sids``: dataset -> item vectors (the config's builder) -> RQ-KMeans codes -> ``SidCatalog``, cached.

The catalog of a dataset is stored under ``cache_root()/sids/<name>/<key>/`` where ``key`` hashes everything
the catalog is a function of: the split hash, the training popularity, the embedding key (item texts or
training histories + encoder settings) and the SID config (minus ``batch_size``, a speed knob, and the
settings the chosen builder does not read: ``config.legacy_omitted``). A second call
with the same inputs loads the stored catalog instead of recomputing it.

The dataset is duck-typed: it needs ``name``, ``split_hash``, ``items`` (``item_id``, ``text``),
``item_popularity``, ``train`` (``history``, ``target``; only for the co-occurrence encoder) and
``preference`` (``exposed``, ``clicks``, ``target``), the fields of ``benchmark.data.BuiltDataset``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.artifacts import cache_root, hash_json
from benchmark.errors import DataError
from benchmark.sids.builders import get_builder
from benchmark.sids.catalog import CATALOG_FILE, CATALOG_FORMAT, SidCatalog, load_catalog
from benchmark.sids.config import SidConfig, hashed_settings
from benchmark.sids.embed import embedding_key
from benchmark.sids.rqkmeans import default_codebook_sizes
from benchmark.sids.stats import preference_pair_shares

log = logging.getLogger(__name__)
DEFAULT_CONFIG = SidConfig()  # frozen, so one shared default instance is safe


def resolved_codebook_sizes(config: SidConfig, n_items: int) -> tuple[int, ...]:
    """The configured sizes, or the catalog-scaled default (``default_codebook_sizes``)."""
    if config.codebook_sizes is not None:
        return tuple(config.codebook_sizes)
    return default_codebook_sizes(n_items, config.levels, config.capacity_per_item)


def _popularity(dataset: Any) -> np.ndarray:
    popularity = np.asarray(dataset.item_popularity)
    if popularity.shape != (len(dataset.items),):
        raise DataError(
            f"Dataset {dataset.name!r}: item_popularity has shape {popularity.shape}, "
            f"expected ({len(dataset.items)},)."
        )
    return popularity


def build_key(dataset: Any, config: SidConfig) -> str:
    """Cache key of the catalog of ``dataset`` under ``config``."""
    settings = hashed_settings(config)
    settings.pop("batch_size")
    popularity = np.ascontiguousarray(_popularity(dataset), dtype=np.float64)
    return hash_json(
        {
            "format": CATALOG_FORMAT,
            "dataset": dataset.name,
            "split_hash": dataset.split_hash,
            "popularity": hashlib.sha256(popularity.tobytes()).hexdigest(),
            "embedding": embedding_key(dataset, config),
            "config": settings,
        }
    )


def catalog_dir(name: str, key: str) -> Path:
    return cache_root() / "sids" / name / key


def build_sids(
    dataset: Any,
    config: SidConfig = DEFAULT_CONFIG,
    force: bool = False,
) -> SidCatalog:
    """The SID catalog of ``dataset``: loaded from the cache when built before, else built and stored.

    ``force`` recomputes everything, the embeddings included (used to check that a rebuild is identical).
    """
    key = build_key(dataset, config)
    directory = catalog_dir(dataset.name, key)
    if not force and (directory / CATALOG_FILE).is_file():
        try:
            catalog = load_catalog(directory, expected_split_hash=dataset.split_hash)
        except DataError as exc:
            log.warning("cached SID catalog unusable (%s); rebuilding", exc)
        else:
            log.info("SID catalog of %s loaded from %s", dataset.name, directory)
            return catalog

    n_items = len(dataset.items)
    sizes = resolved_codebook_sizes(config, n_items)
    log.info(
        "building SIDs for %s: %d items, codebooks %s, encoder %r",
        dataset.name,
        n_items,
        sizes,
        config.encoder,
    )

    built = get_builder(config.builder).build(dataset, config, sizes, force)
    log.info(
        "%s codes in %s; residual mse per level %s",
        config.builder,
        ", ".join(f"{k} {v:.2f} s" for k, v in built.info.get("seconds", {}).items()),
        [round(v, 4) for v in built.info.get("residual_mse", ())],
    )
    build_info: dict[str, Any] = {
        "build_key": key,
        "builder": config.builder,
        **{k: v for k, v in built.info.items() if k != "seconds"},
        **preference_pair_shares(built.codes, dataset.preference),
        "seconds": built.info.get("seconds", {}),
    }
    catalog = SidCatalog(
        built.codes,
        sizes,
        _popularity(dataset),
        dataset.split_hash,
        name=dataset.name,
        config=hashed_settings(config),
        codebooks=built.codebooks,
        build_info=build_info,
    )
    catalog.save(directory)
    stats = catalog.stats()
    log.info(
        "SIDs of %s: %d distinct for %d items, collision rate %.3f, catalog %s -> %s",
        dataset.name,
        stats["distinct_sids"],
        n_items,
        stats["collision_rate"],
        catalog.catalog_hash,
        directory,
    )
    return catalog
