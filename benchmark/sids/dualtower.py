"""A trained dual tower over frozen text embeddings, and SCI's symmetric input-swapping variant.

    e_q = encoder(query text),  e_i = encoder(item text)          frozen all-MiniLM-L6-v2 (SidConfig.encoder)
    q = Q(e_q),  v = I(e_i)                                         Q, I: small residual heads, unit-norm output
    score(q, i) = <Q(e_q), I(e_i)>

Trained with an in-batch softmax over the distinct (query, clicked item) pairs of the **training split**
(the clicks of the ``train`` rows; ``valid`` and ``test`` are never read), see :func:`in_batch_loss`. SCI
(``symmetric=True``) adds the same loss with the towers' inputs swapped, ``<Q(e_i), I(e_q)>``, and
averaged with the direct one: the same two heads, no extra parameters. Every choice (head shape, temperature,
masking, dual view) is named in :class:`benchmark.sids.config.DualTowerConfig`.

The trained tower is cached content-addressed under ``cache_root()/towers/<key>/`` (weights as ``.npy``
files, never a pickle; item vectors; ``meta.json``); the key hashes the item embedding key, the query
encoder settings, the training pairs, the tower settings and ``symmetric``, so it does not change when only
valid/test change. Training is seeded (initialisation and shuffling) and runs on the CPU in one thread: the
heads are small (a few hundred thousand multiply-adds per pair), so threads buy little, and on a shared machine
oversubscribed worker threads made training an order of magnitude slower; one thread also makes the
floating-point sums independent of the machine's core count.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.artifacts import atomic_dir, cache_root, hash_json
from benchmark.config import to_dict
from benchmark.errors import ConfigError
from benchmark.sids.config import COOCCURRENCE_ENCODER, DualTowerConfig, SidConfig
from benchmark.threads import torch_threads

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
TOWER_FORMAT = 1


# ------------------------------------------------------------------------------------------- training data
def training_pairs(train: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(distinct query texts sorted, (P,) query index, (P,) item id): the distinct (query, clicked item)
    pairs of the training rows, sorted by query index then item id.

    Every click counts (the ordered item is always clicked, so it is always included), but a pair clicked many
    times is one pair (``DualTowerConfig``: popular items do not dominate the gradient by their click counts).
    """
    queries = [str(q) for q in train["query"]]
    distinct = sorted(set(queries))
    index = {q: k for k, q in enumerate(distinct)}
    q_idx: list[int] = []
    items: list[int] = []
    for query, exposed, clicks in zip(queries, train["exposed"], train["clicks"]):
        for item, click in zip(exposed, clicks):
            if click:
                q_idx.append(index[query])
                items.append(int(item))
    if not items:
        return distinct, np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([np.asarray(q_idx, np.int64), np.asarray(items, np.int64)], axis=1), axis=0)
    return distinct, pairs[:, 0].copy(), pairs[:, 1].copy()


