"""Invariants of the ranking metrics, checked by hypothesis on random rankings."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.metrics import hit_rate_at_k, mrr, recall_at_k

ID_SPACE = 12  # a small id space so rankings contain duplicates and hits often
ids = st.integers(min_value=0, max_value=ID_SPACE - 1)
queries = st.lists(
    st.tuples(st.lists(ids, max_size=15), st.sets(ids, min_size=1, max_size=6)), min_size=1, max_size=6
)
cutoffs = st.integers(min_value=1, max_value=20)


def split(batch):
    return [list(r) for r, _ in batch], [set(s) for _, s in batch]


@settings(max_examples=150, deadline=None)
@given(queries, cutoffs)
def test_values_lie_in_unit_interval(batch, k) -> None:
    ranked, relevant = split(batch)
    for values in (recall_at_k(ranked, relevant, k), hit_rate_at_k(ranked, relevant, k), mrr(ranked, relevant)):
        assert np.all((values >= 0.0) & (values <= 1.0))


@settings(max_examples=150, deadline=None)
@given(queries, cutoffs, cutoffs)
def test_recall_and_hit_are_non_decreasing_in_k(batch, k1, k2) -> None:
    ranked, relevant = split(batch)
    lo, hi = min(k1, k2), max(k1, k2)
    assert np.all(recall_at_k(ranked, relevant, lo) <= recall_at_k(ranked, relevant, hi))
    assert np.all(hit_rate_at_k(ranked, relevant, lo) <= hit_rate_at_k(ranked, relevant, hi))


@settings(max_examples=150, deadline=None)
@given(queries, cutoffs)
def test_orderings_between_metrics(batch, k) -> None:
    ranked, relevant = split(batch)
    recall = recall_at_k(ranked, relevant, k)
    hit = hit_rate_at_k(ranked, relevant, k)
    rr = mrr(ranked, relevant)
    assert np.all(recall <= hit)                     # any recall > 0 is a hit
    assert np.all(hit / k <= rr)                     # a hit within k means a first relevant rank <= k
    full = max(1, max(len(r) for r in ranked))
    assert np.all(rr <= hit_rate_at_k(ranked, relevant, full))   # MRR <= hit rate at the list length


@settings(max_examples=150, deadline=None)
@given(queries, cutoffs, st.permutations(range(ID_SPACE)))
def test_invariant_to_renaming_ids(batch, k, perm) -> None:
    ranked, relevant = split(batch)
    # a bijection onto other ints, and onto SID-like tuples
    for rename in (lambda i: perm[i] + 1000, lambda i: (perm[i] % 3, perm[i], 7)):
        ranked2 = [[rename(i) for i in r] for r in ranked]
        relevant2 = [{rename(i) for i in s} for s in relevant]
        np.testing.assert_array_equal(recall_at_k(ranked, relevant, k), recall_at_k(ranked2, relevant2, k))
        np.testing.assert_array_equal(hit_rate_at_k(ranked, relevant, k), hit_rate_at_k(ranked2, relevant2, k))
        np.testing.assert_array_equal(mrr(ranked, relevant), mrr(ranked2, relevant2))


@settings(max_examples=150, deadline=None)
@given(queries, cutoffs)
def test_duplicates_count_once_at_their_first_position(batch, k) -> None:
    ranked, relevant = split(batch)
    # replace every repeat by a fresh never-relevant id: same positions, no duplicates
    deduped = []
    for r in ranked:
        seen: set[int] = set()
        out = []
        for pos, i in enumerate(r):
            out.append(-1 - pos if i in seen else i)
            seen.add(i)
        deduped.append(out)
    np.testing.assert_array_equal(recall_at_k(ranked, relevant, k), recall_at_k(deduped, relevant, k))
    np.testing.assert_array_equal(hit_rate_at_k(ranked, relevant, k), hit_rate_at_k(deduped, relevant, k))
    np.testing.assert_array_equal(mrr(ranked, relevant), mrr(deduped, relevant))


@settings(max_examples=100, deadline=None)
@given(queries)
def test_ranking_every_relevant_id_first_gives_perfect_scores(batch) -> None:
    ranked, relevant = split(batch)
    perfect = [sorted(s) + r for r, s in zip(ranked, relevant)]
    k = max(len(s) for s in relevant)
    np.testing.assert_array_equal(recall_at_k(perfect, relevant, k), 1.0)
    np.testing.assert_array_equal(mrr(perfect, relevant), 1.0)


@settings(max_examples=100, deadline=None)
@given(queries, cutoffs)
def test_matches_a_direct_definition(batch, k) -> None:
    ranked, relevant = split(batch)
    for r, s in zip(ranked, relevant):
        top = set(r[:k])
        assert recall_at_k([r], [s], k)[0] == len(top & s) / len(s)
        assert hit_rate_at_k([r], [s], k)[0] == float(bool(top & s))
        first = next((pos for pos, i in enumerate(r, 1) if i in s), None)
        assert mrr([r], [s])[0] == (0.0 if first is None else 1.0 / first)
