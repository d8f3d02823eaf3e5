"""Input checks shared by every metric: one place for the error messages users see."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from benchmark.config import check_number
from benchmark.errors import BenchmarkError


def check_k(owner: str, k: Any) -> int:
    """``k`` must be an int >= 1 (a cutoff of 0 has no meaning; a float cutoff is a caller bug)."""
    check_number(owner, "k", k, low=1, integer=True)
    return int(k)


def check_same_length(owner: str, ranked: Sequence[Any], relevant: Sequence[Any]) -> None:
    if len(ranked) != len(relevant):
        raise BenchmarkError(
            f"{owner}: 'ranked' and 'relevant' must hold one entry per query. "
            f"Got {len(ranked)} rankings and {len(relevant)} relevance sets."
        )


def relevant_set(owner: str, query: int, relevant: Iterable[Hashable]) -> frozenset[Hashable]:
    """The relevant ids of one query as a frozenset; an empty set is an error, never a silent zero.

    Recall divides by |relevant|, and a query nobody could answer would silently drag every method's mean
    towards 0 (or be dropped by a NaN-mean), so the data split must not contain such queries.
    """
    if isinstance(relevant, (str, bytes)):
        raise BenchmarkError(f"{owner}: relevant[{query}] must be a set of ids, got the string {relevant!r}.")
    try:
        items = frozenset(relevant)
    except TypeError as exc:
        raise BenchmarkError(
            f"{owner}: relevant[{query}] must be an iterable of hashable ids (ints or tuples). {exc}"
        ) from exc
    if not items:
        raise BenchmarkError(
            f"{owner}: query {query} has no relevant items; recall is undefined for it. "
            "Remove queries without ground truth before scoring."
        )
    return items
