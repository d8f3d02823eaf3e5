"""The cost model (``benchmark.costmodel``): hand-computed estimates from a hand-made calibration, the plan
arithmetic (stored, reused, shared SFT and data preparation), the calibration cache, and ``grbench run
--dry-run``'s estimate with a fake cached calibration. Nothing here times anything."""

from __future__ import annotations

import pytest

from benchmark import costmodel
from benchmark.cli import main
from benchmark.costmodel import Calibration, CheckRow, PlannedRun, RunBudget, RunCost
from benchmark.errors import ConfigError

FINGERPRINT = {"cpu_model": "Test CPU", "threads": 2, "torch": "0.0", "device": "cpu"}


def calibration(**changes) -> Calibration:
    base = Calibration(
        fingerprint=FINGERPRINT,
        train={"s": {"sft": 0.01, "plain": 0.02, "reference": 0.03, "rollout": 0.05}},
        decode={"s": {128: 0.04, 64: 0.025}},
        rollout_group_size=8,
        prepare_seconds=100.0,
        setup={"load_average_before": 0.1, "cpus": 2},
    )
    return Calibration(**{**base.__dict__, **changes})


def budget(**changes) -> RunBudget:
    return RunBudget(**{"size": "s", "cost_class": "plain", "steps": 60, "batch_size": 32, "eval_queries": 1000,
                        "beam_width": 128, **changes})


# ---------------------------------------------------------------------------------------------- one run
def test_train_seconds_hand_computed() -> None:
    cal = calibration()
    assert costmodel.train_seconds(cal, budget()) == pytest.approx(60 * 32 * 0.02)  # 38.4
    assert costmodel.train_seconds(cal, budget(cost_class="reference")) == pytest.approx(57.6)
    # a rollout method at G = 16 costs twice the G = 8 it was calibrated at: 60 * 32 * 0.05 * 2
    assert costmodel.train_seconds(cal, budget(cost_class="rollout", group_size=16)) == pytest.approx(192.0)
    assert costmodel.train_seconds(cal, budget(cost_class=None)) == 0.0
    assert costmodel.sft_seconds(cal, "s", 500, 64) == pytest.approx(320.0)


def test_decode_seconds_hand_computed() -> None:
    cal = calibration()
    assert costmodel.decode_seconds(cal, "s", 128, 1000) == pytest.approx(40.0)
    assert costmodel.decode_seconds(cal, "s", 256, 1000) == pytest.approx(80.0)  # 128 scaled x2
    assert costmodel.decode_seconds(cal, "s", 96, 1000) == pytest.approx(37.5)  # tie: the smaller width, 64 x 1.5
    assert costmodel.decode_seconds(cal, "s", 128, 0) == 0.0
    cost = costmodel.run_cost(cal, budget())
    assert (cost.train, cost.eval, cost.total) == pytest.approx((38.4, 40.0, 78.4))


def test_missing_size_names_the_calibrate_command() -> None:
    with pytest.raises(ConfigError, match="grbench perf calibrate --sizes m"):
        costmodel.train_seconds(calibration(), budget(size="m"))
    with pytest.raises(ConfigError, match="--sizes m"):
        costmodel.decode_seconds(calibration(), "m", 128, 10)


# ---------------------------------------------------------------------------------------------- plans
def planned(run_id: str, key: str, experiment: str = "table1", sft: str | None = "sft0", train_key: str = "",
            **changes) -> PlannedRun:
    return PlannedRun(experiment=experiment, run_id=run_id, compute_key=key, budget=budget(**changes),
                      prepare_key="data0", sft=None if sft is None else (sft, "s", 500, 64), train_key=train_key)


