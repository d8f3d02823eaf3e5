"""ACRQ, the anchored curriculum of SA^2CRQ: codebooks fitted on head items, frozen, and a regularised last
stage for torso and tail items (every choice is named in :class:`benchmark.sids.config.AcrqConfig`).

    anchors A_0..A_{L-1} = RQ-KMeans(head items' embeddings)            frozen from here on
    head item:            c_l = argmin_k ||r_l - A_l[k]||  at every level
    torso / tail item:    c_l = argmin_k ||r_l - A_l[k]||  for l < L-1
                          c_{L-1} = argmin_k ||r_{L-1} - C[k]||, C = MAP k-means of their last residuals with a
                          Gaussian prior at A_{L-1} (:func:`anchored_kmeans`)

Head / torso / tail are the training-click terciles of :func:`benchmark.sids.buckets.popularity_buckets`
(``dataset.item_popularity``: training clicks only), so validation and test rows are never read.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import numpy as np

from benchmark.errors import DataError
from benchmark.sids.buckets import popularity_buckets

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class AnchoredCodes:
    """Result of :func:`acrq_codes`: ``codes`` (N, L) int64; ``anchors`` L arrays (K_l, D), fitted on head
    items; ``last`` (K_{L-1}, D) the regularised last-level codebook of the non-head items; ``head`` (N,) bool;
    ``residual_mse`` (L,) mean squared residual over all items after each level."""

    codes: np.ndarray
    anchors: tuple[np.ndarray, ...]
    last: np.ndarray
    head: np.ndarray
    residual_mse: tuple[float, ...]


def nearest(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N,) int64 index of the nearest row of ``centroids`` (K, D) for every row of ``x`` (N, D); ties go to
    the lowest index. Exact float64 squared distances (K and N are small enough here)."""
    x64, c64 = x.astype(np.float64), centroids.astype(np.float64)
    out = np.empty(len(x), dtype=np.int64)
    c_norm = np.sum(c64**2, axis=1)
    for start in range(0, len(x), 4096):  # bounded memory: a (4096, K) distance block at a time
        block = x64[start : start + 4096]
        dist = c_norm[None, :] - 2.0 * block @ c64.T  # ||x||^2 is the same for every centroid
        out[start : start + 4096] = np.argmin(dist, axis=1)
    return out


def anchored_kmeans(
    residuals: np.ndarray, anchors: np.ndarray, weight: float, iters: int
) -> tuple[np.ndarray, np.ndarray]:
    """(K, D) centroids C and (M,) assignment: Lloyd iterations from C = ``anchors`` with the update
    ``C_k = (S_k + w n A_k) / (n_k + w n)`` (S_k, n_k: sum and count of the residuals assigned to k;
    n = M / K; w = ``weight``), i.e. k-means with a Gaussian prior centred on each anchor. A centroid that
    gets no residual stays at its anchor (with w = 0 too: an empty cluster has nothing else to follow)."""
    x = residuals.astype(np.float64)
    a = anchors.astype(np.float64)
    k = len(a)
    prior = weight * len(x) / k
    centroids = a.copy()
    assign = nearest(x, centroids)
    for _ in range(iters):
        counts = np.bincount(assign, minlength=k).astype(np.float64)
        sums = np.zeros_like(a)
        np.add.at(sums, assign, x)
        updated = (sums + prior * a) / np.maximum(counts + prior, 1e-12)[:, None]
        centroids = np.where((counts > 0)[:, None], updated, a)
        new = nearest(x, centroids)
        if np.array_equal(new, assign):
            break
        assign = new
    return centroids.astype(np.float32), assign


def acrq_codes(
    embeddings: np.ndarray,
    popularity: np.ndarray,
    sizes: tuple[int, ...],
    seed: int,
    iters: int,
    anchor_weight: float,
) -> AnchoredCodes:
    """ACRQ codes of every item (module docstring) from (N, D) embeddings and (N,) training click counts."""
    from benchmark.sids.rqkmeans import rq_kmeans

    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    head = popularity_buckets(np.asarray(popularity)) == "head"
    if not head.any():
        raise DataError(
            "ACRQ fits its anchor codebooks on head items, but no item is in the head bucket (the training "
            "click counts have no head tercile: every item is tied or unclicked). Use builder 'rqkmeans'."
        )
    anchors = rq_kmeans(x[head], sizes, seed=seed, iters=iters).codebooks
    residual = x.copy()
    codes = np.zeros((len(x), len(sizes)), dtype=np.int64)
    mse = []
    last_level = len(sizes) - 1
    last = anchors[last_level]
    for level, anchor in enumerate(anchors):
        if level < last_level:
            codes[:, level] = nearest(residual, anchor)  # frozen anchors for everyone
            residual -= anchor[codes[:, level]]
        else:
            codes[head, level] = nearest(residual[head], anchor)
            residual[head] -= anchor[codes[head, level]]
            rest = ~head
            if rest.any():
                last, codes[rest, level] = anchored_kmeans(residual[rest], anchor, anchor_weight, iters)
                residual[rest] -= last[codes[rest, level]]
        mse.append(float(np.mean(np.sum(residual.astype(np.float64) ** 2, axis=1))))
    return AnchoredCodes(codes, tuple(anchors), last, head, tuple(mse))


def build_acrq(dataset: Any, config: Any, sizes: tuple[int, ...], force: bool) -> Any:
    """The ``acrq`` builder (``benchmark.sids.builders``)."""
    from benchmark.sids.builders import BuiltCodes
    from benchmark.sids.embed import embed_items

    start = time.perf_counter()
    embeddings, emb_key = embed_items(dataset, config, force=force)
    embed_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = acrq_codes(embeddings, dataset.item_popularity, sizes, config.seed, config.kmeans_iters,
                        config.acrq.anchor_weight)
    seconds = time.perf_counter() - start
    last_anchor = result.anchors[-1]
    shift = np.linalg.norm(result.last.astype(np.float64) - last_anchor, axis=1)
    info = {
        "embedding_key": emb_key,
        "encoder": config.encoder,
        "embedding_dim": int(embeddings.shape[1]),
        "residual_mse": list(result.residual_mse),
        "acrq": {
            "head_items": int(result.head.sum()),
            "anchor_norm_mean": float(np.linalg.norm(last_anchor, axis=1).mean()),
            "last_level_shift_mean": float(shift.mean()),
            "last_level_shift_max": float(shift.max()),
        },
        "seconds": {"embedding": round(embed_seconds, 3), "acrq": round(seconds, 3)},
    }
    log.info("ACRQ: %d head items anchor the codebooks; last-level shift mean %.4f",
             info["acrq"]["head_items"], info["acrq"]["last_level_shift_mean"])
    return BuiltCodes(result.codes, (*result.anchors[:-1], result.last), info)
