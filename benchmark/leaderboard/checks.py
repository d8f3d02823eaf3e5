"""Structural checks of one seed's rankings against the evaluated test queries and the SID catalog.

Everything is vectorised over the N rows of a rankings file (N up to beam_width x Q). A failed check raises
a SubmissionError that names the file, the problem, how many rows/queries it affects and a few examples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.submission import RankingTable, parse_sids
from benchmark.leaderboard.target import EvaluationTarget

Sid = tuple[int, ...]
MAX_EXAMPLES = 5


def _examples(values: Sequence | np.ndarray) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:MAX_EXAMPLES])
    return shown + (", ..." if len(values) > MAX_EXAMPLES else "")


def check_rankings(table: RankingTable, target: EvaluationTarget, beam_width: int) -> list[list[Sid | None]]:
    """Check ``table`` and return its beams per evaluated query, in the target's query order.

    Checks, in order: query ids (no unknown id, every evaluated query present), ranks (>= 1, no duplicate
    (query, rank), 1..n without gaps, n <= beam_width), SIDs (``a-b-c`` with one code per catalog level, each
    code inside its codebook, or "" for an ill-formed beam; no well-formed SID twice in one query), scores
    (non-increasing with rank, when given) and items (when given: an item of that row's SID, null for an
    ill-formed beam).

    Returns:
        Q lists (Q = evaluated queries), each the ranked SIDs (tuple, or None for "") of that query.
    """
    name = table.source
    expected = np.asarray(target.query_ids, dtype=np.int64)                 # (Q,)
    qid, rank = table.query_id, table.rank                                   # (N,), (N,)
    if table.n_rows == 0:
        raise SubmissionError(f"{name} has no rows; it must rank SIDs for every evaluated test query.")

    # -- query ids: every row names an evaluated query; every evaluated query has a ranking
    known = np.isin(qid, expected)
    if not known.all():
        unknown = np.unique(qid[~known])
        raise SubmissionError(
            f"{name}: {unknown.size} unknown query id(s) ({int((~known).sum())} rows), e.g. {_examples(unknown)}. "
            f"Rankings must name only the evaluated test queries of {target.dataset} "
            f"(the first {len(expected)} rows of its test split)."
        )
    present = np.isin(expected, qid)
    if not present.all():
        missing = expected[~present]
        raise SubmissionError(
            f"{name}: {missing.size} of {expected.size} evaluated test queries have no ranking, "
            f"e.g. query_id {_examples(missing)}. Every test query must be ranked exactly once."
        )

    # -- ranks: sort by (query, rank); each query's ranks must be exactly 1..n_q
    if (rank < 1).any():
        bad = np.flatnonzero(rank < 1)
        raise SubmissionError(f"{name}: ranks start at 1; found rank {int(rank[bad[0]])} for query "
                              f"{int(qid[bad[0]])} ({bad.size} rows).")
    order = np.lexsort((rank, qid))
    qid_s, rank_s = qid[order], rank[order]
    same_query = qid_s[1:] == qid_s[:-1]
    duplicate = same_query & (rank_s[1:] == rank_s[:-1])
    if duplicate.any():
        rows = np.flatnonzero(duplicate)
        pairs = [f"(query {int(qid_s[i])}, rank {int(rank_s[i])})" for i in rows]
        raise SubmissionError(
            f"{name}: {rows.size} duplicate (query_id, rank) pair(s), e.g. {_examples(pairs)}. A query appears "
            f"exactly once: one row per rank."
        )
    starts = np.flatnonzero(np.r_[True, ~same_query])                        # (Q,) first row of each query
    lengths = np.diff(np.r_[starts, qid_s.size])                              # (Q,)
    position = np.arange(qid_s.size) - np.repeat(starts, lengths) + 1        # 1..n_q within each query
    gap = rank_s != position
    if gap.any():
        row = int(np.flatnonzero(gap)[0])
        q = int(qid_s[row])
        ranks = rank_s[qid_s == q]
        raise SubmissionError(
            f"{name}: query {q} has ranks {_examples(ranks.tolist())}; ranks must be 1..n without gaps "
            f"({int(np.unique(qid_s[gap]).size)} queries affected)."
        )
    too_long = lengths > beam_width
    if too_long.any():
        q = int(qid_s[starts[np.flatnonzero(too_long)[0]]])
        raise SubmissionError(
            f"{name}: query {q} ranks {int(lengths.max())} SIDs; at most beam_width = {beam_width} per query "
            f"({int(too_long.sum())} queries affected)."
        )

    # -- SIDs: canonical "a-b-c", codes inside the codebooks, no well-formed SID twice in a query
    catalog = target.catalog
    sizes = np.asarray(catalog.codebook_sizes, dtype=np.int64)               # (L,)
    codes, well_formed = parse_sids(table, int(sizes.size))                  # (N, L), (N,)
    out_of_range = well_formed & (codes >= sizes).any(axis=1)
    if out_of_range.any():
        rows = np.flatnonzero(out_of_range)
        examples = [table.sid[int(i)].as_py() for i in rows]
        raise SubmissionError(
            f"{name}: {rows.size} SID(s) with a code outside the catalog's codebooks {sizes.tolist()}, "
            f"e.g. {_examples(examples)}."
        )
    codes_s, well_s = codes[order], well_formed[order]
    _check_distinct_sids(name, qid_s, codes_s, well_s)

    if table.score is not None:
        score_s = table.score[order]
        rising = same_query & (score_s[1:] > score_s[:-1])
        if rising.any():
            row = int(np.flatnonzero(rising)[0])
            raise SubmissionError(
                f"{name}: scores must not increase with rank; query {int(qid_s[row])} has score "
                f"{score_s[row]:.6g} at rank {int(rank_s[row])} and {score_s[row + 1]:.6g} at rank "
                f"{int(rank_s[row + 1])} ({int(np.unique(qid_s[1:][rising]).size)} queries affected)."
            )
    if table.item is not None:
        _check_items(name, table.item[order], codes_s, well_s, np.asarray(catalog.codes, dtype=np.int64))

    # -- beams per evaluated query, in the target's order
    sid_rows: list[Sid | None] = [tuple(row) if ok else None for row, ok in zip(codes_s.tolist(), well_s)]
    by_query = {int(qid_s[s]): sid_rows[s: s + n] for s, n in zip(starts.tolist(), lengths.tolist())}
    return [by_query[int(q)] for q in expected]


def _check_distinct_sids(name: str, qid_s: np.ndarray, codes_s: np.ndarray, well_s: np.ndarray) -> None:
    """Beam search returns distinct token sequences, hence distinct well-formed SIDs per query."""
    rows = np.flatnonzero(well_s)
    if rows.size == 0:
        return
    keyed = np.column_stack([qid_s[rows], codes_s[rows]])                    # (M, 1 + L)
    _, first, counts = np.unique(keyed, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        repeated = keyed[first[counts > 1]]
        examples = [f"query {int(r[0])}: {'-'.join(map(str, r[1:].tolist()))}" for r in repeated]
        raise SubmissionError(
            f"{name}: {int((counts > 1).sum())} SID(s) ranked twice within one query, e.g. "
            f"{_examples(examples)}. Each rank must be a distinct beam."
        )


def _check_items(name: str, item_s: np.ndarray, codes_s: np.ndarray, well_s: np.ndarray,
                 catalog_codes: np.ndarray) -> None:
    """The optional item column is informational (metrics expand SIDs with the benchmark's own order), but
    it must be consistent: an item of the row's SID, or null where the beam is ill-formed."""
    given = item_s >= 0
    if (given & ~well_s).any():
        raise SubmissionError(f"{name}: rows with an ill-formed SID (\"\") must leave 'item' empty.")
    if (item_s[given] >= catalog_codes.shape[0]).any() or (item_s < -1).any():
        bad = item_s[given & (item_s >= catalog_codes.shape[0])]
        raise SubmissionError(
            f"{name}: item id(s) outside the catalog (0..{catalog_codes.shape[0] - 1}), e.g. {_examples(bad)}."
        )
    rows = np.flatnonzero(given)
    wrong = (catalog_codes[item_s[rows]] != codes_s[rows]).any(axis=1)
    if wrong.any():
        bad = item_s[rows[wrong]]
        raise SubmissionError(
            f"{name}: {int(wrong.sum())} row(s) give an item whose SID is not the row's SID, e.g. item "
            f"{_examples(bad)}."
        )
