"""Prefix trie of the valid SIDs, for trie-constrained beam search and "is this SID valid" lookups.

The trie is stored flat: a dict from each valid prefix (a tuple of codes, the empty tuple included) to the
sorted codes that extend it. Beam search asks ``allowed_next`` once per beam per step, so a lookup is one
tuple hash, independent of the catalog size and of the prefix length.

SIDs may have any length from 1 to ``depth`` (variable-length SIDs, e.g. the ``sarq`` builder's): a prefix
can then be a complete SID and extendable at once, e.g. with SIDs (1,) and (1, 2) the prefix (1,) ends a SID
(``end_allowed``) and also continues with 2 (``allowed_next``). A fixed-length set (every SID of length
``depth``) behaves exactly as before: ``end_allowed`` holds only for complete SIDs, which nothing extends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

PAD = -1  # fills the end of a shorter SID's row in an (N, L_max) code matrix (``SidCatalog``)


class PrefixTrie:
    """A set of SIDs of lengths 1 .. ``depth``, with their prefixes.

    ``allowed_next(prefix)`` -> sorted codes c such that prefix + (c,) is a prefix of some SID ([] for a
    prefix of none, and for a complete SID that no longer SID extends); ``prefix in trie`` and
    ``end_allowed(prefix)`` are true for complete SIDs only; ``is_prefix`` for any valid prefix, the empty
    one and complete SIDs included. ``variable_length``: the SIDs do not all have length ``depth``.
    """

    def __init__(self, sids: Iterable[Sequence[int]], depth: int) -> None:
        self.depth = depth
        children: dict[tuple[int, ...], set[int]] = {}
        complete: set[tuple[int, ...]] = set()
        for sid in sids:
            sid = tuple(int(c) for c in sid)
            if not 1 <= len(sid) <= depth:
                raise ValueError(
                    f"PrefixTrie of depth {depth} got SID {sid} of length {len(sid)}; expected 1..{depth}"
                )
            complete.add(sid)
            for level in range(len(sid)):
                children.setdefault(sid[:level], set()).add(sid[level])
        self._children = {prefix: tuple(sorted(codes)) for prefix, codes in children.items()}
        self._complete = frozenset(complete)
        self.variable_length = any(len(sid) != depth for sid in complete)

    @classmethod
    def from_codes(cls, codes: np.ndarray) -> PrefixTrie:
        """Trie of the distinct rows of an (N, L) code matrix; -1 pads the end of a shorter SID's row."""
        rows = np.unique(codes, axis=0).tolist()
        return cls((tuple(row[: row.index(PAD)] if PAD in row else row) for row in rows), depth=codes.shape[1])

    def allowed_next(self, prefix: Sequence[int]) -> list[int]:
        return list(self._children.get(tuple(prefix), ()))

    def end_allowed(self, prefix: Sequence[int]) -> bool:
        """True iff ``prefix`` is a complete SID, so that a decoded SID may end (emit ``<eos>``) here."""
        return tuple(prefix) in self._complete

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