def pairs_digest(queries: list[str], q_idx: np.ndarray, items: np.ndarray) -> str:
    digest = hashlib.sha256()
    for text in queries:
        digest.update(text.encode("utf-8") + b"\x00")
    digest.update(np.ascontiguousarray(q_idx, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(items, dtype=np.int64).tobytes())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------- model
def make_head(dim: int, config: DualTowerConfig) -> torch.nn.Module:
    """A residual head ``x -> normalize(x + g(x))`` whose last layer starts at zero (``DualTowerConfig``)."""
    import torch

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            if config.head == "mlp":
                self.body = torch.nn.Sequential(
                    torch.nn.Linear(dim, config.hidden), torch.nn.GELU(), torch.nn.Linear(config.hidden, dim)
                )
            else:
                self.body = torch.nn.Sequential(torch.nn.Linear(dim, dim))
            torch.nn.init.zeros_(self.body[-1].weight)
            torch.nn.init.zeros_(self.body[-1].bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, D) unit-norm
            return torch.nn.functional.normalize(x + self.body(x), p=2, dim=-1)

    return Head()


def in_batch_loss(
    anchors: torch.Tensor,
    candidates: torch.Tensor,
    query_ids: torch.Tensor,
    item_ids: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """(B,) in-batch softmax losses: row i's positive is candidate i, the other candidates are negatives.

    ``anchors`` (B, D) and ``candidates`` (B, D) are unit-norm; ``query_ids``/``item_ids`` (B,) identify each
    pair. With s_ij = <a_i, c_j> / t and M_i = {j != i : item_j = item_i or query_j = query_i} (not
    negatives: the same item, or another click of the same query):

        loss_i = -s_ii + log sum_{j not in M_i} exp(s_ij)
    """
    import torch

    logits = anchors @ candidates.T / temperature  # (B, B)
    same = (item_ids[:, None] == item_ids[None, :]) | (query_ids[:, None] == query_ids[None, :])
    same.fill_diagonal_(False)
    logits = logits.masked_fill(same, float("-inf"))
    return -torch.diagonal(torch.log_softmax(logits, dim=-1))


@torch_threads(1)  # see the module docstring: one thread, the same sums on every machine
def train_heads(
    item_emb: np.ndarray,
    query_emb: np.ndarray,
    q_idx: np.ndarray,
    items: np.ndarray,
    config: DualTowerConfig,
    symmetric: bool,
    extra_loss: Callable[..., torch.Tensor] | None = None,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train the query and item heads; returns their weights (``query.*`` and ``item.*`` arrays) and the mean
    loss of each epoch. Seeded by ``config.seed`` (initialisation and shuffling), on the CPU. ``extra_loss``
    (a builder's own term, e.g. CQ-SID's): ``(q, v, query_ids, item_ids) -> (B,)`` added to the loss."""
    import torch

    if len(items) < 2:
        raise ConfigError(
            f"The dual tower needs at least 2 (query, clicked item) training pairs; got {len(items)}."
        )
    dim = item_emb.shape[1]
    with torch.random.fork_rng(devices=[]):  # the initialisation is seeded without touching global state
        torch.manual_seed(config.seed)
        query_head, item_head = make_head(dim, config), make_head(dim, config)
    generator = torch.Generator().manual_seed(config.seed)
    params = [*query_head.parameters(), *item_head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    e_item = torch.from_numpy(np.ascontiguousarray(item_emb, dtype=np.float32))
    e_query = torch.from_numpy(np.ascontiguousarray(query_emb, dtype=np.float32))
    q_ids, i_ids = torch.from_numpy(q_idx), torch.from_numpy(items)
    losses = []
    for _epoch in range(config.epochs):
        order = torch.randperm(len(i_ids), generator=generator)
        total, count = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            if len(rows) < 2:  # a lone last pair has no in-batch negative
                continue
            bq, bi = q_ids[rows], i_ids[rows]
            q_out, v_out = query_head(e_query[bq]), item_head(e_item[bi])
            loss = in_batch_loss(q_out, v_out, bq, bi, config.temperature)
            if symmetric:  # SCI: the same loss with the towers' inputs swapped
                swapped = in_batch_loss(query_head(e_item[bi]), item_head(e_query[bq]), bq, bi,
                                        config.temperature)
                loss = (loss + swapped) / 2
            if extra_loss is not None:
                loss = loss + extra_loss(q_out, v_out, bq, bi)
            optimizer.zero_grad(set_to_none=True)
            loss.mean().backward()
            optimizer.step()
            total += float(loss.detach().sum())
            count += len(rows)
        losses.append(total / max(count, 1))
        log.info("dual tower epoch %d: mean loss %.4f", _epoch, losses[-1])
    weights = {f"query.{k}": v.detach().numpy().copy() for k, v in query_head.state_dict().items()}
    weights.update({f"item.{k}": v.detach().numpy().copy() for k, v in item_head.state_dict().items()})
    return weights, losses


def apply_head(weights: dict[str, np.ndarray], side: str, x: np.ndarray, config: DualTowerConfig) -> np.ndarray:
    """(N, D) unit-norm outputs of the ``side`` (``"query"`` or ``"item"``) head on frozen embeddings ``x``."""
    import torch

    head = make_head(x.shape[1], config)
    head.load_state_dict({k[len(side) + 1 :]: torch.from_numpy(v) for k, v in weights.items()
                          if k.startswith(side + ".")})
    with torch.inference_mode():
        return head(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy().copy()


# ----------------------------------------------------------------------------------------- cached tower
@dataclasses.dataclass(frozen=True)
class TrainedTower:
    """A trained dual tower and its item vectors.

    - ``item_vectors``: (N, D) ``I(e_i)``, the item tower on every item; ``query_view``: (N, D) ``Q(e_i)``,
      the query tower on every item's text (SCI's second view).
    - ``weights``: the heads' arrays (``query.*``, ``item.*``); ``config``: the tower settings;
      ``sid_config``: the SidConfig whose encoder produced the frozen embeddings.
    - ``losses``: mean training loss per epoch; ``train_seconds``: wall time of training when it was built.
    """

    key: str
    item_embedding_key: str
    item_vectors: np.ndarray
    query_view: np.ndarray
    weights: dict[str, np.ndarray]
    config: DualTowerConfig
    sid_config: SidConfig
    symmetric: bool
    losses: list[float]
    train_seconds: float

    def encode_queries(self, query_emb: np.ndarray) -> np.ndarray:
        """(Q, D) query-tower outputs of frozen query embeddings ``query_emb`` (Q, D)."""
        return apply_head(self.weights, "query", query_emb, self.config)

    def encode_items_as_queries(self, emb: np.ndarray) -> np.ndarray:
        """(Q, D) item-tower outputs of frozen embeddings (SCI's second view of a query)."""
        return apply_head(self.weights, "item", emb, self.config)


def dual_view(tower: TrainedTower) -> np.ndarray:
    """(N, 2D) SCI's dual-view item representation ``[I(e_i), Q(e_i)] / sqrt(2)`` (unit-norm rows).

    The matching query view is ``[Q(e_q), I(e_q)] / sqrt(2)``: their inner product is the mean of the direct
    and the swapped score, the two scores SCI trains, so indexing and retrieval follow the same path."""
    return (np.concatenate([tower.item_vectors, tower.query_view], axis=1) / math.sqrt(2.0)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class ExtraLoss:
    """A builder's additional training term (CQ-SID's category-aware loss): ``loss`` as in ``train_heads``;
    ``key``: a JSON-able description of it (settings, digests of its data), hashed into the tower key."""

    key: dict
    loss: Callable[..., Any]


def tower_key(dataset: Any, config: SidConfig, symmetric: bool, extra: ExtraLoss | None = None) -> str:
    """Cache key of the tower: the frozen embeddings' key, the training pairs, the settings, ``symmetric``
    (and ``extra.key`` when a builder adds a loss term; absent otherwise, so other keys are unchanged)."""
    from benchmark.sids.embed import embedding_key

    check_text_encoder(config)
    queries, q_idx, items = training_pairs(dataset.train)
    return hash_json({
        **({"extra": extra.key} if extra is not None else {}),
        "format": TOWER_FORMAT,
        "item_embedding": embedding_key(dataset, config),
        "query_encoder": {"encoder": config.encoder, "pooling": config.pooling, "max_length": config.max_length},
        "pairs": pairs_digest(queries, q_idx, items),
        "n_items": len(dataset.items),
        "tower": to_dict(config.tower),
        "symmetric": bool(symmetric),
    })


def check_text_encoder(config: SidConfig) -> None:
    if config.encoder == COOCCURRENCE_ENCODER:
        raise ConfigError(
            f"The 'encoder' parameter of SidConfig must be a text encoder for the dual tower (builders "
            f"'dualtower' and 'sci', retriever 'dense-dualtower'). Got {COOCCURRENCE_ENCODER!r} instead: the "
            f"towers embed query texts."
        )


def trained_tower(
    dataset: Any, config: SidConfig, symmetric: bool, force: bool = False, extra: ExtraLoss | None = None
) -> TrainedTower:
    """The dual tower of ``dataset`` under ``config.tower`` (plus ``extra``'s loss term): loaded from the
    cache, else trained and stored."""
    from benchmark.sids.embed import TextEncoder, embed_items

    key = tower_key(dataset, config, symmetric, extra)
    directory = cache_root() / "towers" / key
    item_emb, emb_key = embed_items(dataset, config, force=force)
    if not force and (directory / "meta.json").is_file():
        try:
            return _load(directory, key, emb_key, config, symmetric)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("cached dual tower %s unusable (%s); retraining", directory, exc)
    queries, q_idx, items = training_pairs(dataset.train)
    encoder = TextEncoder(config.encoder, config.pooling, config.max_length)
    query_emb = encoder.encode(queries, config.batch_size, progress=False)
    start = time.perf_counter()
    weights, losses = train_heads(item_emb, query_emb, q_idx, items, config.tower, symmetric,
                                  extra.loss if extra is not None else None)
    seconds = round(time.perf_counter() - start, 3)
    log.info("dual tower (symmetric=%s) trained on %d pairs in %.1f s", symmetric, len(items), seconds)
    item_vectors = apply_head(weights, "item", item_emb, config.tower)
    query_view = apply_head(weights, "query", item_emb, config.tower)
    meta = {"key": key, "embedding_key": emb_key, "symmetric": symmetric, "losses": losses,
            "train_seconds": seconds, "n_pairs": int(len(items)), "weights": sorted(weights),
            "tower": to_dict(config.tower)}
    with atomic_dir(directory) as tmp:
        np.save(tmp / "item_vectors.npy", item_vectors, allow_pickle=False)
        np.save(tmp / "query_view.npy", query_view, allow_pickle=False)
        for name, array in weights.items():
            np.save(tmp / f"weight.{name}.npy", array, allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n")
    return TrainedTower(key, emb_key, item_vectors, query_view, weights, config.tower, config, symmetric,
                        losses, seconds)


def _load(directory: Any, key: str, emb_key: str, config: SidConfig, symmetric: bool) -> TrainedTower:
    meta = json.loads((directory / "meta.json").read_text())
    if meta["key"] != key:
        raise ValueError(f"meta.json records key {meta['key']!r}")
    weights = {name: np.load(directory / f"weight.{name}.npy", allow_pickle=False) for name in meta["weights"]}
    item_vectors = np.load(directory / "item_vectors.npy", allow_pickle=False)
    query_view = np.load(directory / "query_view.npy", allow_pickle=False)
    log.info("dual tower loaded from %s", directory)
    return TrainedTower(key, emb_key, item_vectors, query_view, weights, config.tower, config, symmetric,
                        list(meta["losses"]), float(meta["train_seconds"]))
