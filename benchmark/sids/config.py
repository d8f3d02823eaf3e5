"""``SidConfig``: how item Semantic IDs are built (DESIGN.md section 4); ``DualTowerConfig``: the trained
dual tower of the ``dualtower`` and ``sci`` builders.

Defaults follow the paper (section 3, "Implementation Details"): 3-level RQ-KMeans whose codebooks halve from
level to level (8192 / 4096 / 2048). The absolute sizes are scaled to the catalog by
:func:`benchmark.sids.rqkmeans.default_codebook_sizes` so that the collision rate is comparable to the paper's
(170M items on 130M SIDs) instead of copying sizes meant for 170M items onto a few thousand.
"""

from __future__ import annotations

import dataclasses

from benchmark.config import check_choice, check_int_list, check_number, to_dict
from benchmark.errors import ConfigError
from benchmark.sids.sarq import SarqConfig  # light (numpy only): the sarq builder's settings

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
DEFAULT_BUILDER = "rqkmeans"
TOWER_HEADS = ("mlp", "linear")
COOCCURRENCE_ENCODER = "cooccurrence"
POOLINGS = ("mean", "cls")

# The paper's codebook capacity per item: 8192 * 4096 * 2048 possible SIDs for 170M items (about 404).
PAPER_CAPACITY_PER_ITEM = 8192 * 4096 * 2048 / 170e6


@dataclasses.dataclass(frozen=True)
class DualTowerConfig:
    """The trained dual tower (``benchmark.sids.dualtower``) of the ``dualtower`` and ``sci`` builders.

    Both towers read the frozen text embeddings of ``SidConfig.encoder`` (all-MiniLM-L6-v2 by default, the
    same embeddings RQ-KMeans quantises) and add a small trainable head; the encoder is never fine-tuned.

    - ``head``: ``"mlp"`` (the default) is ``f(x) = normalize(x + W2 gelu(W1 x + b1))``; ``"linear"`` is
      ``f(x) = normalize(x + W x)``. Choice: a residual head whose last layer starts at zero, so that before
      training each tower is exactly the zero-shot encoder and training only refines it (a tower cannot
      start worse than ``dense-zeroshot``). The query tower and the item tower are two heads of the same
      shape with separate weights; the output stays in the encoder's dimension (384) and unit norm.
    - ``hidden``: width of the MLP head's hidden layer (unused by ``"linear"``).
    - ``epochs``, ``batch_size``, ``lr``, ``weight_decay``: AdamW over shuffled (query, clicked item) pairs.
      Training pairs: the distinct (query, clicked item) pairs of the **training split** (every click
      counts, the ordered item included; valid/test are never read). Choice: a pair clicked k times is one
      pair, not k, so head items do not dominate the gradient by their click counts (and an epoch is 4-7x
      shorter on the Amazon catalogs).
    - ``temperature``: fixed (not learned) softmax temperature of the in-batch loss
      ``-log softmax_j(<q_i, v_j> / t)[i]`` over the batch's items, query -> item direction only. Choice:
      in-batch columns that hold the row's own item or another click of the row's own query are masked
      (they are not negatives; with a few hundred distinct queries a batch repeats queries often).
    - ``seed``: seeds the head initialisation and the shuffling (a ``torch.Generator``; CPU only), so one
      seed gives the same tower on every rebuild (for a given torch build and thread count).
    - ``symmetric`` is not a setting: the ``sci`` builder trains with the symmetric input-swapping alignment
      (the same loss also computed with the query text through the item tower and the item text through the
      query tower, averaged with the direct loss; no extra parameters), ``dualtower`` without it.
    - SCI's dual view of an item (what ``sci`` quantises): ``[item_tower(e_i), query_tower(e_i)] / sqrt(2)``.
      Choice: concatenation rather than the average, so neither view can cancel the other; the 1/sqrt(2)
      keeps it unit-norm, and a squared distance is the mean of the two views' squared distances.
    """

    head: str = "mlp"
    hidden: int = 256
    epochs: int = 5
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    temperature: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "DualTowerConfig"
        check_choice(owner, "head", self.head, TOWER_HEADS)
        check_number(owner, "hidden", self.hidden, low=1, high=65_536, integer=True)
        check_number(owner, "epochs", self.epochs, low=1, high=1000, integer=True)
        check_number(owner, "batch_size", self.batch_size, low=2, high=1_000_000, integer=True)
        check_number(owner, "lr", self.lr, low=0.0, low_open=True, high=10.0)
        check_number(owner, "weight_decay", self.weight_decay, low=0.0)
        check_number(owner, "temperature", self.temperature, low=0.0, low_open=True, high=100.0)
        check_number(owner, "seed", self.seed, low=0, integer=True)


