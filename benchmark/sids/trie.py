"""Prefix trie of the valid SIDs, for trie-constrained beam search and "is this SID valid" lookups.

The trie is stored flat: a dict from each valid prefix (a tuple of codes, the empty tuple included) to the
sorted codes that extend it. Beam search asks ``allowed_next`` once per beam per step, so a lookup is one
tuple hash, independent of the catalog size and of the prefix length.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class PrefixTrie:
    """The set of SIDs of one depth, with their prefixes.

    ``allowed_next(prefix)`` -> sorted codes c such that prefix + (c,) is a prefix of some SID ([] for a
    complete SID or a prefix of none); ``prefix in trie`` is true for complete SIDs only; ``is_prefix`` for
    any valid prefix, the empty one and complete SIDs included.
    """

    def __init__(self, sids: Iterable[Sequence[int]], depth: int) -> None:
        self.depth = depth
        children: dict[tuple[int, ...], set[int]] = {}
        complete: set[tuple[int, ...]] = set()
        for sid in sids:
            sid = tuple(int(c) for c in sid)
            if len(sid) != depth:
                raise ValueError(f"PrefixTrie of depth {depth} got SID {sid} of length {len(sid)}")
            complete.add(sid)
            for level in range(depth):
                children.setdefault(sid[:level], set()).add(sid[level])
        self._children = {prefix: tuple(sorted(codes)) for prefix, codes in children.items()}
        self._complete = frozenset(complete)

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> PrefixTrie:
        """Trie of the distinct rows of an (N, L) code matrix."""
        return cls((tuple(row) for row in np.unique(codes, axis=0).tolist()), depth=codes.shape[1])

    def allowed_next(self, prefix: Sequence[int]) -> list[int]:
        return list(self._children.get(tuple(prefix), ()))

    def is_prefix(self, prefix: Sequence[int]) -> bool:
        prefix = tuple(prefix)
        return prefix in self._children or prefix in self._complete

    def __contains__(self, sid: object) -> bool:
        try:
            return tuple(sid) in self._complete  # type: ignore[arg-type]
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self._complete)

    def sids(self) -> list[tuple[int, ...]]:
        """The complete SIDs, sorted."""
        return sorted(self._complete)