def test_plan_cost_counts_stored_reused_and_shared_stages_once() -> None:
    runs = [
        planned("a", "ka"),                              # stored: free
        planned("b", "kb"),                              # its key is stored under another id: a copy
        planned("c", "kc", train_key="t1"),              # computed: prepare + SFT + 38.4 + 40
        planned("d", "kd", cost_class="reference"),      # computed: 57.6 + 40 (SFT and data shared with c)
        planned("e", "kc", experiment="fig2"),           # same key as c: a copy
        planned("f", "kf", experiment="fig2", train_key="t1", beam_width=64),  # c's checkpoint: eval only, 25
        planned("g", "kg", experiment="fig2", sft=None, cost_class=None, eval_queries=0),  # a retriever: free
    ]
    rows = costmodel.plan_cost(calibration(), runs, stored={"a": "ka", "x": "kb"})
    table1, fig2 = rows
    assert (table1.planned, table1.stored, table1.reused, table1.to_compute) == (4, 1, 1, 2)
    assert (table1.prepare, table1.sft, table1.train, table1.eval) == pytest.approx((100, 320, 96.0, 80.0))
    assert (fig2.planned, fig2.stored, fig2.reused, fig2.to_compute) == (3, 0, 1, 2)
    assert (fig2.prepare, fig2.sft, fig2.train, fig2.eval) == pytest.approx((0, 0, 0, 25.0))
    total = costmodel.plan_total(rows)
    assert total.seconds == pytest.approx(100 + 320 + 96 + 80 + 25)
    lines = costmodel.format_plan(calibration(), rows)
    # 621 s = 0.1725 h on 2 threads: 0.345 CPU-hours
    assert lines[-1].split() == ["total", "7", "1", "2", "4", "0.12", "0.03", "0.00", "0.03", "0.17", "0.34"]


def test_validation_curves_charged_once_per_trained_checkpoint() -> None:
    curved = {"cost_class": "plain", "curve_points": 4, "curve_queries": 300}
    assert costmodel.run_cost(calibration(), budget(**curved)).curve == pytest.approx(4 * 300 * 0.04)  # 48
    runs = [planned("c", "kc", train_key="t1", **curved),
            planned("c-best", "kc2", train_key="t1", **curved)]  # its best-checkpoint twin: test eval only
    (row,) = costmodel.plan_cost(calibration(), runs, stored={}, cached_sft=["sft0"], prepared=["data0"])
    # train 38.4 once, test eval 40 twice, curve 48 once plus the SFT point 300 x 0.04 = 12
    assert (row.train, row.eval, row.curve) == pytest.approx((38.4, 80.0, 60.0))


def test_cached_sft_and_prepared_data_cost_nothing() -> None:
    rows = costmodel.plan_cost(calibration(), [planned("c", "kc")], stored={}, cached_sft=["sft0"],
                               prepared=["data0"])
    assert rows[0].seconds == pytest.approx(78.4)


def test_gpu_calibration_reports_gpu_hours() -> None:
    cal = calibration(fingerprint={**FINGERPRINT, "device": "cuda"})
    lines = costmodel.format_plan(cal, costmodel.plan_cost(cal, [planned("c", "kc", sft=None)], stored={}))
    assert lines[0].split()[-1] == "GPU-h"


# ---------------------------------------------------------------------------------------------- configs
def config(method: str, **eval_settings) -> dict:
    method_config = {"rollouts": {"group_size": 16}} if method == "grpo" else {}
    return {"method": method, "dataset": "d", "model": {"size": "s"}, "method_config": method_config,
            "preference": {"steps": 60, "batch_size": 32},
            "eval": {"beam_width": 128, "max_queries": None, **eval_settings}}


def test_budget_from_config_uses_the_method_flags_and_test_size() -> None:
    assert costmodel.budget_from_config(config("dpo"), 8442) == budget(cost_class="reference", eval_queries=8442)
    assert costmodel.budget_from_config(config("simpo", max_queries=1000), 8442).eval_queries == 1000
    assert costmodel.budget_from_config(config("simpo", max_queries=1000), 500).eval_queries == 500
    assert costmodel.budget_from_config(config("sft"), 10).cost_class == "plain"  # continued SFT, 10 candidates
    grpo = costmodel.budget_from_config(config("grpo"), 10)
    assert (grpo.cost_class, grpo.group_size) == ("rollout", 16)
    assert costmodel.budget_from_config(config("sft-start"), 10).cost_class is None
    curve = costmodel.budget_from_config(config("dpo"), 10, {"points": 4, "max_queries": 300})
    assert (curve.curve_points, curve.curve_queries) == (4, 300)
    assert costmodel.budget_from_config(config("sft-start"), 10, {"points": 4, "max_queries": 300}).curve_points == 0
    popularity = costmodel.budget_from_config(config("popularity"), 10)
    assert (popularity.cost_class, popularity.eval_queries) == (None, 0)


