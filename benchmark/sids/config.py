"""``SidConfig``: how item Semantic IDs are built (DESIGN.md section 4).

Defaults follow the paper (section 3, "Implementation Details"): 3-level RQ-KMeans whose codebooks halve from
level to level (8192 / 4096 / 2048). The absolute sizes are scaled to the catalog by
:func:`benchmark.sids.rqkmeans.default_codebook_sizes` so that the collision rate is comparable to the paper's
(170M items on 130M SIDs) instead of copying sizes meant for 170M items onto a few thousand.
"""

from __future__ import annotations

import dataclasses

from benchmark.config import check_choice, check_int_list, check_number
from benchmark.errors import ConfigError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
COOCCURRENCE_ENCODER = "cooccurrence"
POOLINGS = ("mean", "cls")

# The paper's codebook capacity per item: 8192 * 4096 * 2048 possible SIDs for 170M items (about 404).
PAPER_CAPACITY_PER_ITEM = 8192 * 4096 * 2048 / 170e6


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