@dataclasses.dataclass(frozen=True)
class AcrqConfig:
    """ACRQ (``benchmark.sids.acrq``, SA^2CRQ's anchored curriculum): head-fitted anchor codebooks, frozen, and
    a regularised last stage for the other items. Every choice beyond the abstract:

    - Input: the frozen encoder's item embeddings (the vectors ``rqkmeans`` quantises), so the two builders
      differ only in how the codebooks are fitted.
    - Anchors: RQ-KMeans (``rq_kmeans``, the config's seed and ``kmeans_iters``) fitted on the **head** items
      only (``popularity_buckets`` of the training click counts); every head item keeps its anchor codes at
      every level. The anchors are then frozen.
    - Torso and tail items: levels 0..L-2 are the nearest frozen anchor centroid of their residual.
    - The curriculum's extra residual stage, kept fixed-length: it *replaces* the last level for torso and
      tail items instead of adding one. Its codebook C is fitted on the torso and tail items' last
      residuals by Lloyd iterations (``kmeans_iters``) initialised at the head-fitted last-level anchors A,
      with a Gaussian prior pulling every centroid towards its anchor (a MAP k-means):
      ``C_k = (S_k + w n A_k) / (n_k + w n)``, where S_k and n_k are the sum and number of residuals assigned
      to k, n = M / K the mean cluster size of the M non-head items and w = ``anchor_weight``. So w = 0 is
      plain k-means on the non-head residuals, large w keeps the anchors, and w = 1 weighs the anchor like
      an average cluster. Code k at the last level therefore means nearly the same region for head and tail.
    - Stored codebooks: the anchors for levels 0..L-2 and the regularised codebook C for level L-1 (the one
      that decodes torso and tail items); the mean and largest shift ||C_k - A_k|| are in the build record.
    - One stage of curriculum (head, then torso and tail together), not one per bucket: torso items are few
      clicks from head items, and a third stage would need a third codebook at the same fixed length.
    """

    anchor_weight: float = 1.0

    def __post_init__(self) -> None:
        check_number("AcrqConfig", "anchor_weight", self.anchor_weight, low=0.0, high=1e6)


