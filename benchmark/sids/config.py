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
