"""Tests against reference systems flip signs per query cluster: rows sharing a query are not independent."""

from __future__ import annotations

import numpy as np

from benchmark.leaderboard.references import ReferenceSystem, Track, compare_to_references

N = 16


def _reference(values: np.ndarray, clusters: np.ndarray | None) -> ReferenceSystem:
    return ReferenceSystem(
        label="sft", method="sft", profile="quick", track=Track("synthetic", "t", "c", 16, "q", N), seeds=(0,),
        run_ids=("table1-sft-seed0-x",), query_ids=np.arange(N), per_query={"sid_mrr": values},
        seed_means={"sid_mrr": np.array([values.mean()])}, budget={}, hardware="test", clusters=clusters,
    )


def test_two_query_clusters_cannot_be_significant_while_sixteen_rows_are() -> None:
    base = np.linspace(0.1, 0.4, N)
    ours = {"sid_mrr": base + 0.1}
    two = np.array(["red shoes"] * 8 + ["blue shoes"] * 8)
    [per_row] = compare_to_references(ours, [_reference(base, None)], ["sid_mrr"])
    [clustered] = compare_to_references(ours, [_reference(base, None)], ["sid_mrr"], clusters=two)
    [stored] = compare_to_references(ours, [_reference(base, two)], ["sid_mrr"])  # the reference's own texts
    assert per_row.pvalue < 0.001
    assert clustered.pvalue == stored.pvalue == 0.5  # exact: 2 of the 4 sign vectors are as extreme
