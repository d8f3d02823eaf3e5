"""Query derivation: the product-search protocol of Van Gysel et al. (2016) and Ai et al. (2017).

Amazon logs hold no search queries, so each ordered item yields one (docs/DATA.md "Queries"):

- **Category protocol** (items with a category path): the query node is the deepest level of the item's path,
  below the root department, whose subtree holds >= ``min_positives`` items. The query text is the content
  words of that node's name (a seeded choice of ``max_query_words`` of them when there are more), preceded by
  the words of its nearest ancestors' names while it has fewer than two words or while another query node
  would get the same text (capped at ``max_query_words``, distant words dropped first). Relevant items = the
  node's items. One query per node.
- **Title-term protocol** (items without a usable category): 1 or 2 content words of the ordered item's title;
  single terms must match between ``min_positives`` and ``max_term_items`` items, pairs must co-occur in that
  many titles. Relevant items = the items whose titles contain every query term. Each impression draws its
  query among the ordered item's candidates under the seed (1 or 2 words with equal probability).
- **Fallback** (no category, no candidate term): the rarest title term that still matches >= min_positives
  items, else the most frequent title term, else the empty query.

Graded truth: 2 = the ordered item, 1 = another relevant item, 0 = any other item.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from benchmark.data.categories import CategoryTree, build_tree
from benchmark.data.text import content_words, tokens

log = logging.getLogger(__name__)

KIND_CATEGORY, KIND_TITLE, KIND_FALLBACK = 0, 1, 2
KIND_NAMES = {KIND_CATEGORY: "category", KIND_TITLE: "title", KIND_FALLBACK: "fallback"}
MIN_CATEGORY_WORDS = 2  # a one-word level name ("Accessories") is completed with its parent's words
MAX_PAIR_TERMS = 12  # pairs are formed among an item's first 12 usable title terms (bounds the work per item)


@dataclasses.dataclass(frozen=True)
class CSR:
    """Rows of variable length: row r is ``values[offsets[r]:offsets[r + 1]]``."""

    offsets: np.ndarray  # (R + 1,) int64
    values: np.ndarray  # (nnz,) int64

    @staticmethod
    def from_lists(rows: Sequence[Sequence[int]]) -> CSR:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(offsets[-1]))
        return CSR(offsets, values)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, r: int) -> np.ndarray:
        return self.values[self.offsets[r]:self.offsets[r + 1]]

    def sample(self, rows: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """One uniform element of each given row (``uniform`` in [0, 1), same shape as ``rows``); -1 for
        empty rows."""
        sizes = self.sizes[rows]
        out = np.full(np.shape(rows), -1, dtype=np.int64)
        ok = sizes > 0
        pick = np.minimum(np.floor(uniform[ok] * sizes[ok]).astype(np.int64), sizes[ok] - 1)
        out[ok] = self.values[self.offsets[rows[ok]] + pick]
        return out

    def gather(self, rows: np.ndarray) -> CSR:
        """The given rows, concatenated in order (e.g. the relevant lists of a split's queries)."""
        sizes = self.sizes[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        starts = np.repeat(self.offsets[rows] - offsets[:-1], sizes)
        return CSR(offsets, self.values[starts + np.arange(offsets[-1], dtype=np.int64)])


@dataclasses.dataclass(frozen=True)
class QueryTable:
    """Every query the protocol can emit, with its relevant items and the per-item candidates.

    ``texts[q]``, ``kinds[q]`` and ``relevant`` row q (sorted item ids) describe query q. ``single`` /
    ``pair`` row i: the 1-term (or category) and 2-term candidate queries of item i. ``near`` row i: near-miss
    groups of item i (sibling category items, or items sharing a title term), each a row of ``groups``.
    """

    texts: list[str]
    kinds: np.ndarray
    relevant: CSR
    single: CSR
    pair: CSR
    near: CSR
    groups: CSR
    n_items: int

    def __post_init__(self) -> None:
        keys = np.repeat(np.arange(len(self.texts), dtype=np.int64), self.relevant.sizes) * self.n_items
        object.__setattr__(self, "_keys", keys + self.relevant.values)

    @property
    def n_queries(self) -> int:
        return len(self.texts)

    def contains(self, queries: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each item is relevant to the query beside it (broadcast shapes), as a bool array."""
        keys = np.asarray(queries, dtype=np.int64) * self.n_items + np.asarray(items, dtype=np.int64)
        table: np.ndarray = self._keys  # type: ignore[attr-defined]
        at = np.searchsorted(table, keys)
        found = np.zeros(keys.shape, dtype=bool)
        inside = at < len(table)
        found[inside] = table[at[inside]] == keys[inside]
        return found & (np.asarray(items) >= 0)

    def grades(self, queries: np.ndarray, targets: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Graded truth of ``items`` (B, M) for rows with ``queries``/``targets`` (B,): 2 / 1 / 0, -1 = padding."""
        relevant = self.contains(queries[:, None], items)
        grade = np.where(items == targets[:, None], 2, relevant.astype(np.int8)).astype(np.int8)
        return np.where(items < 0, np.int8(-1), grade)

    def choose(self, targets: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A query id per row: a 1- or 2-word candidate of the ordered item, uniformly, under ``rng``."""
        targets = np.asarray(targets, dtype=np.int64)
        n1, n2 = self.single.sizes[targets], self.pair.sizes[targets]
        coin = rng.random(len(targets))
        pick = rng.random(len(targets))
        use_pair = (n2 > 0) & ((n1 == 0) | (coin < 0.5))
        out = self.single.sample(targets, pick)
        out[use_pair] = self.pair.sample(targets[use_pair], pick[use_pair])
        if (out < 0).any():
            raise AssertionError("an item without candidate queries")  # build_queries gives every item one
        return out


def build_queries(items: pd.DataFrame, min_positives: int, max_query_words: int, max_term_items: int,
                  seed: int) -> QueryTable:
    """The query table of a catalog (``items`` as in canonical.py)."""
    n_items = len(items)
    rng = np.random.default_rng([seed, 0x51])
    builder = _Builder()
    tree = build_tree(items["category"].tolist())
    query_node = _query_nodes(tree, min_positives)

    # Category protocol: one query per query node.
    used = sorted({v for v in query_node if v >= 0})
    node_texts = _node_texts(tree, used, max_query_words, rng)
    node_query = {v: builder.add(("node", v), node_texts[v], KIND_CATEGORY, tree.node_items[v]) for v in used}
    single: list[list[int]] = [[] for _ in range(n_items)]
    pair: list[list[int]] = [[] for _ in range(n_items)]
    for item, node in enumerate(query_node):
        if node >= 0:
            single[item].append(node_query[node])

    # Title terms: the catalog-wide vocabulary (also the near-miss groups of title-protocol items).
    titles = [t if t.strip() else x for t, x in zip(items["title"].tolist(), items["text"].tolist())]
    item_terms = [content_words(t) for t in titles]
    vocab: dict[str, int] = {}
    postings: list[list[int]] = []
    for item, terms in enumerate(item_terms):
        for term in terms:
            tid = vocab.setdefault(term, len(vocab))
            if tid == len(postings):
                postings.append([])
            postings[tid].append(item)
    df = np.array([len(p) for p in postings], dtype=np.int64)
    posting_sets: dict[int, frozenset[int]] = {}

    def posting_set(tid: int) -> frozenset[int]:
        if tid not in posting_sets:
            posting_sets[tid] = frozenset(postings[tid])
        return posting_sets[tid]

    pair_cache: dict[tuple[str, int, int], list[int] | None] = {}
    for item in range(n_items):
        if single[item]:
            continue
        tids = [vocab[t] for t in item_terms[item]]
        for tid in tids:
            if min_positives <= df[tid] <= max_term_items:
                key = ("terms", tid)
                single[item].append(builder.id_of(key) if key in builder else builder.add(
                    key, _term_text(item_terms[item], [tid], vocab), KIND_TITLE, postings[tid]))
        usable = [t for t in tids if df[t] >= min_positives][:MAX_PAIR_TERMS]
        for a, b in itertools.combinations(usable, 2):
            key = ("terms", min(a, b), max(a, b))
            if key in builder:
                pair[item].append(builder.id_of(key))
                continue
            if key not in pair_cache:
                both = posting_set(a) & posting_set(b)
                pair_cache[key] = sorted(both) if min_positives <= len(both) <= max_term_items else None
            members = pair_cache[key]
            if members is not None:
                pair[item].append(builder.add(key, _term_text(item_terms[item], [a, b], vocab), KIND_TITLE, members))
        if not single[item] and not pair[item]:
            single[item].append(_fallback(builder, item, tids, df, postings, item_terms[item], vocab, min_positives))

    near = _near_groups(tree, query_node, n_items)
    group_rows = postings + [list(s) for s in near.sibling_sets]
    table = QueryTable(
        texts=builder.texts,
        kinds=np.asarray(builder.kinds, dtype=np.int8),
        relevant=CSR.from_lists(builder.members),
        single=CSR.from_lists(single),
        pair=CSR.from_lists(pair),
        near=CSR.from_lists([
            [vocab[t] for t in item_terms[i] if df[vocab[t]] >= 2] if near.sibling_of[i] < 0
            else [len(postings) + near.sibling_of[i]]
            for i in range(n_items)
        ]),
        groups=CSR.from_lists([sorted(r) for r in group_rows]),
        n_items=n_items,
    )
    log.info("queries: %d category, %d title-term, %d fallback", *(int((table.kinds == k).sum()) for k in range(3)))
    return table


class _Builder:
    """Collects distinct queries; ``key`` identifies one (a category node, or a set of title terms, so "mario
    kart" and "kart mario" from two titles stay one query, worded as the first title has it)."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.kinds: list[int] = []
        self.members: list[list[int]] = []
        self._index: dict[object, int] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def id_of(self, key: object) -> int:
        return self._index[key]

    def add(self, key: object, text: str, kind: int, members: Sequence[int] | np.ndarray) -> int:
        if key in self._index:
            return self._index[key]
        self._index[key] = len(self.texts)
        self.texts.append(text)
        self.kinds.append(kind)
        self.members.append(sorted(int(m) for m in members))
        return self._index[key]


def _term_text(terms: list[str], tids: Sequence[int], vocab: dict[str, int]) -> str:
    """The chosen terms in the order the ordered item's title has them."""
    chosen = set(tids)
    return " ".join(t for t in terms if vocab[t] in chosen)


def _fallback(builder: _Builder, item: int, tids: list[int], df: np.ndarray, postings: list[list[int]],
              terms: list[str], vocab: dict[str, int], min_positives: int) -> int:
    enough = [t for t in tids if df[t] >= min_positives]
    if enough:
        tid = min(enough, key=lambda t: (df[t], t))  # the most specific term with enough positives
    elif tids:
        tid = max(tids, key=lambda t: (df[t], -t))
    else:
        return builder.add(("empty", item), "", KIND_FALLBACK, [item])
    return builder.add(("terms", tid), _term_text(terms, [tid], vocab), KIND_FALLBACK, postings[tid])


def _query_nodes(tree: CategoryTree, min_positives: int) -> list[int]:
    """Per item: the deepest node on its path (below the root) with >= min_positives items, or -1."""
    sizes = np.array([len(m) for m in tree.node_items], dtype=np.int64)
    out = []
    for chain in tree.item_nodes:
        node = -1
        for v in reversed(chain):
            if v != tree.root and sizes[v] >= min_positives:
                node = v
                break
        out.append(node)
    return out


def _node_texts(tree: CategoryTree, nodes: list[int], max_words: int, rng: np.random.Generator) -> dict[int, str]:
    """Query text of each query node: its own content words, completed from ancestors (see module doc)."""
    own: dict[int, list[str]] = {}
    for v in nodes:  # sorted node ids: the seeded choices happen in a fixed order
        words = content_words(tree.names[v]) or tokens(tree.names[v]) or [tree.names[v].lower()]
        if len(words) > max_words:
            keep = np.sort(rng.choice(len(words), size=max_words, replace=False))
            words = [words[i] for i in keep]
        own[v] = words

    def text(v: int, extra: int) -> str:
        words = list(own[v])
        need = min(max_words, max(MIN_CATEGORY_WORDS, len(words)) + extra)
        for ancestor in tree.ancestors(v):
            if len(words) >= need:
                break
            words = [w for w in content_words(tree.names[ancestor]) if w not in words] + words
        # Over the cap, drop the most distant context first: the node's own words are kept.
        return " ".join(words[-max_words:])

    extra = dict.fromkeys(nodes, 0)
    texts = {v: text(v, 0) for v in nodes}
    for _ in range(max_words):
        by_text: dict[str, list[int]] = {}
        for v in nodes:
            by_text.setdefault(texts[v], []).append(v)
        progress = False
        for group in by_text.values():
            if len(group) < 2:
                continue
            for v in group:
                longer = text(v, extra[v] + 1)
                if longer != texts[v]:
                    extra[v] += 1
                    texts[v] = longer
                    progress = True
        if not progress:
            break
    return texts


@dataclasses.dataclass(frozen=True)
class _Near:
    sibling_of: list[int]  # per item: index into sibling_sets, or -1 (title-term near misses)
    sibling_sets: list[list[int]]


def _near_groups(tree: CategoryTree, query_node: list[int], n_items: int) -> _Near:
    """Near misses of category-protocol items: the items of the query node's parent outside the node
    (a top-level node without a root department has none). Other items get -1: their near misses are the
    items sharing a title term, resolved by the caller from the postings."""
    sets: dict[int, int] = {}
    rows: list[list[int]] = []
    sibling_of = []
    for item in range(n_items):
        node = query_node[item]
        if node < 0:
            sibling_of.append(-1)
            continue
        if node not in sets:
            parent = int(tree.parent[node])
            siblings = np.setdiff1d(tree.node_items[parent], tree.node_items[node]) if parent >= 0 else []
            sets[node] = len(rows)
            rows.append([int(s) for s in siblings])
        sibling_of.append(sets[node])
    return _Near(sibling_of, rows)
