"""Experiment sids (benchmark.experiments.sids): one SFT checkpoint per SID builder, one budget for all, the
cold-start share hashed into its runs only (without it the rqkmeans rows are the other experiments' runs); and the
ordered item's popularity bucket (or ``cold``) stored with every protocol-2 run (``target_bucket``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmark.errors import ConfigError, DataError
from benchmark.results import RunValidationError, load_run, run_dir, write_run
from benchmark.suite.matrix import expand, resolve
from benchmark.suite.profiles import load_profile
from tests.results.factory import make_record


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_one_sft_checkpoint_per_builder_and_one_budget(profile: str) -> None:
    loaded = load_profile(profile)
    assert "sids" in loaded.experiments
    settings = loaded.sid_builders
    every = [s for s in expand(loaded, only=("sids",)) if s.seed == loaded.seeds[0]]
    # the retrieval baselines: once per seed, no builder, the same cold-start split as the builders' runs
    retrievers = [s for s in every if "builder" not in s.variant]
    assert sorted(s.method for s in retrievers) == sorted(settings.retrievers)
    assert all(s.cold_start == settings.cold_start and s.sids == dict(loaded.sids) for s in retrievers)
    specs = [s for s in every if "builder" in s.variant]
    assert sorted((s.variant["builder"], s.method) for s in specs) == sorted(
        (b, m) for b in settings.builders for m in (*settings.baselines, *settings.methods))
    for spec in specs:
        assert resolve(spec).sids.builder == spec.variant["builder"] == spec.sids["builder"]
    sft = {b: {str(s.sft_config()) for s in specs if s.variant["builder"] == b} for b in settings.builders}
    assert all(len(configs) == 1 for configs in sft.values())  # one SFT checkpoint per builder ...
    assert len(set().union(*sft.values())) == len(settings.builders)  # ... and a different one for each
    # the same SFT and preference budget for every builder: only the SID builder differs
    budgets = {(str(s.sft), str(s.preference), str(s.model), str(s.eval)) for s in specs}
    assert len(budgets) == 1
    assert len({s.run_id for s in every}) == len(every)


def test_rqkmeans_rows_are_the_other_experiments_runs_without_cold_start() -> None:
    """The default builder is left out of every key: with ``cold_start: 0`` the rqkmeans rows reuse Table 1's
    computations."""
    loaded = load_profile("quick", ["sid_builders.cold_start=0"])
    specs = expand(loaded)
    table1 = {s.method: s.compute_key for s in specs if s.experiment == "table1"}
    for spec in specs:
        if spec.experiment == "sids" and spec.variant.get("builder", "rqkmeans") == "rqkmeans":
            assert spec.compute_key == table1[spec.method]
            assert "cold_start" not in spec.compute_config()
        elif spec.experiment == "sids":
            assert spec.compute_key not in table1.values()


def test_cold_start_is_hashed_into_the_sids_runs_only() -> None:
    """The profiles' 5% cold start gives every sids run (and SFT checkpoint) its own key; every other run keeps
    the key it had, which the committed quick results pin (run ids and compute keys)."""
    loaded = load_profile("quick")
    specs = expand(loaded)
    others = {s.compute_key for s in specs if s.experiment != "sids"}
    sids = [s for s in specs if s.experiment == "sids"]
    assert sids and all(s.cold_start == 0.05 for s in sids)
    for spec in sids:
        config = spec.compute_config()
        assert config["cold_start"] == {"share": 0.05, "rule": "uniform-items-v1", "stream": 16}
        assert spec.sft_config()["cold_start"] == config["cold_start"]
        assert spec.compute_key not in others
    assert all(s.cold_start == 0.0 and "cold_start" not in s.compute_config() for s in specs if s.experiment != "sids")
    # a run without it reads as before: the same key as a spec written before the field existed
    table1 = next(s for s in specs if s.experiment == "table1" and s.method == "raddpo")
    assert table1.run_id == "table1-raddpo-seed0-0c753c5b75"  # results/quick/runs/table1-raddpo-seed0-0c753c5b75
    from pathlib import Path

    runs = Path(__file__).resolve().parents[2] / "results" / "quick" / "runs"
    by_id = {s.run_id: s for s in specs}
    committed = sorted(p for p in runs.iterdir() if (p / "run.json").is_file())
    assert committed
    for path in committed:
        assert path.name in by_id, path.name
        assert json.loads((path / "run.json").read_text())["compute_key"] == by_id[path.name].compute_key
    # the sids runs of the same builder and seed still share one SFT checkpoint; other builders do not
    one = {(s.variant["builder"], s.seed): str(s.sft_config()) for s in sids if "builder" in s.variant}
    assert len(set(one.values())) == len(loaded.sid_builders.builders) * len(loaded.seeds)


def test_a_cold_start_share_out_of_range_fails_when_resolved() -> None:
    import dataclasses

    spec = expand(load_profile("smoke"), only=("sids",))[0]
    with pytest.raises(ConfigError, match=r"'cold_start' parameter must be a float in the range \[0, 1\)"):
        resolve(dataclasses.replace(spec, cold_start=1.0))


def test_sid_builders_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"sid_builders.builders: Unknown SID builder 'rqkmean'. Did you mean"):
        load_profile("smoke", ["sid_builders.builders=[rqkmean]"])
    with pytest.raises(ConfigError, match=r"sid_builders.methods: Unknown method 'raddp'"):
        load_profile("smoke", ["sid_builders.methods=[raddp]"])
    with pytest.raises(ConfigError, match=r"sid_builders.baselines: Unknown baseline 'sft-strt'"):
        load_profile("smoke", ["sid_builders.baselines=[sft-strt]"])
    with pytest.raises(ConfigError, match=r"sid_builders.retrievers: Unknown retriever 'sft-start'"):
        load_profile("smoke", ["sid_builders.retrievers=[sft-start]"])
    with pytest.raises(ConfigError, match=r"The 'retrievers' parameter of SidBuildersSettings must be a list"):
        load_profile("smoke", ["sid_builders.retrievers=popularity"])
    with pytest.raises(ConfigError, match=r"lists a builder twice"):
        load_profile("smoke", ["sid_builders.builders=[sci, sci]"])


def test_eval_queries_label_each_target_with_its_popularity_bucket() -> None:
    """Items 0..5 with clicks [9, 7, 5, 3, 1, 0] are head, head, torso, torso, tail, tail."""
    from types import SimpleNamespace

    from benchmark.suite.stages import eval_queries, query_descriptors

    test = pd.DataFrame({"query_id": [10, 11, 12, 13], "query": ["a", "b", "c", "d"], "target": [5, 0, 3, 2],
                         "query_seen": [1, 0, 1, 1]})
    dataset = SimpleNamespace(config=SimpleNamespace(protocol=2), test=test,
                              item_popularity=np.array([9, 7, 5, 3, 1, 0]))
    frame = eval_queries(SimpleNamespace(dataset=dataset), "test", 3)
    assert frame["target_bucket"].tolist() == ["tail", "head", "torso"]
    assert query_descriptors(frame)["target_bucket"].tolist() == ["tail", "head", "torso"]
    assert "target_bucket" not in test.columns  # the dataset's split is left as it was
    # protocol 1: the stored columns stay what they were
    dataset.config.protocol = 1
    assert "target_bucket" not in eval_queries(SimpleNamespace(dataset=dataset), "test", None).columns


def test_target_bucket_round_trips_through_the_writer(tmp_path) -> None:
    record = make_record(experiment="sids", variant={"builder": "sci"}, catalog={"collision_rate": 0.25})
    queries = {"query": ["q0", "q1", "q2"], "query_seen": [1, 0, 1], "target_bucket": ["tail", "head", "torso"]}
    path = write_run(run_dir(tmp_path, record.profile, record.run_id), record, [7, 3, 5],
                     {"target_hit@10": [1.0, 0.0, 1.0]}, queries=queries)
    run = load_run(path)
    frame = run.per_query()
    # stored sorted by query_id, each descriptor moved with its query
    assert frame["query_id"].tolist() == [3, 5, 7]
    assert frame["target_bucket"].tolist() == ["head", "torso", "tail"]
    assert frame["query"].tolist() == ["q1", "q2", "q0"]
    assert run.result.catalog == {"collision_rate": 0.25}


def test_a_bad_target_bucket_is_rejected_and_nothing_written(tmp_path) -> None:
    record = make_record(experiment="sids")
    path = run_dir(tmp_path, record.profile, record.run_id)
    with pytest.raises(RunValidationError,
                       match=r"'target_bucket' must hold one of \['head', 'torso', 'tail', 'cold'\] per query. Got 'warm'"):
        write_run(path, record, [0, 1], {"halluc": [0.0, 1.0]}, queries={"target_bucket": ["cold", "warm"]})
    assert not path.exists()


def test_a_run_without_buckets_or_catalog_reads_as_before(tmp_path) -> None:
    record = make_record(experiment="sids")
    path = write_run(run_dir(tmp_path, record.profile, record.run_id), record, [0, 1], {"halluc": [0.0, 1.0]},
                     queries={"query": ["a", "b"]})
    run = load_run(path)
    assert list(run.per_query().columns) == ["query_id", "query", "halluc"]
    assert run.result.catalog is None
    assert "catalog" not in json.loads((path / "run.json").read_text())


def test_a_reused_run_keeps_its_buckets_and_catalog(tmp_path) -> None:
    """An rqkmeans row reuses Table 1's run (copy_run_as): the copy carries the descriptors and the catalog."""
    from benchmark.results import copy_run_as

    record = make_record(experiment="table1", method="raddpo", catalog={"collision_rate": 0.5})
    source = write_run(run_dir(tmp_path, record.profile, record.run_id), record, [0, 1], {"halluc": [0.0, 1.0]},
                       queries={"query": ["a", "b"], "target_bucket": ["head", "tail"]})
    copy = load_run(copy_run_as(source, tmp_path / "copy" / "sids-raddpo-x", "sids", {"builder": "rqkmeans"},
                                "sids-raddpo-x"))
    assert copy.per_query()["target_bucket"].tolist() == ["head", "tail"]
    assert copy.result.catalog == {"collision_rate": 0.5} and copy.result.variant == {"builder": "rqkmeans"}


