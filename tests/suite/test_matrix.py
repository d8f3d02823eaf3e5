"""The experiment matrix: every profile expands, configs are content-addressed, shards partition the work."""

from __future__ import annotations

import pytest

from benchmark.config import ConfigError
from benchmark.suite.matrix import expand, shard
from benchmark.suite.profiles import (
    PROFILE_NAMES,
    TABLE1_BASELINES,
    TABLE1_METHODS,
    Table1Settings,
    load_profile,
)

# The profiles' Table 1 adds S-DPO and RAD-DPO as cited (S-DPO form) with its ablations to the paper's rows.
ADDED_CITED = ("raddpo-sdpo", "raddpo-sdpo-no-tlgd", "raddpo-sdpo-no-rdrw", "raddpo-sdpo-no-mlsft")


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_profile_loads_and_expands(name: str) -> None:
    profile = load_profile(name)
    specs = expand(profile)
    assert specs, name
    assert len({s.run_id for s in specs}) == len(specs)


def test_table1_has_every_method_per_seed() -> None:
    profile = load_profile("full")
    specs = expand(profile, only=("table1",))
    assert set(TABLE1_METHODS) < set(profile.table1.methods)  # the paper's eight rows and the added methods
    assert len(specs) == (len(profile.table1.methods) + len(TABLE1_BASELINES)) * len(profile.seeds)
    assert {s.method for s in specs} == set(profile.table1.methods) | set(TABLE1_BASELINES)


def test_table1_baselines_come_from_the_profile() -> None:
    """The rows that train nothing (non-learned baselines, the SFT start) are table1.baselines; a bad name is
    refused up front with the available names."""
    specs = expand(load_profile("smoke", ["table1.methods=[sft]"]), only=("table1",))
    assert {s.method for s in specs} == {"sft", *TABLE1_BASELINES}
    lookup = [s for s in specs if s.method == "query-lookup"]
    assert lookup and all(s.compute_config()["method_config"] == {} for s in lookup)
    with pytest.raises(ConfigError, match="table1.baselines: Unknown baseline 'populraity'.*popularity"):
        load_profile("smoke", ["table1.baselines=[populraity]"])


def test_table1_methods_come_from_the_profile() -> None:
    """A method is added to (or removed from) Table 1 by the profile's table1.methods, without editing code."""
    assert Table1Settings().methods == TABLE1_METHODS  # the default: the paper's eight rows
    assert load_profile("smoke").table1.methods == (*TABLE1_METHODS[:4], "sdpo", *TABLE1_METHODS[4:], *ADDED_CITED)
    none = "table1.baselines=[]"  # the untrained rows are tested in test_table1_baselines_come_from_the_profile
    two = expand(load_profile("smoke", ["table1.methods=[sft,dpo]", none]), only=("table1",))
    three = expand(load_profile("smoke", ["table1.methods=[sft,dpo,simpo]", none]), only=("table1",))
    seeds = load_profile("smoke").seeds
    assert sorted(s.method for s in two) == sorted(["sft", "dpo"] * len(seeds))
    added = {s.run_id for s in three} - {s.run_id for s in two}
    assert {s.method for s in three if s.run_id in added} == {"simpo"} and len(added) == len(seeds)
    assert {s.run_id for s in two} < {s.run_id for s in three}  # the other rows keep their run ids
    # games.methods: all follows Table 1
    games = expand(load_profile("smoke", ["table1.methods=[sft,dpo]", none, "experiments=[games]"]))
    assert {s.method for s in games} == {"sft", "dpo"}


def test_unknown_table1_method_fails_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"table1\.methods: Unknown method 'raddpo-no-tgld'\. "
                                          r"Did you mean 'raddpo-no-tlgd'"):
        load_profile("smoke", ["table1.methods=[sft,raddpo-no-tgld]"])
    with pytest.raises(ConfigError, match="non-empty"):
        load_profile("smoke", ["table1.methods=[]"])
    with pytest.raises(ConfigError, match="'methods' parameter of Table1Settings must be a list"):
        load_profile("smoke", ["table1.methods=sft"])


def test_shared_configs_have_one_compute_key() -> None:
    """Table 1's size-s RAD-DPO run is Table 2's size-s row and Figure 2's 100% point: computed once."""
    specs = expand(load_profile("full"))
    rad = [s for s in specs if s.method == "raddpo" and s.seed == 0 and s.dataset == "amazon18-scientific"]
    table1 = next(s for s in rad if s.experiment == "table1")
    table2_s = next(s for s in rad if s.experiment == "table2" and s.model_size == "s")
    fig2_full = next(s for s in rad if s.experiment == "fig2" and s.preference_fraction == 1.0)
    assert table1.compute_key == table2_s.compute_key == fig2_full.compute_key
    assert len({table1.run_id, table2_s.run_id, fig2_full.run_id}) == 3
    table2_xs = next(s for s in rad if s.experiment == "table2" and s.model_size == "xs")
    assert table2_xs.compute_key != table1.compute_key


def test_methods_of_one_seed_share_the_sft_config() -> None:
    specs = expand(load_profile("quick"), only=("table1",))
    assert len({str(s.sft_config()) for s in specs}) == 1


def test_eval_settings_change_the_run_but_not_the_training() -> None:
    quick = {s.run_id.split("-seed")[0]: s for s in expand(load_profile("quick"), only=("table1",))}
    wider = {s.run_id.split("-seed")[0]: s
             for s in expand(load_profile("quick", overrides=["eval.beam_width=64"]), only=("table1",))}
    assert quick.keys() == wider.keys()
    for name, a in quick.items():
        b = wider[name]
        assert a.compute_key != b.compute_key
        assert a.training_config() == b.training_config()
        assert a.sft_config() == b.sft_config()


