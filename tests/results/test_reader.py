"""Readers refuse altered, truncated or foreign run directories with a message naming the problem."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.errors import DataError
from benchmark.results import load_run, load_runs
from tests.results.factory import make_record, store_run

PER_QUERY = {"sid_recall@8": np.array([0.5, 0.25, 1.0]), "sid_mrr": np.array([1.0, 0.5, 0.0])}


@pytest.fixture
def stored(tmp_path):
    return store_run(tmp_path, make_record(), PER_QUERY)


def _edit(path, **changes) -> None:
    data = json.loads((path / "run.json").read_text())
    data.update(changes)
    (path / "run.json").write_text(json.dumps(data))


def test_tampered_mean_is_detected(stored) -> None:
    _edit(stored, metrics={"sid_recall@8": 0.6, "sid_mrr": 0.5})
    run = load_run(stored)  # run.json alone still matches the schema
    with pytest.raises(DataError, match="mean of 'sid_recall@8' is 0.5833.* records 0.6"):
        run.per_query()


def test_wrong_query_count_is_detected(stored) -> None:
    _edit(stored, n_queries=4)
    with pytest.raises(DataError, match="has 3 rows; run.json says n_queries = 4"):
        load_run(stored).per_query()


def test_metric_set_mismatch_is_detected(stored) -> None:
    _edit(stored, metrics={"sid_recall@8": 0.5833333333333334})
    with pytest.raises(DataError, match="columns"):
        load_run(stored).per_query()


def test_schema_violation_missing_file_and_dir_mismatch(stored, tmp_path) -> None:
    data = json.loads((stored / "run.json").read_text())
    _edit(stored, budget={**data["budget"], "tokens": "many"})
    with pytest.raises(DataError, match="at 'budget.tokens'"):
        load_run(stored)
    _edit(stored, budget=data["budget"])
    (stored / "per_query.parquet").unlink()
    with pytest.raises(DataError, match="per_query.parquet is listed .* but missing"):
        load_run(stored)
    with pytest.raises(DataError, match="not a finished run directory"):
        load_run(tmp_path / "nothing")


def test_truncated_parquet_and_newer_schema(stored) -> None:
    file = stored / "per_query.parquet"
    file.write_bytes(file.read_bytes()[:20])
    with pytest.raises(DataError, match="not a readable parquet file"):
        load_run(stored).per_query()
    _edit(stored, schema_version=2)
    with pytest.raises(DataError, match="schema_version 2; this grbench reads version 1"):
        load_run(stored)


def test_renamed_directory_is_refused(stored) -> None:
    moved = stored.rename(stored.parent / "renamed")
    with pytest.raises(DataError, match="lives in directory 'renamed'"):
        load_run(moved)


def test_load_runs_orders_and_filters(tmp_path) -> None:
    for method, seed, experiment in [("sft", 1, "table1"), ("dpo", 0, "table1"), ("sft", 0, "table1"),
                                     ("sft", 0, "fig2")]:
        store_run(tmp_path, make_record(method=method, seed=seed, experiment=experiment), PER_QUERY)
    runs = load_runs(tmp_path / "smoke", experiment="table1")
    assert [(r.result.method, r.result.seed) for r in runs] == [("dpo", 0), ("sft", 0), ("sft", 1)]
    assert len(load_runs(tmp_path / "smoke")) == 4
    assert load_runs(tmp_path / "absent") == []
