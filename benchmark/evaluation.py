"""Rankings -> per-query metric arrays, at the SID level and the item level (DESIGN.md section 6).

Input is what decoding returns, already decoded: for each query, the beams' SIDs in rank order (None for an
ill-formed token sequence). The catalog is used only through ``items_for(sid)`` and ``sid_of(item)``, so the
leaderboard validator can score submitted rankings with exactly this code.

- SID level: the distinct generated SIDs (first occurrence) are ranked against the SIDs of the relevant
  items: ``sid_recall@k``, ``sid_hit@k``, ``sid_mrr``.
- Item level: each distinct SID in rank order expands to its items in catalog order (training popularity,
  then item id); ill-formed or unknown SIDs contribute nothing: ``item_recall@k``, ``item_hit@k``,
  ``item_mrr``.
- ``halluc``: share of all returned beams (duplicates included) whose SID is None or maps to no item;
  ``halluc@1``: the same for the rank-1 beam.
- Ordered item (protocol 2, only when ``targets`` are given): the held-out ordered item in the item ranking
  (``target_hit@k``, ``target_ndcg@k`` graded with the other relevant items, ``target_mrr``) and its SID in
  the SID ranking (``target_sid_hit@k``, ``target_sid_mrr``). The relevant-set metrics above are then the
  secondary, category-level columns; their values do not depend on the targets.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from benchmark.config import check_int_list, check_number
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.metrics import check_targets, hit_ranks, target_hit_ranks
from benchmark.metrics.registry import EvalInputs, compute_metric, evaluated_names

logger = logging.getLogger(__name__)

Sid = tuple[int, ...]


class SidLookup(Protocol):
    """The two catalog methods evaluation needs (``benchmark.sids.SidCatalog`` provides both)."""

    def items_for(self, sid: Sid) -> list[int]: ...

    def sid_of(self, item_id: int) -> Sid: ...


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """How rankings are produced and scored.

    sid_ks / item_ks: cutoffs of the SID-level (paper Table 1: R@8/64/128) and item-level (R@10/100/500)
        metrics. A cutoff above the beam width scores what the beams return.
    beam_width: beams returned per query (paper: 128); a ranking longer than this is rejected.
    constrained: decode inside the SID prefix trie (hallucination then 0) instead of unconstrained.
    max_queries: score only the first N test queries (the test split is in a seeded shuffled order, so the
        first N are a random subset); None = all. Applied by the caller that selects the test rows.
    batch_size: queries per decoding batch.
    """

    sid_ks: tuple[int, ...] = (8, 64, 128)
    item_ks: tuple[int, ...] = (10, 100, 500)
    beam_width: int = 128
    constrained: bool = False
    max_queries: int | None = None
    batch_size: int = 8

    def __post_init__(self) -> None:
        for name in ("sid_ks", "item_ks"):
            value = getattr(self, name)
            check_int_list("EvalConfig", name, value, low=1)
            if len(set(value)) != len(value):
                raise ConfigError(
                    f"The {name!r} parameter of EvalConfig must not repeat a cutoff. Got {list(value)!r} instead."
                )
            object.__setattr__(self, name, tuple(int(k) for k in value))
        check_number("EvalConfig", "beam_width", self.beam_width, low=1, integer=True)
        if not isinstance(self.constrained, bool):
            raise ConfigError(
                f"The 'constrained' parameter of EvalConfig must be a bool. Got {self.constrained!r} instead."
            )
        if self.max_queries is not None:
            check_number("EvalConfig", "max_queries", self.max_queries, low=1, integer=True)
        check_number("EvalConfig", "batch_size", self.batch_size, low=1, integer=True)

    def metric_names(self, targets: bool = True) -> list[str]:
        """The keys of ``score_rankings``' result, in its order: every registered metric with a kernel, in
        report order, the cutoff stems at ``item_ks`` / ``sid_ks`` (``benchmark.metrics.registry``).
        ``targets=False``: the result without targets, i.e. without the ordered-item metrics."""
        return evaluated_names({"item": self.item_ks, "sid": self.sid_ks}, with_targets=targets)


def _normalise_sid(sid: Any) -> Sid | None:
    """None stays None; any sequence of integer codes (numpy ints included) becomes a tuple of ints."""
    if sid is None:
        return None
    if isinstance(sid, (str, bytes)):
        raise BenchmarkError(f"A SID must be a sequence of integer codes, got the string {sid!r}.")
    try:
        return tuple(int(code) for code in sid)
    except (TypeError, ValueError) as exc:
        raise BenchmarkError(f"A SID must be a sequence of integer codes, got {sid!r}.") from exc


def distinct_sids(sids: Iterable[Sid | None]) -> list[Sid]:
    """Well-formed SIDs in rank order, each at its first occurrence."""
    seen: set[Sid] = set()
    out: list[Sid] = []
    for sid in sids:
        if sid is not None and sid not in seen:
            seen.add(sid)
            out.append(sid)
    return out


def expand_sids_to_items(sids: Iterable[Sid | None], catalog: SidLookup) -> list[int]:
    """Item ranking from a SID ranking: each distinct SID in rank order -> its items in catalog order
    (training popularity desc, then item id). None (ill-formed) and unknown SIDs contribute nothing; a
    repeated SID is expanded once, at its first occurrence, so every item appears at most once."""
    items: list[int] = []
    for sid in distinct_sids(_normalise_sid(s) for s in sids):
        items.extend(int(item) for item in catalog.items_for(sid))
    return items


class _SidCache:
    """Per-call memo of SID -> (normalised SID, its items): many beams share SIDs, and a decoder may hand
    back tuples of numpy ints, lists or arrays, which are normalised to tuples of ints once."""

    def __init__(self, catalog: SidLookup) -> None:
        self.catalog = catalog
        self.memo: dict[Any, tuple[Sid, list[int]]] = {}

    def lookup(self, sid: Any) -> tuple[Sid, list[int]]:
        try:
            hit = self.memo.get(sid)
        except TypeError:  # unhashable (list, ndarray): normalise first
            sid = _normalise_sid(sid)
            hit = self.memo.get(sid)
        if hit is None:
            norm = _normalise_sid(sid)
            hit = self.memo[sid] = (norm, [int(item) for item in self.catalog.items_for(norm)])
        return hit


def score_rankings(
    beam_sids: Sequence[Sequence[Sid | None]],
    relevant_items: Sequence[Iterable[int]],
    catalog: SidLookup,
    config: EvalConfig = EvalConfig(),
    targets: Sequence[int] | np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-query metrics of decoded beams.

    Args:
        beam_sids: Q lists, each the ranked decoded SIDs of one query's beams (a tuple of ints, or None when
            the beam's tokens do not form a SID); at most ``config.beam_width`` per query.
        relevant_items: Q non-empty sets of relevant item ids (clean ground truth).
        catalog: anything with ``items_for(sid) -> list[int]`` and ``sid_of(item) -> tuple[int, ...]``.
        config: cutoffs and beam width.
        targets: (Q,) int item ids, the ordered item of each query (protocol 2), each one of its query's
            relevant items; None scores the relevant set only (protocol 1).

    Returns:
        {metric name: (Q,) float64}, names in ``config.metric_names(targets=targets is not None)`` order:
        ``halluc@1``, ``halluc``, (with targets) ``target_hit@k``, ``target_ndcg@k``, ``target_mrr``,
        ``target_sid_hit@k``, ``target_sid_mrr``, then ``item_recall@k``, ``item_hit@k``, ``item_mrr``,
        ``sid_recall@k``, ``sid_hit@k``, ``sid_mrr``, then any other registered metric with a kernel.
    """
    if len(beam_sids) != len(relevant_items):
        raise BenchmarkError(
            f"score_rankings: 'beam_sids' and 'relevant_items' must hold one entry per query. "
            f"Got {len(beam_sids)} and {len(relevant_items)}."
        )
    cache = _SidCache(catalog)
    sid_rankings: list[list[Sid]] = []
    item_rankings: list[list[int]] = []
    relevant_sids: list[set[Hashable]] = []
    relevant_sets: list[frozenset[int]] = []
    beam_valid: list[list[bool]] = []
    for q, beams in enumerate(beam_sids):
        if isinstance(beams, (str, bytes)) or not isinstance(beams, Sequence):
            raise BenchmarkError(f"score_rankings: beam_sids[{q}] must be a list of SIDs, got {beams!r}.")
        if len(beams) > config.beam_width:
            raise BenchmarkError(
                f"score_rankings: query {q} has {len(beams)} beams, more than beam_width={config.beam_width}; "
                "rankings must come from the configured beam width to be comparable."
            )
        valid: list[bool] = []
        ranked_sids: list[Sid] = []
        items: list[int] = []
        seen: set[Sid] = set()
        for beam in beams:
            if beam is None:  # ill-formed token sequence: a hallucination that is no SID at all
                valid.append(False)
                continue
            sid, sid_items = cache.lookup(beam)
            valid.append(bool(sid_items))
            if sid not in seen:  # SID and item rankings keep each SID at its first occurrence only
                seen.add(sid)
                ranked_sids.append(sid)
                items.extend(sid_items)
        beam_valid.append(valid)
        sid_rankings.append(ranked_sids)
        item_rankings.append(items)
        relevant = frozenset(int(item) for item in relevant_items[q])
        relevant_sets.append(relevant)
        relevant_sids.append({_normalise_sid(catalog.sid_of(item)) for item in relevant})

    # one pass per level computes the first-occurrence ranks; every cutoff is derived from them
    item_hits = hit_ranks(item_rankings, relevant_sets, owner="score_rankings (item level)")
    sid_hits = hit_ranks(sid_rankings, relevant_sids, owner="score_rankings (SID level)")
    item_target = sid_target = None
    if targets is not None:
        target_items = check_targets("score_rankings", targets, relevant_sets).tolist()
        item_target = target_hit_ranks(item_rankings, target_items, owner="score_rankings (target, item level)")
        target_sids = [_normalise_sid(catalog.sid_of(item)) for item in target_items]
        sid_target = target_hit_ranks(sid_rankings, target_sids, owner="score_rankings (target, SID level)")
    inputs = EvalInputs(beam_valid=beam_valid, item_hits=item_hits, sid_hits=sid_hits,
                        item_target=item_target, sid_target=sid_target)
    out = {name: compute_metric(name, inputs) for name in config.metric_names(targets=targets is not None)}
    logger.debug("scored %d queries (%d distinct SIDs looked up)", len(beam_sids), len(cache.memo))
    return out


def select_queries(frame: Any, max_queries: int | None) -> Any:
    """The evaluated queries: the split's first ``max_queries`` rows (splits are stored in seeded order).

    Shared by the suite, ``grbench eval`` and the leaderboard validator, so a track's query set is defined once.
    """
    return frame if max_queries is None else frame.iloc[:max_queries]