@dataclasses.dataclass(frozen=True)
class CqSidConfig:
    """CQ-SID (``benchmark.sids.cqsid``): category- and query-contrastive item vectors, quantised into
    category-constrained hierarchical cluster IDs. Every choice beyond the abstract:

    - An item's *group*: its category node ``category_level`` levels below the store department (the shared
      root of ``benchmark.data.categories``; a shorter path gives its deepest node); for an item without a
      category path (all of amazon18-games), its **dominant training query** (the query of the training rows
      with most clicks on it; ties: the first query text in sorted order), so the constraint is then a query
      constraint; an item with neither has no group (-1).
    - Representation: the dual tower of ``tower`` (``DualTowerConfig``, query -> item in-batch softmax on the
      training split's distinct clicked pairs) plus ``category_weight`` times a category-aware query-item
      contrastive term: the same in-batch logits, but every in-batch item of the clicked item's group counts
      as a positive (``-log sum_{j in P_i} exp(s_ij) + log sum_j exp(s_ij)``, P_i = the same group, the same
      item or the same query). The towers train on the training split only; groups read only the items
      table (categories) and the training rows (queries).
    - Level 0 (the constraint), K_0 = ``codebook_sizes[0]`` codes over G groups. G <= K_0: every group gets
      its own codes, a share proportional to its size (largest remainder, at least one each), k-means of its
      items inside it, so a level-0 code never mixes groups. G > K_0: weighted k-means of the group centroids
      (the mean item vector, weight = group size) into K_0 clusters, so every group's items share one code.
      Items without a group take the nearest level-0 centroid.
    - Levels 1..L-1: RQ-KMeans of the residuals left by level 0 (shared codebooks, the paper's RQ-VAE stand-in)
      rather than k-means within every level-0 cell: with the suite's capacity (hundreds of codes per level
      for tens of items per cell) per-cell k-means would give every item its own code at level 1 and leave
      the later levels unused.
    """

    category_weight: float = 0.5
    category_level: int = 0

    def __post_init__(self) -> None:
        check_number("CqSidConfig", "category_weight", self.category_weight, low=0.0, high=100.0)
        check_number("CqSidConfig", "category_level", self.category_level, low=0, high=16, integer=True)


