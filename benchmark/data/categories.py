"""Category trees: from per-item category paths to nodes with item sets (the query nodes of docs/DATA.md).

A node is a path prefix; its items are every item whose path starts with it (its subtree). When every
categorised item shares one top-level node (Amazon's store department, e.g. "Industrial & Scientific"), that
node is the *root* and is never a query node.

UniSRec's ``.text`` files join the levels of a path with plain spaces, so the level boundaries are lost;
:func:`segment_word_paths` recovers them from the catalog itself (a compacted word trie, see docs/DATA.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from benchmark.data.canonical import CATEGORY_SEPARATOR


def segment_word_paths(paths: Sequence[str]) -> list[tuple[str, ...]]:
    """Split space-joined category paths into levels at the branch points of the catalog's word trie.

    A level ends after word k of a path when the path ends there, another path ends there, or the paths
    sharing the first k words continue with different words. This is the compacted (radix) trie of the
    paths: every real category with two distinct subcategories is recovered; a real level with a single
    child merges into it, and siblings sharing a leading word ("Sanding Rolls", "Sanding Sheets") get a
    one-word parent ("Sanding"). Both keep each node an exact set of items sharing a path prefix.
    """
    words = [tuple(p.split()) for p in paths]
    next_words: dict[tuple[str, ...], set[str]] = {}
    ends: set[tuple[str, ...]] = set()
    for path in words:
        if not path:
            continue
        ends.add(path)
        for k in range(len(path)):
            next_words.setdefault(path[:k], set()).add(path[k])
    out: list[tuple[str, ...]] = []
    for path in words:
        levels: list[str] = []
        start = 0
        for k in range(1, len(path) + 1):
            prefix = path[:k]
            if k == len(path) or prefix in ends or len(next_words.get(prefix, ())) > 1:
                levels.append(" ".join(path[start:k]))
                start = k
        out.append(tuple(levels))
    return out


@dataclasses.dataclass(frozen=True)
class CategoryTree:
    """Nodes of the items' category paths.

    ``names[v]``: the level name of node v; ``parent[v]``: its parent (-1 at top level); ``depth[v]``: 0 at
    top level; ``item_nodes[i]``: node ids on item i's path, top first ([] when uncategorised);
    ``node_items[v]``: sorted item ids of v's subtree; ``root``: the shared department node or -1.
    """

    names: list[str]
    parent: np.ndarray
    depth: np.ndarray
    item_nodes: list[list[int]]
    node_items: list[np.ndarray]
    root: int

    def ancestors(self, node: int) -> list[int]:
        """Ancestors of ``node`` below the root, nearest first."""
        out = []
        node = int(self.parent[node])
        while node >= 0 and node != self.root:
            out.append(node)
            node = int(self.parent[node])
        return out


def build_tree(categories: Sequence[str]) -> CategoryTree:
    """The tree of canonical ``category`` strings (levels joined by " > ")."""
    index: dict[tuple[str, ...], int] = {}
    names: list[str] = []
    parent: list[int] = []
    depth: list[int] = []
    members: list[list[int]] = []
    item_nodes: list[list[int]] = []
    for item, category in enumerate(categories):
        levels = [level.strip() for level in category.split(CATEGORY_SEPARATOR)] if category else []
        levels = [level for level in levels if level]
        chain: list[int] = []
        for k in range(len(levels)):
            key = tuple(levels[: k + 1])
            node = index.get(key)
            if node is None:
                node = index[key] = len(names)
                names.append(levels[k])
                parent.append(chain[-1] if chain else -1)
                depth.append(k)
                members.append([])
            members[node].append(item)
            chain.append(node)
        item_nodes.append(chain)
    top = [v for v in range(len(names)) if depth[v] == 0]
    categorised = sum(1 for chain in item_nodes if chain)
    # A single top-level node holding every categorised item is the store department: too broad to search.
    root = top[0] if len(top) == 1 and categorised > 0 and len(members[top[0]]) == categorised else -1
    return CategoryTree(
        names=names,
        parent=np.asarray(parent, dtype=np.int64),
        depth=np.asarray(depth, dtype=np.int64),
        item_nodes=item_nodes,
        node_items=[np.asarray(m, dtype=np.int64) for m in members],
        root=root,
    )
