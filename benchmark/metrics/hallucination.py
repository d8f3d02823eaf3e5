"""Hallucination rate: the share of returned beams whose SID maps to no item."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmark.config import check_number
from benchmark.errors import BenchmarkError


def query_hallucination(valid: Sequence[bool], at: int | None = None) -> float:
    """Per-query kernel: share of the first ``at`` beams (all when None) that are not valid.

    Zero returned beams give 0.0: nothing was generated, so nothing was hallucinated. Fewer than ``at``
    beams are scored on what was returned.
    """
    considered = valid if at is None else valid[:at]
    if len(considered) == 0:
        return 0.0
    return float(np.count_nonzero(~np.asarray(considered, dtype=bool))) / len(considered)


def hallucination_rate(beam_valid: Sequence[Sequence[bool]], at: int | None = None) -> np.ndarray:
    r"""Per-query hallucination rate.

    .. math:: \mathrm{Halluc}(q) = \frac{|\{\, b \le n_q : \mathrm{items}(\mathrm{sid}_b(q)) = \emptyset \,\}|}{n_q},
              \quad n_q = \min(\mathrm{at}, B_q)

    Args:
        beam_valid: Q sequences of bools, one per returned beam in rank order; True when the beam's SID
            maps to at least one catalog item, False when it is ill-formed or maps to no item. Every beam
            counts, duplicates included.
        at: None scores all returned beams; ``at=1`` only the rank-1 beam (an int >= 1).

    Returns:
        (Q,) float64 in [0, 1]. A query with zero returned beams scores 0.0 and is counted in the mean.
    """
    if at is not None:
        check_number("hallucination_rate", "at", at, low=1, integer=True)
    out = np.empty(len(beam_valid), dtype=np.float64)
    for q, valid in enumerate(beam_valid):
        if isinstance(valid, (str, bytes)) or not isinstance(valid, (Sequence, np.ndarray)):
            raise BenchmarkError(f"hallucination_rate: beam_valid[{q}] must be a sequence of bools, got {valid!r}.")
        flags = np.asarray(valid)
        if flags.size and flags.dtype != np.bool_:  # 0/1 ints would pass silently as "valid"/"invalid"
            raise BenchmarkError(f"hallucination_rate: beam_valid[{q}] must hold only bools, got {list(valid)!r}.")
        out[q] = query_hallucination(flags, at)
    return out
