"""Seed pooling, pairing by query id and the Holm-corrected family of permutation tests."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.stats import compare_family, holm, pair_by_query, paired_permutation_test, pool_seeds


def test_pool_seeds_hand_computed() -> None:
    # seed 0 scored queries 3, 1, 2; seed 1 scored 2, 3, 4: queries 2 and 3 are shared
    ids, means = pool_seeds([[3, 1, 2], [2, 3, 4]], [[0.3, 0.1, 0.2], [0.6, 0.5, 0.9]])
    np.testing.assert_array_equal(ids, [2, 3])
    np.testing.assert_allclose(means, [(0.2 + 0.6) / 2, (0.3 + 0.5) / 2])
    ids, means = pool_seeds([[5, 4]], [[1.0, 0.0]])  # one seed: its values, sorted by query id
    np.testing.assert_array_equal(ids, [4, 5])
    np.testing.assert_array_equal(means, [0.0, 1.0])


def test_pool_seeds_rejects_bad_input() -> None:
    with pytest.raises(BenchmarkError, match="query ids must be distinct"):
        pool_seeds([[1, 1]], [[0.0, 1.0]])
    with pytest.raises(BenchmarkError, match="one length"):
        pool_seeds([[1, 2]], [[0.0]])
    with pytest.raises(BenchmarkError, match="one \\(query_ids, values\\) pair per seed"):
        pool_seeds([], [])


def test_pair_by_query_keeps_shared_ids_in_ascending_order() -> None:
    ids, a, b = pair_by_query([4, 2, 9], [0.4, 0.2, 0.9], [9, 4, 7], [1.9, 1.4, 1.7])
    np.testing.assert_array_equal(ids, [4, 9])
    np.testing.assert_array_equal(a, [0.4, 0.9])
    np.testing.assert_array_equal(b, [1.4, 1.9])


def test_family_equals_separate_tests_then_holm_and_is_reproducible() -> None:
    rng = np.random.default_rng(7)
    pairs = [(rng.random(40), rng.random(40)) for _ in range(3)] + [(np.ones(40) * 0.5 + 0.1, np.ones(40) * 0.5)]
    tested = compare_family(pairs, n_resamples=999, seed=3)
    raw = [paired_permutation_test(a, b, n_resamples=999, seed=3) for a, b in pairs]
    assert [t.test for t in tested] == raw
    assert [t.pvalue_holm for t in tested] == [float(p) for p in holm([r.pvalue for r in raw])]
    assert compare_family(pairs, n_resamples=999, seed=3) == tested
    assert compare_family([]) == []


def test_grbench_compare_pairs_by_query_id_and_holm_corrects_across_metrics(tmp_path, capsys) -> None:
    import argparse

    from benchmark.commands.eval import run_compare
    from tests.results.factory import make_record, store_run

    rng = np.random.default_rng(0)
    values = {m: rng.random(30) for m in ("sid_mrr", "halluc")}
    run_a = store_run(tmp_path, make_record(method="raddpo"), values, query_ids=np.arange(30)[::-1])
    run_b = store_run(tmp_path, make_record(method="sft"), {m: v[:20] ** 2 for m, v in values.items()},
                      query_ids=np.arange(10, 30))
    args = argparse.Namespace(run_a=str(run_a), run_b=str(run_b), metrics="sid_mrr,halluc", resamples=999, seed=5)
    assert run_compare(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "20 paired queries, seed 5, signs flipped per row (no query texts stored)"
    # query q of run A holds values[m][29 - q]; run B's holds values[m][q - 10] ** 2
    ids = np.arange(10, 30)
    raw = [paired_permutation_test(values[m][29 - ids], values[m][ids - 10] ** 2, n_resamples=999, seed=5).pvalue
           for m in ("sid_mrr", "halluc")]
    for line, p, p_holm in zip(lines[4:], raw, holm(raw)):
        assert line.split()[3:5] == [f"{p:.4g}", f"{p_holm:.4g}"]


def _compare_args(tmp_path, protocols, per_query):
    """`grbench compare` arguments for two stored runs (raddpo, sft) at the given data protocols."""
    import argparse

    from tests.results.factory import make_record, store_run

    runs = []
    for method, protocol in zip(("raddpo", "sft"), protocols):
        record = make_record(method=method)
        record.config["data"]["protocol"] = protocol
        runs.append(store_run(tmp_path, record, per_query()))
    return argparse.Namespace(run_a=str(runs[0]), run_b=str(runs[1]), metrics=None, resamples=99, seed=0)


@pytest.mark.parametrize(("protocol", "expected"), [(1, "sid_recall@64"), (2, "target_hit@10")])
def test_grbench_compare_defaults_to_the_runs_protocol_metrics(tmp_path, capsys, protocol, expected) -> None:
    from benchmark.commands.eval import run_compare
    from benchmark.metrics.registry import COMPARE_METRICS, TARGET_COMPARE_METRICS

    names = COMPARE_METRICS if protocol == 1 else TARGET_COMPARE_METRICS
    rng = np.random.default_rng(1)
    args = _compare_args(tmp_path, (protocol, protocol), lambda: {m: rng.random(12) for m in names})
    assert run_compare(args) == 0
    tested = [line.split()[0] for line in capsys.readouterr().out.splitlines()[4:]]
    assert tested == list(names) and tested[0] == expected


def test_grbench_compare_refuses_a_default_across_protocols(tmp_path) -> None:
    from benchmark.commands.eval import run_compare
    from benchmark.metrics.registry import TARGET_COMPARE_METRICS

    args = _compare_args(tmp_path, (2, 1), lambda: {m: np.zeros(5) for m in TARGET_COMPARE_METRICS})
    with pytest.raises(BenchmarkError, match="protocol 2 .* protocol 1: .*--metrics"):
        run_compare(args)