def test_check_rows_and_ratio() -> None:
    budget_json = {"train_seconds": 30.0, "eval_seconds": 50.0}
    rows = costmodel.check_rows(calibration(), [("r1", config("simpo", max_queries=1000), budget_json, 1000)])
    assert rows == [CheckRow("r1", RunCost(38.4, 40.0), RunCost(30.0, 50.0))]
    assert costmodel.format_check(rows)[-1].split() == ["total", "38.4", "30.0", "40.0", "50.0", "78.4", "80.0",
                                                       "0.98"]


# ---------------------------------------------------------------------------------------------- storage
def test_calibration_cache_round_trip_and_merge(tmp_path) -> None:
    assert costmodel.load_calibration(FINGERPRINT, tmp_path) is None
    costmodel.save_calibration(calibration(), tmp_path)
    more = calibration(train={"m": {"sft": 1.0}}, decode={"m": {128: 2.0}})
    costmodel.save_calibration(more, tmp_path)  # --sizes m later: s stays
    loaded = costmodel.load_calibration(FINGERPRINT, tmp_path)
    assert loaded.sizes == ["s", "m"]
    assert loaded.decode["s"] == {128: 0.04, 64: 0.025}
    assert costmodel.cached_fingerprints(tmp_path) == [FINGERPRINT]
    assert costmodel.load_calibration({**FINGERPRINT, "threads": 1}, tmp_path) is None


def test_load_warning_on_a_busy_machine() -> None:
    assert costmodel.load_warning(calibration()) is None
    assert "busy" in costmodel.load_warning(calibration(setup={"load_average_before": 3.0, "cpus": 2}))


# ---------------------------------------------------------------------------------------------- dry run
DRY_RUN = ["run", "--profile", "smoke", "--only", "table1", "--set", "table1.methods=[dpo]",
           "--set", "table1.baselines=[popularity,sft-start]", "--set", "seeds=[0]", "--set", "curves.points=2",
           "--set", "curves.max_queries=30", "--dry-run"]


def test_dry_run_prints_the_estimate_from_a_cached_calibration(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(costmodel, "current_threads", lambda: 2)
    fake = Calibration(fingerprint=costmodel.fingerprint(threads=2), train={"xs": {
        "sft": 1.0, "plain": 2.0, "reference": 3.0, "rollout": 5.0}}, decode={"xs": {16: 0.4}},
        prepare_seconds=3600.0, setup={"load_average_before": 0.0, "cpus": 2})
    costmodel.save_calibration(fake)
    assert main([*DRY_RUN, "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("table1-")]) == 3
    # smoke: dpo 16 steps x 16 x 3.0 = 768 s; dpo and sft-start evaluate 100 queries x 0.4 = 40 s each; dpo's
    # validation curve 2 points + the SFT point, 30 queries x 0.4 each = 36 s; one SFT checkpoint
    # 500 x 32 x 1.0 = 16,000 s; one data preparation 3,600 s: 20,484 s = 5.69 h, 11.38 CPU-h
    assert out[-1].split() == ["total", "3", "0", "0", "3", "5.44", "0.21", "0.01", "0.02", "5.69", "11.38"]
    assert out[-3].split()[-1] == "CPU-h"


def test_dry_run_without_calibration_says_how_to_make_one(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(costmodel, "current_threads", lambda: 2)
    assert main([*DRY_RUN, "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "table1: 3 runs planned, 0 stored" in out
    assert "no cost calibration is cached" in out
    assert "grbench --threads 2 perf calibrate --sizes xs" in out


def test_a_busy_machines_waiting_is_not_charged() -> None:
    from benchmark.perf import _idle_seconds

    assert _idle_seconds(2.0, 0.5, "cpu") == 0.5  # waited 1.5 s for cores other processes held
    assert _idle_seconds(0.6, 1.1, "cpu") == 0.6  # two threads busy: the wall is the cost
    assert _idle_seconds(2.0, 0.5, "cuda") == 2.0  # a GPU step's CPU time says nothing about its wall time