@dataclasses.dataclass(frozen=True)
class SidConfig:
    """Settings of one SID build.

    - ``levels``: SID length L (paper: 3).
    - ``codebook_sizes``: one size per level; None scales the paper's halving shape to the catalog so the
      product of the sizes is ``capacity_per_item`` times the number of items (``default_codebook_sizes``).
    - ``capacity_per_item``: the paper's 8192*4096*2048/170M by default; used only when ``codebook_sizes``
      is None.
    - ``seed``: seeds every k-means level (and the co-occurrence SVD); the same seed gives the same codes.
    - ``kmeans_iters``: Lloyd iterations per level (faiss's default is 25).
    - ``encoder``: ``"all-MiniLM-L6-v2"`` (bundled, offline), any Hugging Face encoder id or local directory
      (needs network or a local copy), or ``"cooccurrence"`` for catalogs without item text (KuaiSAR).
    - ``pooling``: ``"mean"`` over the attention mask (sentence-transformers models, the default) or ``"cls"``
      (BGE, the paper's encoder). Embeddings are always L2-normalised.
    - ``max_length``: tokens per item text (all-MiniLM-L6-v2 was trained with 256).
    - ``batch_size``: texts per encoder forward pass; a speed knob only, so it is not part of the cache key.
    - ``cooccurrence_dim``: embedding dimension of the ``"cooccurrence"`` encoder.
    - ``builder``: how codes are assigned (``benchmark.sids.builders``): ``"rqkmeans"`` (the default: RQ-KMeans
      over the encoder's item embeddings), ``"dualtower"`` (RQ-KMeans over a trained item tower's embeddings)
      or ``"sci"`` (the tower trained with SCI's input-swapping alignment, RQ-KMeans over the dual view).
    - ``tower``: the ``DualTowerConfig`` of ``dualtower`` and ``sci`` (ignored, and not hashed, otherwise).
    - ``acrq``: the ``AcrqConfig`` of the ``acrq`` builder; ``cqsid``: the ``CqSidConfig`` of ``cqsid`` (which
      also reads ``tower``). Each is ignored, and not hashed, by the other builders.
    - ``sarq``: the ``SarqConfig`` of the ``sarq`` builder (variable-length SIDs; ``benchmark.sids.sarq``),
      ignored, and not hashed, by the other builders.

    The key of a build leaves out the settings its builder does not read (:func:`legacy_omitted`), so every
    ``rqkmeans`` config hashes exactly as it did before ``builder`` and ``tower`` existed.
    """

    levels: int = 3
    codebook_sizes: tuple[int, ...] | None = None
    capacity_per_item: float = PAPER_CAPACITY_PER_ITEM
    seed: int = 0
    kmeans_iters: int = 25
    encoder: str = DEFAULT_ENCODER
    pooling: str = "mean"
    max_length: int = 256
    batch_size: int = 64
    cooccurrence_dim: int = 64
    builder: str = DEFAULT_BUILDER
    tower: DualTowerConfig = dataclasses.field(default_factory=DualTowerConfig)
    acrq: AcrqConfig = dataclasses.field(default_factory=AcrqConfig)
    cqsid: CqSidConfig = dataclasses.field(default_factory=CqSidConfig)
    sarq: SarqConfig = dataclasses.field(default_factory=SarqConfig)

    def __post_init__(self) -> None:
        owner = "SidConfig"
        check_number(owner, "levels", self.levels, low=1, high=8, integer=True)
        if self.codebook_sizes is not None:
            # YAML and --set give lists; the config is frozen and hashable, so store a tuple.
            check_int_list(owner, "codebook_sizes", self.codebook_sizes, low=2)
            object.__setattr__(self, "codebook_sizes", tuple(self.codebook_sizes))
            if len(self.codebook_sizes) != self.levels:
                raise ConfigError(
                    f"The 'codebook_sizes' parameter of SidConfig must hold one size per level "
                    f"(levels={self.levels}). Got {list(self.codebook_sizes)!r} instead."
                )
        check_number(owner, "capacity_per_item", self.capacity_per_item, low=0.0, low_open=True)
        check_number(owner, "seed", self.seed, low=0, integer=True)
        check_number(owner, "kmeans_iters", self.kmeans_iters, low=1, high=10_000, integer=True)
        if not isinstance(self.encoder, str) or not self.encoder.strip():
            raise ConfigError(
                f"The 'encoder' parameter of SidConfig must be a non-empty string ({DEFAULT_ENCODER!r}, "
                f"{COOCCURRENCE_ENCODER!r} or a Hugging Face model id). Got {self.encoder!r} instead."
            )
        check_choice(owner, "pooling", self.pooling, POOLINGS)
        check_number(owner, "max_length", self.max_length, low=2, high=8192, integer=True)
        check_number(owner, "batch_size", self.batch_size, low=1, integer=True)
        check_number(owner, "cooccurrence_dim", self.cooccurrence_dim, low=1, high=4096, integer=True)
        from benchmark.sids.builders import builder_names  # the registry imports this module

        check_choice(owner, "builder", self.builder, builder_names())
        if not isinstance(self.tower, DualTowerConfig):
            raise ConfigError(
                f"The 'tower' parameter of SidConfig must be a DualTowerConfig (a mapping of its settings). "
                f"Got {self.tower!r} instead."
            )
        for field, kind in (("acrq", AcrqConfig), ("cqsid", CqSidConfig), ("sarq", SarqConfig)):
            if not isinstance(getattr(self, field), kind):
                raise ConfigError(
                    f"The {field!r} parameter of SidConfig must be a {kind.__name__} (a mapping of its settings). "
                    f"Got {getattr(self, field)!r} instead."
                )


def legacy_omitted(config: SidConfig) -> tuple[str, ...]:
    """Fields a build key (and a run key) leaves out: ``builder`` when it is the default, and every
    builder-specific setting the chosen builder does not read. A default config therefore hashes exactly as it
    did before these fields existed, so cached catalogs and committed run ids stay valid."""
    from benchmark.sids.builders import builder_settings

    omitted = ("builder",) if config.builder == DEFAULT_BUILDER else ()
    used = set(builder_settings(config.builder))
    return omitted + tuple(f for f in builder_settings(None) if f not in used)


def hashed_settings(config: SidConfig) -> dict:
    """The plain-JSON settings of ``config`` minus :func:`legacy_omitted` (as build keys hash them)."""
    settings = to_dict(config)
    for name in legacy_omitted(config):
        settings.pop(name)
    return settings
