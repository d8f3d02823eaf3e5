"""Typographic markers: best / second per column, and Holm-corrected significance marks.

Emphasis follows the paper (bold = best, underline = second best within the ranked rows of a column; lower
is better for hallucination). Values are compared as printed (rounded to the column's decimals), so two
numbers that print the same get the same emphasis.

Significance: for each comparison of a table (a row against SFT, a RAD-DPO row against the best baseline of a
column, ...) a two-sided paired permutation test runs on the per-query metric averaged over seeds, paired by
query_id, with a fixed seed; the p-values of all comparisons of the table are Holm-corrected together
(``benchmark.stats.compare``, shared with the leaderboard and ``grbench compare``), and a mark is printed
where the adjusted p-value is below alpha.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np

from benchmark.config import check_number
from benchmark.stats import compare_family
from benchmark.tables.collect import MethodRuns, paired_clusters

log = logging.getLogger(__name__)

SFT_MARK = "†"
BASELINE_MARK = "‡"
LOOKUP_MARK = "§"  # against the query lookup table, the strongest non-learned memoriser (protocol 2)
MARK_ORDER = (SFT_MARK, BASELINE_MARK, LOOKUP_MARK)


@dataclasses.dataclass(frozen=True)
class SignificanceConfig:
    """Settings of the tables' significance marks (DESIGN.md section 7)."""

    alpha: float = 0.05
    n_resamples: int = 10000
    seed: int = 0

    def __post_init__(self) -> None:
        check_number("SignificanceConfig", "alpha", self.alpha, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number("SignificanceConfig", "n_resamples", self.n_resamples, low=1, integer=True)
        check_number("SignificanceConfig", "seed", self.seed, low=0, integer=True)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Test ``treatment`` against ``control`` on ``metric``; a significant result puts ``mark`` on the cell
    (``row``, ``column``) of the table."""

    row: str
    column: str
    mark: str
    treatment: MethodRuns
    control: MethodRuns
    metric: str

    @property
    def cell(self) -> tuple[str, str]:
        return (self.row, self.column)


@dataclasses.dataclass(frozen=True)
class Significance:
    """Holm-adjusted p-values of a table's comparisons, keyed by (row, column, mark)."""

    adjusted: dict[tuple[str, str, str], float]
    alpha: float
    skipped: tuple[str, ...] = ()

    def cell(self, row: str, column: str) -> tuple[str, tuple[tuple[str, float], ...]]:
        """(marks printed on the cell, ((mark, adjusted p), ...) for every test behind it)."""
        tested = tuple((m, self.adjusted[(row, column, m)]) for m in MARK_ORDER if (row, column, m) in self.adjusted)
        marks = "".join(m for m, p in tested if p < self.alpha)
        return marks, tested

    def __len__(self) -> int:
        return len(self.adjusted)


def run_comparisons(comparisons: Sequence[Comparison], config: SignificanceConfig) -> Significance:
    """Run every comparison's paired permutation test and Holm-correct the p-values together.

    A comparison whose groups were scored on different test splits, or share no query, is not tested (it is
    listed in ``skipped``): pairing by query_id would be meaningless.
    """
    keys: list[tuple[str, str, str]] = []
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    clusters: list[np.ndarray | None] = []
    skipped: list[str] = []
    for comp in comparisons:
        what = f"{comp.treatment.method} vs {comp.control.method} on {comp.metric}"
        if comp.treatment.test_hashes != comp.control.test_hashes:
            skipped.append(f"{what} (different test splits)")
            continue
        a, b, labels = paired_clusters(comp.treatment, comp.control, comp.metric)
        if a.size == 0:
            skipped.append(f"{what} (no shared queries)")
            continue
        keys.append((comp.row, comp.column, comp.mark))
        pairs.append((a, b))
        clusters.append(labels)
    for line in skipped:
        log.warning("significance test skipped: %s", line)
    tested = compare_family(pairs, n_resamples=config.n_resamples, seed=config.seed, clusters=clusters)
    return Significance({k: t.pvalue_holm for k, t in zip(keys, tested)}, config.alpha, tuple(skipped))


def rank_emphasis(values: Sequence[float | None], decimals: int, lower_is_better: bool = False) -> list[str]:
    """"best" / "second" / "" per value, comparing values rounded to ``decimals`` (ties share emphasis).

    Needs at least two values present; the second place is the next distinct printed value.
    """
    present = [round(v, decimals) for v in values if v is not None]
    if len(present) < 2:
        return [""] * len(values)
    distinct = sorted(set(present), reverse=not lower_is_better)
    best = distinct[0]
    second = distinct[1] if len(distinct) > 1 else None
    out = []
    for v in values:
        r = None if v is None else round(v, decimals)
        out.append("best" if r == best else "second" if r is not None and r == second else "")
    return out


def significance_legend(config: SignificanceConfig, sft_meaning: str, baseline_meaning: str | None,
                        lookup_meaning: str | None = None, clustered: bool = False) -> str:
    """The legend printed under every table with marks."""
    parts = [f"{SFT_MARK}: differs from {sft_meaning}"]
    if baseline_meaning:
        parts.append(f"{BASELINE_MARK}: differs from {baseline_meaning}")
    if lookup_meaning:
        parts.append(f"{LOOKUP_MARK}: differs from {lookup_meaning}")
    flips = ("signs flipped per query cluster (rows sharing a query string are not independent; exact when "
             "2^clusters <= the number of sign flips)" if clustered else "signs flipped per test row")
    return (
        "; ".join(parts)
        + f" (two-sided paired permutation test on per-query values averaged over seeds, paired by query_id, "
        f"{flips}, {config.n_resamples} sign flips, seed {config.seed}; Holm-adjusted over all comparisons of "
        f"this table, adjusted p < {config.alpha:g}). The direction is read from the means."
    )
