"""Residual-quantisation k-means (RQ-KMeans): embeddings -> L codes per item.

Level 0 clusters the embeddings with k-means; level l clusters the residuals left by levels 0..l-1:

    r_0 = x,    c_l = argmin_k ||r_l - C_l[k]||^2,    r_{l+1} = r_l - C_l[c_l]

so the SID (c_0, ..., c_{L-1}) is coarse-to-fine and x ~ sum_l C_l[c_l]. k-means is faiss's
(``faiss.Kmeans``) with an explicit seed per level, so the codes are the same on every rebuild (for a given
faiss build and thread count). Items with the same codes at every level collide; as in the paper, collisions
are kept and a SID maps to all of its items.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from benchmark.errors import ConfigError
from benchmark.sids.config import PAPER_CAPACITY_PER_ITEM

log = logging.getLogger(__name__)


def default_codebook_sizes(
    n_items: int, levels: int, capacity_per_item: float = PAPER_CAPACITY_PER_ITEM
) -> tuple[int, ...]:
    """Codebook sizes scaled to a catalog of ``n_items`` items.

    Rule: keep the paper's shape (each level half the size of the one before: 8192 / 4096 / 2048) and its
    capacity per item (8192 * 4096 * 2048 possible SIDs for 170M items, about 404 per item), i.e. solve
    ``prod_l K / 2^l = capacity_per_item * n_items`` for K and round each size, clipped to [2, n_items]
    (more centroids than items could never be used). At 170M items this gives back the paper's sizes.
    Measured at seed 0 with the default encoder (paper: 170M items on 130M SIDs, 1.31 items per SID):

        dataset               items   sizes          collision rate   items per SID
        amazon18-scientific    4385   242/121/61     0.448            1.40   (seeds 0-7: 0.40-0.46)
        amazon18-games        16859   379/190/95     0.274            1.19
        synthetic (default)     600   125/62/31      0.017            1.01

    i.e. mostly unique SIDs with some collisions, rather than collision-free or all-colliding.
    """
    if n_items < 1 or levels < 1:
        raise ConfigError(
            f"default_codebook_sizes needs n_items >= 1 and levels >= 1. Got {n_items}, {levels}."
        )
    halvings = levels * (levels - 1) / 2  # sum_l l: the product of 2^-l over the levels
    log_k0 = (math.log(capacity_per_item * n_items) + halvings * math.log(2)) / levels
    sizes = (round(math.exp(log_k0) / 2**level) for level in range(levels))
    return tuple(int(max(2, min(n_items, size))) for size in sizes)


@dataclasses.dataclass(frozen=True)
class ResidualCodes:
    """Result of :func:`rq_kmeans`.

    - ``codes``: (N, L) int64, code of item i at level l.
    - ``codebooks``: L arrays (K_l, D) float32 (rows of an unused code are zeros when a level had fewer
      distinct points than centroids).
    - ``residual_mse``: (L,) mean over items of the squared residual norm ||r_{l+1}||^2 after level l; it does
      not increase with l (each level can at worst leave the residual as it is, up to k-means' local optimum).
    """

    codes: np.ndarray
    codebooks: tuple[np.ndarray, ...]
    residual_mse: tuple[float, ...]


def rq_kmeans(
    embeddings: np.ndarray, codebook_sizes: tuple[int, ...], seed: int, iters: int
) -> ResidualCodes:
    """Fit RQ-KMeans on ``embeddings`` (N, D) and return the codes of every item (module docstring)."""
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or len(x) == 0:
        raise ConfigError(f"rq_kmeans needs a non-empty (N, D) embedding matrix. Got shape {x.shape}.")
    if not np.isfinite(x).all():
        raise ConfigError("rq_kmeans: the embeddings hold NaN or inf values.")
    residual = x.copy()
    codes, codebooks, mse = [], [], []
    for level, size in enumerate(codebook_sizes):
        # Seeding: k-means++ on the embeddings themselves, where items form separated semantic clusters
        # and uniform seeding can put two seeds in one cluster and none in another (a local optimum Lloyd
        # does not leave). Uniform on the residuals, which have no such structure: there D^2 sampling spends
        # centroids on outliers and under-splits dense groups of near-duplicate items (it raised the
        # collision rate on amazon18-scientific from 0.43 to 0.68 for one seed); uniform seeding follows
        # the density.
        init = "kmeans++" if level == 0 else "random"
        centroids, assign = kmeans_level(residual, size, seed=level_seed(seed, level), iters=iters, init=init)
        residual -= centroids[assign]
        codes.append(assign)
        codebooks.append(centroids)
        mse.append(float(np.mean(np.sum(residual.astype(np.float64) ** 2, axis=1))))
        log.debug(
            "RQ-KMeans level %d: K=%d, %d codes used, residual mse %.4f",
            level,
            size,
            len(np.unique(assign)),
            mse[-1],
        )
    return ResidualCodes(np.stack(codes, axis=1).astype(np.int64), tuple(codebooks), tuple(mse))


def level_seed(seed: int, level: int) -> int:
    """faiss seed of one level: distinct per level (the same seed everywhere would sample the same point
    indices for every level's initial centroids) and within faiss's 31-bit range for any config seed."""
    return int(np.random.SeedSequence([seed, level]).generate_state(1)[0] % (2**31 - 1))


def kmeans_level(
    x: np.ndarray, k: int, seed: int, iters: int, init: str = "random"
) -> tuple[np.ndarray, np.ndarray]:
    """(k, D) centroids and (N,) int64 nearest-centroid assignment of ``x`` (N, D) float32.

    ``init``: ``"random"`` (faiss's uniform sampling of k points) or ``"kmeans++"`` (D^2 sampling).
    """
    import faiss

    distinct, inverse = np.unique(x, axis=0, return_inverse=True)
    if len(distinct) <= k:
        # Fewer distinct points than centroids (a tiny catalog, or a level whose residuals are mostly zero):
        # k-means is undefined (faiss refuses n < k), and the optimum is exact: one code per distinct point,
        # zero residual. np.unique's lexicographic order makes the code numbering deterministic.
        centroids = np.zeros((k, x.shape[1]), dtype=np.float32)
        centroids[: len(distinct)] = distinct
        return centroids, inverse.reshape(-1).astype(np.int64)
    methods = {
        "random": faiss.ClusteringInitMethod_RANDOM,
        "kmeans++": faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS,
    }
    # min_points_per_centroid=1: small catalogs are expected here; faiss would otherwise warn on stderr.
    kmeans = faiss.Kmeans(
        x.shape[1],
        k,
        niter=iters,
        seed=seed,
        verbose=False,
        min_points_per_centroid=1,
        init_method=methods[init],
    )
    kmeans.train(x)
    _, nearest = kmeans.index.search(x, 1)
    return np.ascontiguousarray(kmeans.centroids, dtype=np.float32), nearest[:, 0].astype(np.int64)
