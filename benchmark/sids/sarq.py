"""SARQ (the sequential adaptive part of SA^2CRQ): variable-length SIDs, longer for head items, shorter for tail.

The paper's abstract (../shared/papers/related-abstracts.txt) gives the idea only: "dynamically allocate code
lengths based on item path entropy, assigning longer, discriminative IDs to head items and shorter,
generalizable IDs to tail items". The choices made here are listed in :class:`SarqConfig`. The codes are
returned as the (N, L) matrix of RQ-KMeans with each truncated SID right-padded with -1 (``SidCatalog``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from benchmark.config import check_choice, check_number

PAD = -1  # benchmark.sids.trie.PAD (not imported: config.py imports this module, keep it light)
WEIGHTS = ("clicks", "log_clicks")


@dataclasses.dataclass(frozen=True)
class SarqConfig:
    """Settings of the ``sarq`` builder (``SidConfig.sarq``; ignored, and not hashed, by other builders).

    Choices (the formulas are not public; each is ours):

    1. Codes: RQ-KMeans over the frozen encoder's item embeddings at the maximum depth ``SidConfig.levels``
       with the configured codebooks, exactly the ``rqkmeans`` codes; SARQ only truncates them. Truncation keeps
       every SID a prefix of the item's full code, so the codebooks and the trie stay those of RQ-KMeans.
    2. Path entropy: for an item i and a depth l < L, ``H_l(i)`` is the entropy in bits of the next code
       among the catalog items sharing i's first l codes, each weighted by its training clicks + 1 (the +1
       so that items never clicked, cold-start ones included, still count). It is what level l+1 tells apart
       inside i's branch: 0 when every item of the branch (i alone, or only exact duplicates) takes the same
       next code.
    3. Remaining information: ``R_l(i) = w_i * sum_{l' >= l} H_l'(i)``, the information the levels after
       the first l codes still add along i's path, weighted by i's popularity ``w_i`` (``weight``):
       ``"clicks"`` (the default) ``w_i = 1 + clicks_i``, so ``R`` is proportional to the bits a query for i
       loses when targets follow training popularity, and the budget goes where it loses the fewest bits per
       query; ``"log_clicks"`` ``w_i = 1 + log2(1 + clicks_i)``, a flatter split. On amazon18-scientific
       (budget 0.8) ``"clicks"`` gave head / tail mean lengths 2.70 / 1.87 and a collision rate of 49.8%,
       ``"log_clicks"`` 2.59 / 2.08 and 52.4% (rqkmeans at full length: 44.8%).
       ``R_l(i)`` never grows with l, so truncating where it falls below a threshold keeps a prefix.
    4. Length: ``len_i = max(min_length, min{l : R_l(i) < tau})`` (L when no such l). Head items (large
       ``w_i``) on crowded paths keep long, discriminative IDs; tail items, and any item whose deeper levels
       discriminate nothing, get short ones.
    5. Budget: ``tau`` is the smallest threshold whose mean length is at most ``length_budget * L`` (found
       exactly over the candidate values of ``R``); ``length_budget = 1`` keeps every code at length L.
    6. Collisions: two items truncated to the same prefix share a SID; that is allowed, as RQ-KMeans
       collisions are (the SID expands to its items by popularity). A truncated SID may also be a prefix of
       another item's longer SID: (1,) and (1, 2) are different SIDs, and decoding ends the first with
       ``<eos>`` after one code.

    - ``length_budget``: mean code length as a share of ``SidConfig.levels``, in (0, 1].
    - ``min_length``: shortest SID (codes), >= 1; at most ``SidConfig.levels`` (checked when building).
    - ``weight``: the popularity weight of choice 3, ``"clicks"`` or ``"log_clicks"``.
    """

    length_budget: float = 0.8
    min_length: int = 1
    weight: str = "clicks"

    def __post_init__(self) -> None:
        owner = "SarqConfig"
        check_number(owner, "length_budget", self.length_budget, low=0.0, low_open=True, high=1.0)
        check_number(owner, "min_length", self.min_length, low=1, high=8, integer=True)
        check_choice(owner, "weight", self.weight, WEIGHTS)


def branch_entropies(codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N, L-1) ``H_l(i)`` for l = 1 .. L-1 (choice 2 of ``SarqConfig``): the weighted entropy in bits of the
    code at level l among the items that share item i's first l codes. The code at level 0 is always kept
    (a SID has at least one code), so depth 0 needs no entropy."""
    codes = np.asarray(codes, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    n_items, levels = codes.shape
    out = np.zeros((n_items, max(levels - 1, 0)), dtype=np.float64)
    for depth in range(1, levels):
        _, branch = np.unique(codes[:, :depth], axis=0, return_inverse=True)
        branch = branch.reshape(-1)
        _, child = np.unique(codes[:, : depth + 1], axis=0, return_inverse=True)
        child = child.reshape(-1)
        branch_mass = np.bincount(branch, weights=weights)
        child_mass = np.bincount(child, weights=weights)
        # each child node belongs to one branch; p = child mass / branch mass
        child_branch = np.zeros(len(child_mass), dtype=np.int64)
        child_branch[child] = branch
        p = child_mass / branch_mass[child_branch]
        h_branch = np.bincount(child_branch, weights=-p * np.log2(p), minlength=len(branch_mass))
        out[:, depth - 1] = np.maximum(h_branch[branch], 0.0)  # -0.0 of a one-child branch -> 0.0
    return out


def remaining_information(codes: np.ndarray, popularity: np.ndarray, weight: str = "clicks") -> np.ndarray:
    """(N, L) ``R_l(i)`` for l = 1 .. L (column l-1; choice 3): popularity-weighted information that the levels
    after the first l codes still add on item i's path. Column L-1 (nothing left) is 0."""
    popularity = np.asarray(popularity, dtype=np.float64)
    entropy = branch_entropies(codes, popularity + 1.0)
    # suffix sums: R_l = sum_{l' >= l} H_l'
    suffix = np.cumsum(entropy[:, ::-1], axis=1)[:, ::-1]
    remaining = np.concatenate([suffix, np.zeros((len(codes), 1))], axis=1)
    if weight not in WEIGHTS:
        raise ValueError(f"remaining_information: weight must be one of {WEIGHTS}; got {weight!r}")
    w = 1.0 + popularity if weight == "clicks" else 1.0 + np.log2(1.0 + popularity)
    return remaining * w[:, None]


def lengths_for_threshold(remaining: np.ndarray, tau: float, min_length: int) -> np.ndarray:
    """Choice 4: ``max(min_length, first l with R_l < tau)`` per item (L when R never falls below tau)."""
    levels = remaining.shape[1]
    below = remaining < tau
    first = np.where(below.any(axis=1), below.argmax(axis=1) + 1, levels)
    return np.clip(first, min(min_length, levels), levels).astype(np.int64)


def choose_lengths(remaining: np.ndarray, budget: float, min_length: int) -> tuple[np.ndarray, float]:
    """Choice 5: the lengths of the smallest threshold tau whose mean length <= ``budget`` (in codes), and tau.

    Lengths only shrink as tau grows and change only where tau passes a value of ``remaining``, so the
    candidates are 0 (nothing truncated) and each distinct value of ``remaining`` plus the smallest step above
    it; a binary search over them finds the smallest feasible one.
    """
    values = np.unique(remaining)
    candidates = np.concatenate([[0.0], np.nextafter(values, np.inf)])
    lo, hi = 0, len(candidates) - 1  # candidates[hi] truncates every item to min_length (all R < it)
    if lengths_for_threshold(remaining, candidates[hi], min_length).mean() > budget:
        tau = float(candidates[hi])  # even the shortest allowed lengths exceed the budget: shortest it is
        return lengths_for_threshold(remaining, tau, min_length), tau
    while lo < hi:
        mid = (lo + hi) // 2
        if lengths_for_threshold(remaining, candidates[mid], min_length).mean() <= budget:
            hi = mid
        else:
            lo = mid + 1
    tau = float(candidates[lo])
    return lengths_for_threshold(remaining, tau, min_length), tau


def truncate(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Codes with everything after each item's length replaced by -1 (``SidCatalog``'s padding)."""
    codes = np.array(codes, dtype=np.int64, copy=True)
    codes[np.arange(codes.shape[1])[None, :] >= np.asarray(lengths)[:, None]] = PAD
    return codes


def sarq_codes(codes: np.ndarray, popularity: np.ndarray, config: SarqConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """Truncate full-depth ``codes`` per item (``SarqConfig``); returns the padded codes and a build record."""
    levels = codes.shape[1]
    if config.min_length > levels:
        from benchmark.errors import ConfigError

        raise ConfigError(
            f"The 'min_length' parameter of SarqConfig must be at most SidConfig.levels ({levels}). "
            f"Got {config.min_length} instead."
        )
    remaining = remaining_information(codes, popularity, config.weight)
    lengths, tau = choose_lengths(remaining, config.length_budget * levels, config.min_length)
    info = {
        "sarq_threshold": tau,
        "sarq_mean_length": float(lengths.mean()),
        "sarq_length_counts": [int(c) for c in np.bincount(lengths, minlength=levels + 1)[1:]],
    }
    return truncate(codes, lengths), info


def build_sarq(dataset: Any, config: Any, sizes: tuple[int, ...], force: bool) -> Any:
    """The ``sarq`` builder: ``rqkmeans`` codes at full depth, truncated per item (``SarqConfig``)."""
    import time

    from benchmark.sids.builders import BuiltCodes, build_rqkmeans

    full = build_rqkmeans(dataset, config, sizes, force)
    start = time.perf_counter()
    codes, info = sarq_codes(full.codes, np.asarray(dataset.item_popularity), config.sarq)
    seconds = {**full.info.get("seconds", {}), "sarq": round(time.perf_counter() - start, 3)}
    return BuiltCodes(codes, full.codebooks, {**full.info, **info, "seconds": seconds})