def test_noise_levels_change_the_data_config() -> None:
    specs = expand(load_profile("full"), only=("noise",))
    etas = {s.data["clicks"]["eta"] for s in specs}
    assert etas == {0.0, 0.5, 1.0, 2.0}


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_partition_the_matrix(count: int) -> None:
    specs = expand(load_profile("full"))
    parts = [shard(specs, i, count) for i in range(1, count + 1)]
    ids = [s.run_id for part in parts for s in part]
    assert sorted(ids) == sorted(s.run_id for s in specs)
    # runs that share an SFT checkpoint land on the same shard
    for part in parts:
        keys = {str(s.sft_config()) for s in part}
        others = {str(s.sft_config()) for p in parts if p is not part for s in p}
        assert not keys & others


def test_overrides_and_bad_profiles() -> None:
    profile = load_profile("smoke", ["sft.steps=7", "sft.warmup_steps=0", "seeds=[3]"])
    assert profile.sft["steps"] == 7 and profile.seeds == (3,)
    with pytest.raises(ConfigError, match="Unknown profile 'quik'.*Did you mean 'quick'"):
        load_profile("quik")
    with pytest.raises(ConfigError, match="experiments"):
        load_profile("smoke", ["experiments=[tabel1]"])
    with pytest.raises(ConfigError, match="Unknown configuration key 'fig2.fraction'"):
        load_profile("smoke", ["fig2.fraction=[0.5]"])


def _dpo_spec(**method_config: float):
    return next(s for s in expand(load_profile("quick", [f"methods.dpo={method_config}"]), only=("table1",))
                if s.method == "dpo")


def test_the_key_hashes_resolved_values_not_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value written out equal to its default is the same run; a changed code default is a new run."""
    from baselines.dpo import DpoConfig

    omitted, written = _dpo_spec(), _dpo_spec(beta=0.1)
    assert omitted.method_config == {} and written.method_config == {"beta": 0.1}
    assert omitted.compute_config()["method_config"] == {"beta": 0.1}
    assert omitted.compute_key == written.compute_key and omitted.run_id == written.run_id
    assert _dpo_spec(beta=0.2).compute_key != omitted.compute_key

    # keys are computed when asked for: take the ones of today's defaults before the default is bumped
    before = {s.method: (s.compute_key, s.sft_config()) for s in expand(load_profile("quick"), only=("table1",))}
    monkeypatch.setattr(DpoConfig.__init__, "__defaults__", (0.2,))  # a bumped code default
    after = {s.method: s for s in expand(load_profile("quick"), only=("table1",))}
    assert after["dpo"].compute_config()["method_config"] == {"beta": 0.2}
    assert after["dpo"].compute_key != before["dpo"][0]  # the old DPO result is not reused ...
    assert after["dpo"].compute_key == _dpo_spec(beta=0.2).compute_key
    assert written.compute_key == before["dpo"][0]  # ... while beta: 0.1 written out keeps its run
    for name in set(before) - {"dpo"}:  # ... and no other method's run (or the shared SFT) changes
        assert (after[name].compute_key, after[name].sft_config()) == before[name]


def test_the_resolved_config_is_plain_json_with_floats_as_floats() -> None:
    import json

    config = _dpo_spec(beta=1).compute_config()  # an int where the field is a float
    assert config["method_config"] == {"beta": 1.0} and isinstance(config["method_config"]["beta"], float)
    assert config == json.loads(json.dumps(config))  # tuples became lists
    assert config["eval"]["item_ks"] == [10, 100, 500] and config["sft"]["seed"] == config["seed"]


def test_run_json_stores_the_resolved_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """execute_run files the resolved configuration (DPO's beta included) under the key that hashes it."""
    from types import SimpleNamespace

    from benchmark.artifacts import hash_json
    from benchmark.results import load_run, write_run
    from benchmark.suite import runner

    spec = _dpo_spec()
    hashes = {"split_hash": "s" * 16, "test_hash": "t" * 16, "catalog_hash": "c" * 16}
    budget = {"optimizer_steps": 60, "batch_size": 32, "examples_seen": 1920, "tokens": 1, "flops": 1.0,
              "train_seconds": 1.0, "eval_seconds": 1.0}
    monkeypatch.setattr(runner, "prepare", lambda spec, data_dir: SimpleNamespace(hashes=hashes, catalog=None))
    monkeypatch.setattr(runner, "catalog_summary", lambda catalog: None)  # no catalog behind this stand-in
    monkeypatch.setattr(runner, "evaluate_trained", lambda spec, prepared: (SimpleNamespace(), budget, None))
    monkeypatch.setattr(runner, "record_run", lambda out, record, evaluation, rankings, curve: write_run(
        out, record, [0, 1], {"halluc": [0.0, 1.0]}))
    stored = load_run(runner.execute_run(spec, tmp_path, None, "quick")).result
    assert stored.config["method_config"] == {"beta": 0.1}
    assert stored.config["preference"]["lr"] == 0.0002 and stored.config["eval"]["beam_width"] == 128
    assert stored.config == spec.compute_config() and stored.compute_key == hash_json(stored.config)
    # the SFT key comes from the spec, not from the checkpoint's directory name
    assert stored.hashes.sft_checkpoint_hash == hash_json({**spec.sft_config(), **hashes}) != "x"
