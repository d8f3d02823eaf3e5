"""CQ-SID: category- and query-contrastive item vectors quantised into category-constrained cluster IDs
(every choice is named in :class:`benchmark.sids.config.CqSidConfig`).

    group(i)  = category node of item i (``category_level`` below the department), else its dominant
                training query, else none (-1)                                        :func:`item_groups`
    v_i       = item tower of the dual tower trained with the in-batch query -> item loss plus
                ``category_weight`` x the group-aware multi-positive loss              :func:`category_loss`
    c_0       = a level-0 code that never mixes groups (G <= K_0) or that every item of a group shares (G > K_0)
                                                                                      :func:`constrained_level`
    c_1..     = RQ-KMeans of v_i - C_0[c_0]

The tower reuses ``benchmark.sids.dualtower`` (its training loop, cache and key) through its ``ExtraLoss``
hook; everything it reads is the items table and the training rows (never valid/test).
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import numpy as np

from benchmark.sids.dualtower import ExtraLoss

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------ groups
def category_nodes(categories: list[str], level: int) -> np.ndarray:
    """(N,) category node id of every item ``level`` levels below the store department (the shared root of
    ``build_tree``; a shorter path gives its deepest node), -1 for an item without a category path."""
    from benchmark.data.categories import build_tree

    tree = build_tree(categories)
    out = np.full(len(categories), -1, dtype=np.int64)
    for item, chain in enumerate(tree.item_nodes):
        below = [node for node in chain if node != tree.root]
        if below:
            out[item] = below[min(level, len(below) - 1)]
    return out


def dominant_queries(train: Any, n_items: int) -> tuple[list[str], np.ndarray]:
    """(distinct training queries sorted, (N,) index of each item's dominant query or -1): the query of the
    training rows with the most clicks on the item (ties: the first in sorted order); -1 when never clicked."""
    queries = [str(q) for q in train["query"]]
    distinct = sorted(set(queries))
    index = {q: k for k, q in enumerate(distinct)}
    pairs = [(int(item), index[query])
             for query, exposed, clicks in zip(queries, train["exposed"], train["clicks"])
             for item, click in zip(exposed, clicks) if click]
    out = np.full(n_items, -1, dtype=np.int64)
    if not pairs:
        return distinct, out
    unique, counts = np.unique(np.asarray(pairs, dtype=np.int64), axis=0, return_counts=True)
    # Sort by item, then count descending, then query index ascending: the first row per item wins.
    order = np.lexsort((unique[:, 1], -counts, unique[:, 0]))
    ranked = unique[order]
    first = np.r_[True, ranked[1:, 0] != ranked[:-1, 0]]
    out[ranked[first, 0]] = ranked[first, 1]
    return distinct, out


def item_groups(dataset: Any, level: int) -> np.ndarray:
    """(N,) group id of every item (``CqSidConfig``): categories first (ids 0..C-1 in node order), then the
    dominant training queries of uncategorised items (ids C.., in query order); -1 for neither."""
    n = len(dataset.items)
    if "category" in dataset.items.columns:
        nodes = category_nodes([str(c) for c in dataset.items["category"]], level)
    else:
        nodes = np.full(n, -1, dtype=np.int64)
    _, dominant = dominant_queries(dataset.train, n)
    groups = np.full(n, -1, dtype=np.int64)
    categorised = nodes >= 0
    cat_ids, groups[categorised] = np.unique(nodes[categorised], return_inverse=True)
    by_query = ~categorised & (dominant >= 0)
    _, query_groups = np.unique(dominant[by_query], return_inverse=True)
    groups[by_query] = len(cat_ids) + query_groups
    return groups


# -------------------------------------------------------------------------------------------------- loss
def category_loss(groups: np.ndarray, weight: float, temperature: float) -> Any:
    """The category-aware query-item term, ``(q, v, query_ids, item_ids) -> (B,)``:

        weight * (log sum_j exp(s_ij) - log sum_{j in P_i} exp(s_ij)),   s_ij = <q_i, v_j> / t

    with P_i = {j : group_j = group_i >= 0, or item_j = item_i, or query_j = query_i} (i itself included):
    the query is pulled towards every in-batch item of its clicked item's group, pushed from the others."""
    import torch

    group_of = torch.from_numpy(np.asarray(groups, dtype=np.int64))

    def loss(q: torch.Tensor, v: torch.Tensor, query_ids: torch.Tensor, item_ids: torch.Tensor) -> torch.Tensor:
        logits = q @ v.T / temperature
        g = group_of[item_ids]
        positive = ((g[:, None] == g[None, :]) & (g[:, None] >= 0)) | (item_ids[:, None] == item_ids[None, :])
        positive |= query_ids[:, None] == query_ids[None, :]
        inside = torch.logsumexp(logits.masked_fill(~positive, float("-inf")), dim=-1)
        return weight * (torch.logsumexp(logits, dim=-1) - inside)

    return loss


# ------------------------------------------------------------------------------------------- quantisation
def shares(sizes: np.ndarray, total: int) -> np.ndarray:
    """Codes per group: one each, the other ``total - G`` split proportionally to ``sizes`` by largest
    remainder (ties: the lower group id). Needs ``total >= G``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    spare = total - len(sizes)
    quota = spare * sizes / sizes.sum()
    alloc = np.floor(quota).astype(np.int64)
    left = spare - int(alloc.sum())
    order = np.lexsort((np.arange(len(sizes)), -(quota - alloc)))
    alloc[order[:left]] += 1
    return alloc + 1


def constrained_level(
    x: np.ndarray, groups: np.ndarray, k: int, seed: int, iters: int
) -> tuple[np.ndarray, np.ndarray]:
    """(k, D) centroids and (N,) level-0 codes under the group constraint (``CqSidConfig``)."""
    import faiss

    from benchmark.sids.acrq import nearest
    from benchmark.sids.rqkmeans import kmeans_level, level_seed

    x = np.ascontiguousarray(x, dtype=np.float32)
    grouped = groups >= 0
    ids, inverse = np.unique(groups[grouped], return_inverse=True)
    codes = np.full(len(x), -1, dtype=np.int64)
    centroids = np.zeros((k, x.shape[1]), dtype=np.float32)
    if len(ids) == 0:
        return kmeans_level(x, k, seed=level_seed(seed, 0), iters=iters, init="kmeans++")
    members = np.flatnonzero(grouped)
    sizes = np.bincount(inverse, minlength=len(ids))
    if len(ids) <= k:  # split: every group owns its codes
        offset = 0
        for g, count in enumerate(shares(sizes, k)):
            rows = members[inverse == g]
            # k-means++ as rq_kmeans' first level (item vectors, not residuals); a seed per group
            sub, assign = kmeans_level(x[rows], int(count), seed=level_seed(seed, 10_000 + g), iters=iters,
                                       init="kmeans++")
            centroids[offset : offset + count] = sub
            codes[rows] = offset + assign
            offset += count
    else:  # merge: weighted k-means of the group centroids, one code per group
        means = np.zeros((len(ids), x.shape[1]), dtype=np.float64)
        np.add.at(means, inverse, x[members].astype(np.float64))
        means = (means / sizes[:, None]).astype(np.float32)
        kmeans = faiss.Kmeans(x.shape[1], k, niter=iters, seed=level_seed(seed, 0), verbose=False,
                              min_points_per_centroid=1)
        kmeans.train(means, weights=sizes.astype(np.float32))
        _, nearest_code = kmeans.index.search(means, 1)
        codes[members] = nearest_code[inverse, 0]
        counts = np.bincount(codes[members], minlength=k)
        sums = np.zeros((k, x.shape[1]), dtype=np.float64)
        np.add.at(sums, codes[members], x[members].astype(np.float64))
        centroids = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)  # an unused code stays zero
    rest = ~grouped
    if rest.any():  # no category, never clicked: the nearest level-0 centroid in use
        used = np.flatnonzero(np.bincount(codes[grouped], minlength=k))
        codes[rest] = used[nearest(x[rest], centroids[used])]
    return centroids, codes


def cqsid_codes(
    vectors: np.ndarray, groups: np.ndarray, sizes: tuple[int, ...], seed: int, iters: int
) -> tuple[np.ndarray, tuple[np.ndarray, ...], tuple[float, ...]]:
    """(N, L) codes, L codebooks and the residual mse per level: the constrained level 0, then RQ-KMeans of the
    residuals (uniform seeding, as ``rq_kmeans`` does on residuals)."""
    from benchmark.sids.rqkmeans import kmeans_level, level_seed

    residual = np.ascontiguousarray(vectors, dtype=np.float32).copy()
    centroids, assign = constrained_level(residual, groups, sizes[0], seed, iters)
    codes, codebooks = [assign], [centroids]
    residual -= centroids[assign]
    mse = [float(np.mean(np.sum(residual.astype(np.float64) ** 2, axis=1)))]
    for level, size in enumerate(sizes[1:], start=1):
        centroids, assign = kmeans_level(residual, size, seed=level_seed(seed, level), iters=iters)
        residual -= centroids[assign]
        codes.append(assign)
        codebooks.append(centroids)
        mse.append(float(np.mean(np.sum(residual.astype(np.float64) ** 2, axis=1))))
    return np.stack(codes, axis=1).astype(np.int64), tuple(codebooks), tuple(mse)


def build_cqsid(dataset: Any, config: Any, sizes: tuple[int, ...], force: bool) -> Any:
    """The ``cqsid`` builder (``benchmark.sids.builders``)."""
    from benchmark.sids.builders import BuiltCodes
    from benchmark.sids.dualtower import trained_tower

    start = time.perf_counter()
    groups = item_groups(dataset, config.cqsid.category_level)
    extra = ExtraLoss(
        key={
            "builder": "cqsid",
            "category_weight": config.cqsid.category_weight,
            "groups": hashlib.sha256(np.ascontiguousarray(groups, dtype=np.int64).tobytes()).hexdigest(),
        },
        loss=category_loss(groups, config.cqsid.category_weight, config.tower.temperature),
    )
    tower = trained_tower(dataset, config, symmetric=False, force=force, extra=extra)
    tower_seconds = time.perf_counter() - start
    start = time.perf_counter()
    codes, codebooks, mse = cqsid_codes(tower.item_vectors, groups, sizes, config.seed, config.kmeans_iters)
    seconds = time.perf_counter() - start
    n_groups = int(len(np.unique(groups[groups >= 0])))
    info = {
        "embedding_key": tower.item_embedding_key,
        "tower_key": tower.key,
        "encoder": config.encoder,
        "embedding_dim": int(tower.item_vectors.shape[1]),
        "tower_loss": tower.losses,
        "residual_mse": list(mse),
        "cqsid": {"groups": n_groups, "ungrouped_items": int((groups < 0).sum()),
                  "level0": "split" if n_groups <= sizes[0] else "merged"},
        "seconds": {"tower": round(tower_seconds, 3), "tower_training": tower.train_seconds,
                    "quantise": round(seconds, 3)},
    }
    log.info("CQ-SID: %d groups (%s at level 0), %d items without a group", n_groups, info["cqsid"]["level0"],
             info["cqsid"]["ungrouped_items"])
    return BuiltCodes(codes, codebooks, info)
