from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.sids import PrefixTrie, SidCatalog

sid_sets = st.integers(1, 4).flatmap(
    lambda depth: st.tuples(
        st.just(depth),
        st.lists(st.tuples(*[st.integers(0, 3)] * depth), min_size=1, max_size=30),
    )
)


@settings(max_examples=60, deadline=None)
@given(sid_sets)
def test_trie_accepts_exactly_the_sids_and_their_prefixes(case: tuple[int, list[tuple[int, ...]]]) -> None:
    depth, sids = case
    trie = PrefixTrie(sids, depth=depth)
    valid = set(sids)
    prefixes = {sid[:n] for sid in valid for n in range(depth + 1)}
    # every tuple over the code alphabet, of every length up to depth: brute force against the definition
    for length in range(depth + 1):
        for candidate in itertools.product(range(4), repeat=length):
            assert trie.is_prefix(candidate) == (candidate in prefixes)
            assert (candidate in trie) == (candidate in valid)
            expected = sorted({sid[length] for sid in valid if length < depth and sid[:length] == candidate})
            assert trie.allowed_next(candidate) == expected
    assert len(trie) == len(valid) and trie.sids() == sorted(valid)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=40))
def test_greedy_walk_of_allowed_next_only_reaches_catalog_sids(rows: list[tuple[int, int, int]]) -> None:
    """What trie-constrained decoding does: every path through allowed_next ends in a SID with items."""
    codes = np.array(rows)
    catalog = SidCatalog(codes, (6, 6, 6), np.zeros(len(rows)), "split")
    reached = set()
    frontier: list[tuple[int, ...]] = [()]
    for _ in range(3):
        frontier = [p + (c,) for p in frontier for c in catalog.allowed_next(p)]
    reached = set(frontier)
    assert reached == {tuple(r) for r in rows}
    assert all(catalog.is_valid(s) and catalog.items_for(s) for s in reached)
    assert catalog.allowed_next(frontier[0]) == []  # nothing extends a complete SID


def test_lookups_accept_lists_and_numpy_ints() -> None:
    trie = PrefixTrie.from_codes(np.array([[1, 2], [1, 3], [0, 0]]))
    assert trie.allowed_next([1]) == [2, 3]
    assert trie.allowed_next((np.int64(1),)) == [2, 3]
    assert trie.allowed_next(()) == [0, 1]
    assert trie.allowed_next((2,)) == [] and trie.allowed_next((1, 2)) == []
    assert [1, 3] in trie and (1, 4) not in trie and 5 not in trie
