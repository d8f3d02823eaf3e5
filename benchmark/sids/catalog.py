"""``SidCatalog``: the item <-> SID table, its prefix trie, and its on-disk form.

A catalog maps every item to its SID (a tuple of 1 .. L codes) and every SID to its items. Collisions are allowed
(paper section 3: 170M items on 130M SIDs); a SID expands to its items by training popularity, most clicked
first, then by item id (DESIGN.md section 6), which is what item-level metrics rank.

On disk a catalog is a directory of plain files, never a pickle:

    catalog.json        format version, dataset name, split hash, catalog hash, codebook sizes, config, stats
    codes.npy           (N, L) int64; a SID shorter than L fills the rest of its row with -1 (``PAD``)
    popularity.npy      (N,) training click counts used for the SID -> items order
    codebook_<l>.npy    (K_l, D) float32 centroids of level l (absent when the catalog was built without them)

``catalog_hash`` is the sha256 of the codes, codebook sizes, popularity and split hash: two catalogs with the
same hash expand every SID identically.

Variable-length SIDs (the ``sarq`` builder): the code matrix is (N, L_max) with each shorter SID padded on the
right with -1, so a fixed-length catalog has no padding and its files and hash are exactly those of before
variable lengths existed. ``sid_of`` returns the SID without its padding; (1,) and (1, 2) are different SIDs
(decoding ``<L0_1> <eos>`` retrieves the first, ``<L0_1> <L1_2> <eos>`` the second). A catalog carries the ``split_hash`` of the dataset it was built from;
loading it against another split raises ``ArtifactMismatchError``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.artifacts import atomic_dir, canonical_json
from benchmark.errors import ArtifactMismatchError, DataError
from benchmark.sids.stats import code_stats
from benchmark.sids.trie import PAD, PrefixTrie

CATALOG_FORMAT = 1
CATALOG_FILE = "catalog.json"


class SidCatalog:
    """Item <-> SID mapping with O(1) lookups in both directions and a prefix trie.

    Args:
        codes: (N, L) int codes; row i is the SID of item i, right-padded with -1 when shorter than L.
        codebook_sizes: L sizes; every code of level l is in [0, codebook_sizes[l]).
        item_popularity: (N,) training click counts (orders the items of a SID).
        split_hash: hash of the dataset split the catalog was built from.
        name: dataset name. config: the resolved SidConfig as a plain dict.
        codebooks: optional L arrays (K_l, D) of centroids. build_info: optional JSON-able build record
        (residual error per level, preference-pair shares, embedding key, timings).
    """

    def __init__(
        self,
        codes: np.ndarray,
        codebook_sizes: Sequence[int],
        item_popularity: np.ndarray,
        split_hash: str,
        *,
        name: str = "",
        config: Mapping[str, Any] | None = None,
        codebooks: Sequence[np.ndarray] = (),
        build_info: Mapping[str, Any] | None = None,
    ) -> None:
        codes = np.array(codes, dtype=np.int64, copy=True)
        popularity = np.asarray(item_popularity)
        sizes = tuple(int(k) for k in codebook_sizes)
        _validate(codes, sizes, popularity)
        codes.setflags(write=False)
        self.codes = codes
        self.codebook_sizes = sizes
        self.levels = codes.shape[1]
        self.item_popularity = popularity
        self.split_hash = str(split_hash)
        self.name = name
        self.config = dict(config or {})
        self.codebooks = tuple(np.asarray(c, dtype=np.float32) for c in codebooks)
        self.build_info = dict(build_info or {})

        self.lengths = (codes != PAD).sum(axis=1)  # (N,) code length of each item's SID
        self.lengths.setflags(write=False)
        self._sid_of = [tuple(row[:length]) for row, length in zip(codes.tolist(), self.lengths.tolist())]
        # Most clicked first, ties by item id: lexsort's last key is the primary one.
        order = np.lexsort((np.arange(len(codes)), -popularity.astype(np.float64)))
        items: dict[tuple[int, ...], list[int]] = {}
        for item in order.tolist():
            items.setdefault(self._sid_of[item], []).append(item)
        self._items = items
        self._trie = PrefixTrie(items.keys(), depth=self.levels)
        self.catalog_hash = catalog_content_hash(codes, sizes, popularity, self.split_hash)

    # --------------------------------------------------------------------------------------- lookups
    @property
    def n_items(self) -> int:
        return len(self._sid_of)

    def __len__(self) -> int:
        return self.n_items

    @property
    def variable_length(self) -> bool:
        """True when some SID is shorter than ``levels`` (decoding must then let ``<eos>`` end a SID)."""
        return self._trie.variable_length

    def sid_of(self, item_id: int) -> tuple[int, ...]:
        """The SID of ``item_id`` (a tuple of 1 .. ``levels`` ints, without padding)."""
        if not 0 <= item_id < len(self._sid_of):
            raise IndexError(f"item id {item_id} is outside the catalog's 0..{len(self._sid_of) - 1}")
        return self._sid_of[item_id]

    def items_for(self, sid: Sequence[int]) -> list[int]:
        """Items with SID ``sid``, by training popularity desc then item id; [] for a SID with no item."""
        return list(self._items.get(tuple(sid), ()))

    def is_valid(self, sid: Sequence[int]) -> bool:
        """True iff ``sid`` is the SID of at least one item."""
        return tuple(sid) in self._items

    def allowed_next(self, prefix: Sequence[int]) -> list[int]:
        """Codes c such that prefix + (c,) starts a valid SID, sorted ([] after a full or bad prefix)."""
        return self._trie.allowed_next(prefix)

    def end_allowed(self, prefix: Sequence[int]) -> bool:
        """True iff ``prefix`` is a complete SID (a decoded SID may end with ``<eos>`` after it)."""
        return self._trie.end_allowed(prefix)

    def sids(self) -> list[tuple[int, ...]]:
        """The distinct SIDs in use, sorted."""
        return self._trie.sids()

    @property
    def trie(self) -> PrefixTrie:
        return self._trie

    def stats(self) -> dict[str, Any]:
        """Collision / items-per-SID / codebook-use statistics plus the build record (residual error per
        level, preference-pair shares) when the catalog was built by ``build_sids``."""
        stats = code_stats(self.codes, self.codebook_sizes)
        for key in ("residual_mse", "preference_pairs", "target_pairs"):
            if key in self.build_info:
                stats[key] = self.build_info[key]
        return stats

    def __repr__(self) -> str:
        return (
            f"SidCatalog(name={self.name!r}, n_items={self.n_items}, levels={self.levels}, "
            f"codebook_sizes={self.codebook_sizes}, distinct_sids={len(self._items)}, "
            f"catalog_hash={self.catalog_hash!r})"
        )

    # --------------------------------------------------------------------------------------- persistence
    def save(self, directory: Path | str) -> Path:
        """Write the catalog to ``directory`` atomically: readers see the old or the new one, never a mix."""
        directory = Path(directory)
        meta = {
            "format": CATALOG_FORMAT,
            "name": self.name,
            "split_hash": self.split_hash,
            "catalog_hash": self.catalog_hash,
            "codebook_sizes": list(self.codebook_sizes),
            "levels": self.levels,
            "n_items": self.n_items,
            "popularity_dtype": str(self.item_popularity.dtype),
            "n_codebooks": len(self.codebooks),
            "config": self.config,
            "build_info": self.build_info,
        }
        with atomic_dir(directory) as tmp:
            np.save(tmp / "codes.npy", self.codes, allow_pickle=False)
            np.save(tmp / "popularity.npy", self.item_popularity, allow_pickle=False)
            for level, codebook in enumerate(self.codebooks):
                np.save(tmp / f"codebook_{level}.npy", codebook, allow_pickle=False)
            # Written last: its presence marks a complete catalog for cache lookups.
            (tmp / CATALOG_FILE).write_text(
                json.dumps(meta, sort_keys=True, indent=2) + "\n", encoding="utf-8"
            )
        return directory


def catalog_content_hash(
    codes: np.ndarray, sizes: Sequence[int], popularity: np.ndarray, split_hash: str
) -> str:
    """sha256 (16 hex) of everything that decides how SIDs map to ranked items."""
    digest = hashlib.sha256()
    digest.update(
        canonical_json({"sizes": list(sizes), "shape": list(codes.shape), "split": split_hash}).encode()
    )
    digest.update(np.ascontiguousarray(codes, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(popularity, dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def load_catalog(path: Path | str, expected_split_hash: str | None = None) -> SidCatalog:
    """Load a catalog saved by ``SidCatalog.save``.

    Raises ``ArtifactMismatchError`` when ``expected_split_hash`` is given and differs from the catalog's, and
    ``DataError`` when the directory is missing, incomplete or corrupt (its content hash does not match).
    """
    path = Path(path)
    meta_path = path / CATALOG_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"No SID catalog at {path}: {CATALOG_FILE} is missing. Build it with `grbench sids build`."
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(
            f"SID catalog {path} is unreadable ({exc}); rebuild it with `grbench sids build --force`."
        ) from exc
    if meta.get("format") != CATALOG_FORMAT:
        raise DataError(
            f"SID catalog {path} has format {meta.get('format')!r}; this version reads {CATALOG_FORMAT}."
        )
    if expected_split_hash is not None and meta["split_hash"] != expected_split_hash:
        raise ArtifactMismatchError(
            f"SID catalog {path} was built for data split {meta['split_hash']!r}, but the dataset in use has "
            f"split {expected_split_hash!r}. Rebuild the SIDs for this split "
            f"(`grbench sids build {meta.get('name') or 'NAME'}`)."
        )
    try:
        codes = np.load(path / "codes.npy", allow_pickle=False)
        popularity = np.load(path / "popularity.npy", allow_pickle=False)
        codebooks = [
            np.load(path / f"codebook_{level}.npy", allow_pickle=False)
            for level in range(meta["n_codebooks"])
        ]
    except (OSError, ValueError) as exc:
        raise DataError(
            f"SID catalog {path} is incomplete or corrupt ({exc}); rebuild it with --force."
        ) from exc
    catalog = SidCatalog(
        codes,
        meta["codebook_sizes"],
        popularity,
        meta["split_hash"],
        name=meta.get("name", ""),
        config=meta.get("config"),
        codebooks=codebooks,
        build_info=meta.get("build_info"),
    )
    if catalog.catalog_hash != meta["catalog_hash"]:
        raise DataError(
            f"SID catalog {path} is corrupt: its content hashes to {catalog.catalog_hash!r}, but "
            f"catalog.json "
            f"records {meta['catalog_hash']!r}. Rebuild it with --force."
        )
    return catalog


def _validate(codes: np.ndarray, sizes: tuple[int, ...], popularity: np.ndarray) -> None:
    if codes.ndim != 2 or codes.shape[0] == 0 or codes.shape[1] == 0:
        raise DataError(
            f"SidCatalog: codes must be a non-empty (n_items, levels) matrix. Got shape {codes.shape}."
        )
    if len(sizes) != codes.shape[1]:
        raise DataError(
            f"SidCatalog: {codes.shape[1]} levels of codes but {len(sizes)} codebook sizes {sizes}."
        )
    padded = codes == PAD
    # -1 only as right padding, and never the first code: a SID has at least one code.
    bad_pad = padded[:, 0].any() or (padded[:, :-1] & ~padded[:, 1:]).any()
    if bad_pad or (codes[~padded] < 0).any() or (np.where(padded, 0, codes) >= np.asarray(sizes)[None, :]).any():
        raise DataError(
            f"SidCatalog: every code of level l must be in [0, codebook_sizes[l]) = {sizes}, or -1 to pad the "
            f"end of a SID shorter than {len(sizes)} codes (at least the first code present)."
        )
    if popularity.shape != (codes.shape[0],) or not np.issubdtype(popularity.dtype, np.number):
        raise DataError(
            f"SidCatalog: item_popularity must be a numeric array of shape ({codes.shape[0]},). "
            f"Got {popularity.dtype} {popularity.shape}."
        )
