"""Inputs that would silently corrupt a mean are errors naming what is wrong."""

from __future__ import annotations

import pytest

from benchmark.errors import BenchmarkError, ConfigError
from benchmark.metrics import hallucination_rate, hit_rate_at_k, mrr, recall_at_k


@pytest.mark.parametrize("metric", [recall_at_k, hit_rate_at_k])
def test_query_without_relevant_items_is_an_error_naming_it(metric) -> None:
    with pytest.raises(BenchmarkError, match=r"query 1 has no relevant items"):
        metric([[1], [2]], [{1}, set()], 3)


def test_mrr_query_without_relevant_items_is_an_error() -> None:
    with pytest.raises(BenchmarkError, match=r"query 0 has no relevant items"):
        mrr([[1]], [[]])


@pytest.mark.parametrize("metric", [recall_at_k, hit_rate_at_k])
def test_length_mismatch_is_an_error(metric) -> None:
    with pytest.raises(BenchmarkError, match=r"Got 2 rankings and 1 relevance sets"):
        metric([[1], [2]], [{1}], 1)
    with pytest.raises(BenchmarkError, match=r"one entry per query"):
        mrr([[1]], [{1}, {2}])


@pytest.mark.parametrize("k", [0, -3, 1.5, True, "5", None])
@pytest.mark.parametrize("metric", [recall_at_k, hit_rate_at_k])
def test_bad_cutoff_is_an_error_naming_k(metric, k) -> None:
    with pytest.raises(ConfigError, match=r"The 'k' parameter of .* must be an int in the range \[1, inf\)"):
        metric([[1]], [{1}], k)


def test_unhashable_ids_are_an_error_naming_the_query() -> None:
    with pytest.raises(BenchmarkError, match=r"ranked\[1\] must be an iterable of hashable ids"):
        recall_at_k([[1], [[0, 1]]], [{1}, {(0, 1)}], 1)
    with pytest.raises(BenchmarkError, match=r"relevant\[0\] must be an iterable of hashable ids"):
        mrr([[1]], [[[0, 1]]])


def test_string_rankings_are_rejected() -> None:
    # a string is iterable, so without the check "123" would be scored as the ids "1", "2", "3"
    with pytest.raises(BenchmarkError, match=r"ranked\[0\] must be a sequence of ids"):
        mrr(["123"], [{"1"}])
    with pytest.raises(BenchmarkError, match=r"relevant\[0\] must be a set of ids"):
        mrr([["1"]], ["1"])


@pytest.mark.parametrize("at", [0, -1, 1.0, True])
def test_hallucination_bad_at(at) -> None:
    with pytest.raises(ConfigError, match=r"The 'at' parameter of hallucination_rate"):
        hallucination_rate([[True]], at=at)


def test_hallucination_non_bool_entries() -> None:
    with pytest.raises(BenchmarkError, match=r"beam_valid\[1\] must hold only bools"):
        hallucination_rate([[True], [1, 0]])
    with pytest.raises(BenchmarkError, match=r"beam_valid\[0\] must be a sequence of bools"):
        hallucination_rate([None])
