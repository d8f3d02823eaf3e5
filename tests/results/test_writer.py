"""The one run writer: round trip, schema rejection (nothing written), atomicity, determinism."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.results import (
    SCHEMA_VERSION,
    RunExistsError,
    RunRecord,
    RunResult,
    RunValidationError,
    copy_run_as,
    finished_runs,
    json_schema,
    load_run,
    provenance,
    publish_runs,
    run_dir,
    write_run,
)
from benchmark.results.writer import OPTIONAL_FIELDS
from tests.results.factory import make_record, store_run

PER_QUERY = {
    "sid_recall@8": np.array([0.5, 0.25, 1.0, 0.0]),
    "sid_mrr": np.array([1.0, 0.5, 1.0 / 3.0, 0.0]),
    "halluc": np.array([0.0, 0.125, 0.0, 0.5]),
}
QUERY_IDS = np.array([7, 3, 11, 5])
RANKINGS = pd.DataFrame(
    {
        "query_id": [7, 7, 3, 11, 5, 5],
        "rank": [1, 2, 1, 1, 1, 2],
        "sid": ["1-2-3", "", "4-5-6", "1-2-3", "7-8-9", "0-0-1"],
        "score": [-0.5, -1.5, -0.25, -0.75, -2.0, -float("inf")],
    }
)


def _files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_round_trip_hand_computed_means_and_sorted_per_query(tmp_path) -> None:
    record = make_record(method="raddpo", seed=2)
    path = store_run(tmp_path, record, PER_QUERY, QUERY_IDS, RANKINGS)
    assert path == tmp_path / "smoke" / "runs" / record.run_id
    stored = load_run(path)
    result = stored.result
    assert result.schema_version == SCHEMA_VERSION == 1
    assert result.to_record() == record
    assert result.n_queries == 4
    # means over the 4 queries, computed by hand
    assert result.metrics["sid_recall@8"] == pytest.approx(0.4375, abs=0)
    assert result.metrics["halluc"] == pytest.approx(0.15625, abs=0)
    assert result.metrics["sid_mrr"] == pytest.approx((1.0 + 0.5 + 1.0 / 3.0) / 4.0, rel=1e-15)
    assert result.files == {"per_query": "per_query.parquet", "rankings": "rankings.parquet"}
    frame = stored.per_query()
    assert list(frame.columns) == ["query_id", "halluc", "sid_recall@8", "sid_mrr"]  # report order
    assert frame["query_id"].tolist() == [3, 5, 7, 11]
    assert frame["sid_recall@8"].tolist() == [0.25, 0.0, 0.5, 1.0]
    ranks = stored.rankings()
    assert ranks["query_id"].tolist() == [3, 5, 5, 7, 7, 11]
    assert ranks["sid"].tolist() == ["4-5-6", "7-8-9", "0-0-1", "1-2-3", "", "1-2-3"]
    assert math.isinf(ranks["score"].iloc[2])


def test_rankings_are_optional(tmp_path) -> None:
    stored = load_run(store_run(tmp_path, make_record(), PER_QUERY, QUERY_IDS))
    assert stored.result.files == {"per_query": "per_query.parquet"}
    assert stored.rankings() is None
    assert not (stored.path / "rankings.parquet").exists()


def test_provenance_recorded_when_not_given(tmp_path) -> None:
    record = make_record(code_revision=None, packages=None, hardware=None)
    result = load_run(store_run(tmp_path, record, PER_QUERY, QUERY_IDS)).result
    assert set(result.packages) >= {"python", "torch", "transformers", "faiss", "numpy"}
    assert result.hardware.cores >= 1
    assert result.code_revision == "unknown" or len(result.code_revision.split("+")[0]) == 40


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_code_revision_is_read_once_per_process(tmp_path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f").write_text("1")
    git("add", "f")
    git("commit", "-qm", "one")
    first = provenance.code_revision(tmp_path)
    assert len(first) == 40
    (tmp_path / "f").write_text("2")
    git("commit", "-qam", "two")  # committed while a long run is going: its runs keep the first revision
    assert provenance.code_revision(tmp_path) == first


@pytest.mark.parametrize(
    "change, message",
    [
        ({"hashes": {"split_hash": "a" * 16, "catalog_hash": "c" * 16, "sft_checkpoint_hash": None}},
         "'test_hash' is a required property"),
        ({"config": {"data": {}, "sids": {}, "model": {}}}, "'eval' is a required property"),
        ({"seed": "0"}, "at 'seed': '0' is not of type 'integer'"),
        ({"seed": True}, "at 'seed'"),
        ({"experiment": "table3"}, "at 'experiment'"),
        ({"budget": {"optimizer_steps": -1, "batch_size": 4, "examples_seen": 0, "tokens": 0, "flops": 0,
                     "train_seconds": 0, "eval_seconds": 0}}, "at 'budget.optimizer_steps'"),
        ({"variant": {"eta": [1, 2]}}, "at 'variant.eta'"),
        ({"config": {"data": {"x": float("nan")}, "sids": {}, "model": {}, "eval": {}}}, "non-finite"),
        ({"code_revision": "main"}, "at 'code_revision'"),
    ],
)
def test_schema_rejects_bad_record_and_writes_nothing(tmp_path, change, message) -> None:
    record = dataclasses.replace(make_record(), **change)
    with pytest.raises(RunValidationError, match=message.replace("(", r"\(").replace("[", r"\[")):
        store_run(tmp_path, record, PER_QUERY, QUERY_IDS)
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "query_ids, per_query, message",
    [
        (QUERY_IDS, {**PER_QUERY, "sid_mrr": np.array([1.0, 0.5, 0.0])}, r"shape \(4,\) expected, got \(3,\)"),
        (QUERY_IDS[:3], PER_QUERY, r"shape \(3,\) expected"),
        (np.array([1, 1, 2, 3]), PER_QUERY, "distinct"),
        (np.array([1.0, 2.0, 3.0, 4.0]), PER_QUERY, "array of ints"),
        (QUERY_IDS, {**PER_QUERY, "sid_recall@8": np.array([0.1, np.nan, 0.2, 0.3])}, "NaN"),
        (QUERY_IDS, {**PER_QUERY, "recall@8": np.zeros(4)}, "Unknown metric name 'recall@8'"),
        (QUERY_IDS, {}, "non-empty mapping"),
    ],
)
def test_bad_per_query_arrays_are_rejected_and_nothing_written(tmp_path, query_ids, per_query, message) -> None:
    with pytest.raises(RunValidationError, match=message):
        store_run(tmp_path, make_record(), per_query, query_ids)
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "rankings, message",
    [
        (RANKINGS.assign(sid=["1-2-3", "x", "4-5-6", "1-2-3", "7-8-9", "0-0-1"]), "sid"),
        (RANKINGS.assign(query_id=[7, 7, 3, 11, 5, 99]), r"not in the run's queries: \[99\]"),
        (RANKINGS.assign(rank=[1, 1, 1, 1, 1, 2]), "repeat"),
        (RANKINGS.assign(rank=[0, 1, 1, 1, 1, 2]), "start at 1"),
        (RANKINGS[["query_id", "sid", "rank", "score"]], "columns"),
        (RANKINGS.assign(score=[0.0, np.nan, 0.0, 0.0, 0.0, 0.0]), "NaN"),
    ],
)
def test_bad_rankings_are_rejected_and_nothing_written(tmp_path, rankings, message) -> None:
    with pytest.raises(RunValidationError, match=message):
        store_run(tmp_path, make_record(), PER_QUERY, QUERY_IDS, rankings)
    assert _files(tmp_path) == []


def test_directory_must_be_named_by_run_id(tmp_path) -> None:
    with pytest.raises(RunValidationError, match="named by its run_id"):
        write_run(tmp_path / "smoke" / "runs" / "other", make_record(), QUERY_IDS, PER_QUERY)
    with pytest.raises(RunValidationError, match="'profile' parameter of run_dir"):
        run_dir(tmp_path, "../escape", "x")


def test_failure_mid_write_leaves_no_run_and_no_temporary(tmp_path, monkeypatch) -> None:
    calls = []
    real = pq.write_table

    def failing(table, where, **kwargs):  # the rankings file (second parquet) fails after per_query was written
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        store_run(tmp_path, make_record(), PER_QUERY, QUERY_IDS, RANKINGS)
    assert len(calls) == 2
    runs = tmp_path / "smoke" / "runs"
    assert list(runs.iterdir()) == []  # no run directory, no hidden temporary either
    assert finished_runs(runs) == {}


def test_failed_overwrite_keeps_the_old_run(tmp_path, monkeypatch) -> None:
    record = make_record()
    path = store_run(tmp_path, record, PER_QUERY, QUERY_IDS)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    with pytest.raises(RunExistsError, match="already stored"):
        store_run(tmp_path, record, PER_QUERY, QUERY_IDS)
    monkeypatch.setattr(pq, "write_table", lambda *a, **k: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError):
        write_run(path, record, QUERY_IDS, PER_QUERY, overwrite=True)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert sorted(p.name for p in path.parent.iterdir()) == [record.run_id]


def test_overwrite_replaces(tmp_path) -> None:
    record = make_record()
    path = store_run(tmp_path, record, PER_QUERY, QUERY_IDS)
    write_run(path, record, QUERY_IDS, {"sid_mrr": np.ones(4)}, overwrite=True)
    assert load_run(path).result.metrics == {"sid_mrr": 1.0}
    assert sorted(p.name for p in path.iterdir()) == ["per_query.parquet", "run.json"]


def test_same_run_gives_byte_identical_files_whatever_the_input_order(tmp_path) -> None:
    a = store_run(tmp_path / "a", make_record(), PER_QUERY, QUERY_IDS, RANKINGS)
    reversed_arrays = {name: values[::-1] for name, values in PER_QUERY.items()}
    b = store_run(tmp_path / "b", make_record(), reversed_arrays, QUERY_IDS[::-1], RANKINGS.iloc[::-1])
    for name in ("run.json", "per_query.parquet", "rankings.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_finished_runs_and_copy_run_as(tmp_path) -> None:
    record = make_record(method="raddpo")
    source = store_run(tmp_path, record, PER_QUERY, QUERY_IDS, RANKINGS)
    (source.parent / ".half-written.tmp").mkdir()  # an interrupted atomic_dir leftover is not a run
    target = source.parent / "fig2-raddpo-seed0-0123456789"
    copy_run_as(source, target, "fig2", {"preference_fraction": 1.0}, target.name)
    copied = load_run(target)
    assert copied.result.experiment == "fig2"
    assert copied.result.variant == {"preference_fraction": 1.0}
    assert copied.result.compute_key == record.compute_key
    assert copied.result.metrics == load_run(source).result.metrics
    pd.testing.assert_frame_equal(copied.per_query(), load_run(source).per_query())
    pd.testing.assert_frame_equal(copied.rankings(), load_run(source).rankings())
    assert finished_runs(source.parent) == {record.run_id: record.compute_key, target.name: record.compute_key}


def test_publish_runs_copies_only_new_finished_runs(tmp_path) -> None:
    source = store_run(tmp_path / "work", make_record(method="raddpo"), PER_QUERY, QUERY_IDS, RANKINGS).parent
    (source / ".half-written.tmp").mkdir()  # an interrupted run is never published
    target = tmp_path / "committed" / "smoke" / "runs"
    assert publish_runs(source, target, keep_rankings=False) == [make_record(method="raddpo").run_id]
    published = load_run(target / make_record(method="raddpo").run_id)
    original = load_run(source / make_record(method="raddpo").run_id)
    assert published.rankings() is None and not (published.path / "rankings.parquet").exists()
    assert published.result.files == {"per_query": "per_query.parquet"}
    assert published.result.metrics == original.result.metrics
    assert published.result.hardware == original.result.hardware
    pd.testing.assert_frame_equal(published.per_query(), original.per_query())

    store_run(tmp_path / "work", make_record(method="dpo"), PER_QUERY, QUERY_IDS, RANKINGS)
    assert publish_runs(source, target) == [make_record(method="dpo").run_id]  # the raddpo run is left alone
    assert load_run(target / make_record(method="dpo").run_id).rankings() is not None
    assert publish_runs(source, target) == []


def test_dataclasses_cover_the_json_schema() -> None:
    schema = json_schema()
    stored = {f.name for f in dataclasses.fields(RunResult)}
    assert stored == set(schema["properties"])
    assert stored - set(schema["required"]) == set(OPTIONAL_FIELDS) == {"environment", "tuning", "catalog"}
    supplied = {f.name for f in dataclasses.fields(RunRecord)}
    assert stored - supplied == {"schema_version", "n_queries", "metrics", "files"}


def test_a_fresh_run_records_its_environment_and_a_copy_keeps_the_original(tmp_path) -> None:
    import torch  # noqa: F401  (a training run has torch loaded: its threads and kernels are recorded)

    run = load_run(store_run(tmp_path / "work", make_record(hardware=None), PER_QUERY, QUERY_IDS))
    env = run.result.environment
    assert env["torch_cpu_capability"] != "torch not loaded" and env["blas"]
    assert env is not None and env["cpu_model"] == run.result.hardware.cpu and env["threads"] >= 1
    assert isinstance(env["cpu_flags"], list) and isinstance(env["deterministic_algorithms"], bool)
    # an older run without the field stays without it when copied (this machine's is not invented for it)
    data = json.loads((run.path / "run.json").read_text())
    del data["environment"]
    (run.path / "run.json").write_text(json.dumps(data, sort_keys=True, indent=2) + "\n")
    target = tmp_path / "committed" / "smoke" / "runs"
    publish_runs(run.path.parent, target)
    copied = json.loads((target / run.result.run_id / "run.json").read_text())
    assert "environment" not in copied and "tuning" not in copied
    assert copied == data


def test_run_json_is_sorted_and_indented(tmp_path) -> None:
    text = (store_run(tmp_path, make_record(), PER_QUERY, QUERY_IDS) / "run.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30),
    seed=st.integers(0, 2**16),
)
def test_round_trip_property(tmp_path_factory, values, seed) -> None:
    root = tmp_path_factory.mktemp("prop")
    rng = np.random.default_rng(seed)
    ids = rng.permutation(len(values) * 3)[: len(values)]
    arr = np.asarray(values)
    stored = load_run(store_run(root, make_record(seed=seed), {"item_mrr": arr}, ids))
    frame = stored.per_query()  # the reader re-checks the stored mean against the column
    order = np.argsort(ids)
    np.testing.assert_array_equal(frame["query_id"].to_numpy(), ids[order])
    np.testing.assert_array_equal(frame["item_mrr"].to_numpy(), arr[order])
    assert stored.result.metrics["item_mrr"] == float(np.mean(arr[order]))


def test_python_constants_agree_with_the_json_schema() -> None:
    import re

    from benchmark.evaluation import EvalConfig
    from benchmark.metrics.registry import metric_names
    from benchmark.results import CUSTOM_EXPERIMENT, experiment_names

    schema = json_schema()
    # the schema checks the shape of an experiment name only; which names exist is the experiment registry's
    name = re.compile(schema["$defs"]["name"]["pattern"])
    assert all(name.match(e) for e in experiment_names())
    assert experiment_names()[:5] == ("table1", "table2", "fig2", "noise", "games")
    assert experiment_names()[-1] == CUSTOM_EXPERIMENT
    shape = re.compile(schema["$defs"]["metric_name"]["pattern"])  # the schema checks the shape of a name only
    assert all(shape.match(name) for name in metric_names())
    assert tuple(EvalConfig().metric_names()) == metric_names()  # the evaluator computes the registered set


def test_unregistered_metric_in_run_json_is_a_schema_error(tmp_path) -> None:
    from benchmark.results.schema import schema_errors

    stored = store_run(tmp_path, make_record(), {"item_recall@10": np.ones(4)})
    record = json.loads((stored / "run.json").read_text(encoding="utf-8"))
    assert schema_errors(record) == []
    record["metrics"]["item_recal@10"] = record["metrics"].pop("item_recall@10")
    [error] = schema_errors(record)
    assert error.startswith("at 'metrics': Unknown metric name 'item_recal@10'. Did you mean 'item_recall@10'")


def test_query_descriptors_are_stored_sorted_with_the_metrics_and_survive_a_copy(tmp_path) -> None:
    record = make_record()
    path = run_dir(tmp_path, record.profile, record.run_id)
    write_run(path, record, [2, 0, 1], {"sid_mrr": [0.2, 0.0, 0.1]},
              queries={"query": np.array(["c", "a", "b"], dtype=object), "query_seen": [0, 1, 1]})
    frame = load_run(path).per_query()
    assert list(frame.columns) == ["query_id", "query", "query_seen", "sid_mrr"]
    assert frame["query"].tolist() == ["a", "b", "c"] and frame["query_seen"].tolist() == [1, 1, 0]
    copy = copy_run_as(path, tmp_path / "copy" / "runs" / "other-id", "fig2", {"preference_fraction": 1.0},
                       "other-id")
    assert load_run(copy).per_query()["query"].tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("queries, message", [
    ({"cluster": ["a", "b", "c"]}, "takes the columns \\['query', 'query_seen', 'target_bucket'\\]. Got 'cluster'"),
    ({"query": ["a", "b"]}, "one value per query: shape \\(3,\\) expected"),
    ({"query": [1, 2, 3]}, "must hold the query texts"),
    ({"query_seen": [0, 2, 1]}, "must hold 0 or 1"),
])
def test_bad_query_descriptors_are_rejected_and_nothing_written(tmp_path, queries, message) -> None:
    record = make_record()
    path = run_dir(tmp_path, record.profile, record.run_id)
    with pytest.raises(RunValidationError, match=message):
        write_run(path, record, [0, 1, 2], {"sid_mrr": [0.0, 0.1, 0.2]}, queries=queries)
    assert not path.exists()
