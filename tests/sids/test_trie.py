from __future__ import annotations

import itertools

import numpy as np
import pytest
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


def test_variable_length_trie_golden() -> None:
    """SIDs (1,), (1, 2), (2, 0, 1), (3, 4): (1,) is complete and extendable; depth 3 bounds the length."""
    trie = PrefixTrie([(1,), (1, 2), (2, 0, 1), (3, 4)], depth=3)
    assert trie.variable_length and len(trie) == 4
    assert trie.allowed_next(()) == [1, 2, 3]
    assert trie.allowed_next((1,)) == [2] and trie.end_allowed((1,)) and (1,) in trie
    assert trie.allowed_next((1, 2)) == [] and trie.end_allowed((1, 2))
    assert trie.allowed_next((2,)) == [0] and not trie.end_allowed((2,)) and (2,) not in trie
    assert trie.allowed_next((2, 0)) == [1] and not trie.end_allowed((2, 0))
    assert trie.end_allowed((2, 0, 1)) and trie.end_allowed((3, 4)) and not trie.end_allowed(())
    assert trie.is_prefix((2, 0)) and not trie.is_prefix((1, 3)) and not trie.is_prefix((3, 4, 0))
    assert trie.sids() == [(1,), (1, 2), (2, 0, 1), (3, 4)]
    assert not PrefixTrie([(1, 2), (0, 0)], depth=2).variable_length
    with pytest.raises(ValueError, match="expected 1..3"):
        PrefixTrie([(1, 2, 3, 4)], depth=3)
    with pytest.raises(ValueError, match="length 0"):
        PrefixTrie([()], depth=3)


def test_from_codes_strips_right_padding() -> None:
    trie = PrefixTrie.from_codes(np.array([[1, -1, -1], [1, 2, -1], [2, 0, 1], [1, 2, -1]]))
    assert trie.sids() == [(1,), (1, 2), (2, 0, 1)] and trie.depth == 3


variable_sid_sets = st.integers(1, 4).flatmap(
    lambda depth: st.tuples(
        st.just(depth),
        st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=depth).map(tuple), min_size=1, max_size=30),
    )
)


@settings(max_examples=60, deadline=None)
@given(variable_sid_sets)
def test_variable_trie_matches_brute_force(case: tuple[int, list[tuple[int, ...]]]) -> None:
    depth, sids = case
    trie = PrefixTrie(sids, depth=depth)
    valid = set(sids)
    prefixes = {sid[:n] for sid in valid for n in range(len(sid) + 1)}
    for length in range(depth + 1):
        for candidate in itertools.product(range(4), repeat=length):
            assert trie.is_prefix(candidate) == (candidate in prefixes)
            assert trie.end_allowed(candidate) == (candidate in valid)
            expected = sorted({s[length] for s in valid if len(s) > length and s[:length] == candidate})
            assert trie.allowed_next(candidate) == expected
    assert trie.variable_length == any(len(s) < depth for s in valid)
    # every walk of allowed_next + end_allowed (what constrained decoding does) ends exactly on the SIDs
    ended, frontier = set(), [()]
    while frontier:
        ended.update(p for p in frontier if trie.end_allowed(p))
        frontier = [p + (c,) for p in frontier for c in trie.allowed_next(p)]
    assert ended == valid