def test_the_backfill_tool_adds_buckets_and_catalog_to_older_runs(tmp_path, monkeypatch) -> None:
    """tools/add_target_buckets.py: a run stored without the bucket column gets it from its own split (hashes
    checked), its metrics and other descriptors unchanged; a second pass changes nothing."""
    from types import SimpleNamespace

    from tools import add_target_buckets as tool

    config = {**make_record().config, "data": {"protocol": 2}}
    record = make_record(experiment="table1", config=config)
    hashes = {"split_hash": record.hashes.split_hash, "catalog_hash": record.hashes.catalog_hash,
              "test_hash": record.hashes.test_hash}
    path = write_run(run_dir(tmp_path, record.profile, record.run_id), record, [11, 10], {"halluc": [0.0, 1.0]},
                     queries={"query": ["b", "a"], "query_seen": [0, 1]})
    test = pd.DataFrame({"query_id": [10, 11, 12], "query": ["a", "b", "c"], "target": [0, 2, 1]})
    prepared = SimpleNamespace(
        dataset=SimpleNamespace(config=SimpleNamespace(protocol=2), test=test, item_popularity=np.array([5, 3, 0])),
        catalog=SimpleNamespace(codes=np.array([[0, 0], [0, 0], [1, 0]]), codebook_sizes=(2, 2)), hashes=hashes)
    monkeypatch.setattr(tool, "prepare_data", lambda *args: prepared)
    assert tool.add_target_buckets(tmp_path / "smoke", None) == [record.run_id]
    run = load_run(path)
    frame = run.per_query()
    assert frame["target_bucket"].tolist() == ["head", "tail"]  # query 10 -> item 0 (5 clicks), 11 -> item 2 (0)
    assert frame["query"].tolist() == ["a", "b"] and frame["halluc"].tolist() == [1.0, 0.0]
    assert run.result.catalog["collision_rate"] == pytest.approx(2 / 3) and run.result.catalog["distinct_sids"] == 2
    assert tool.add_target_buckets(tmp_path / "smoke", None) == []
    prepared.hashes = {**hashes, "test_hash": "f" * 16}
    other = make_record(experiment="table1", method="dpo", config=config)
    write_run(run_dir(tmp_path, other.profile, other.run_id), other, [10], {"halluc": [0.0]})
    with pytest.raises(DataError, match="not rewriting it"):
        tool.add_target_buckets(tmp_path / "smoke", None)


def test_sid_builders_max_seeds_runs_the_first_profile_seeds_only() -> None:
    loaded = load_profile("smoke", ["seeds=[4, 2, 7]"])
    specs = expand(loaded)
    assert loaded.sid_builders.max_seeds == 1
    assert {s.seed for s in specs if s.experiment == "sids"} == {4}
    assert {s.seed for s in specs if s.experiment == "table1"} == {2, 4, 7}
    two = load_profile("smoke", ["seeds=[4, 2, 7]", "sid_builders.max_seeds=2"])
    assert {s.seed for s in expand(two, only=("sids",))} == {2, 4}
    everything = load_profile("smoke", ["sid_builders.max_seeds=null"])
    assert {s.seed for s in expand(everything, only=("sids",))} == {0, 1}
    with pytest.raises(ConfigError, match=r"'max_seeds' parameter of SidBuildersSettings"):
        load_profile("smoke", ["sid_builders.max_seeds=0"])
