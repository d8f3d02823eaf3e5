"""``build_sids``: dataset -> item embeddings -> RQ-KMeans codes -> ``SidCatalog``, cached.

The catalog of a dataset is stored under ``cache_root()/sids/<name>/<key>/`` where ``key`` hashes everything
the catalog is a function of: the split hash, the training popularity, the embedding key (item texts or
training histories + encoder settings) and the SID config (minus ``batch_size``, a speed knob). A second call
with the same inputs loads the stored catalog instead of recomputing it.

The dataset is duck-typed: it needs ``name``, ``split_hash``, ``items`` (``item_id``, ``text``),
``item_popularity``, ``train`` (``history``, ``target``; only for the co-occurrence encoder) and
``preference`` (``exposed``, ``clicks``, ``target``), the fields of ``benchmark.data.BuiltDataset``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.artifacts import cache_root, hash_json
from benchmark.config import to_dict
from benchmark.errors import DataError
from benchmark.sids.catalog import CATALOG_FILE, CATALOG_FORMAT, SidCatalog, load_catalog
from benchmark.sids.config import SidConfig
from benchmark.sids.embed import embed_items, embedding_key
from benchmark.sids.rqkmeans import default_codebook_sizes, rq_kmeans
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
    settings = to_dict(config)
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

    start = time.perf_counter()
    embeddings, emb_key = embed_items(dataset, config, force=force)
    embed_seconds = time.perf_counter() - start

    start = time.perf_counter()
    quantized = rq_kmeans(embeddings, sizes, seed=config.seed, iters=config.kmeans_iters)
    kmeans_seconds = time.perf_counter() - start
    log.info(
        "RQ-KMeans in %.2f s; residual mse per level %s",
        kmeans_seconds,
        [round(v, 4) for v in quantized.residual_mse],
    )

    build_info: dict[str, Any] = {
        "build_key": key,
        "embedding_key": emb_key,
        "encoder": config.encoder,
        "embedding_dim": int(embeddings.shape[1]),
        "residual_mse": list(quantized.residual_mse),
        **preference_pair_shares(quantized.codes, dataset.preference),
        "seconds": {"embedding": round(embed_seconds, 3), "rq_kmeans": round(kmeans_seconds, 3)},
    }
    catalog = SidCatalog(
        quantized.codes,
        sizes,
        _popularity(dataset),
        dataset.split_hash,
        name=dataset.name,
        config=to_dict(config),
        codebooks=quantized.codebooks,
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
