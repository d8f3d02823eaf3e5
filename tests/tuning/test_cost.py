"""``grbench tune --dry-run``'s estimate (``benchmark.tuning.cost``): hand-computed from a hand-made calibration,
stored trials not charged, the SFT checkpoint and data preparation charged once to the first study with trials
left. Nothing here trains or times anything."""

from __future__ import annotations

import pytest

from benchmark import costmodel
from benchmark.cli import main
from benchmark.costmodel import Calibration
from benchmark.suite.profiles import load_profile
from benchmark.tuning.apply import base_spec
from benchmark.tuning.cost import study_costs, timing_checks, trial_budget


def fake_calibration() -> Calibration:
    return Calibration(fingerprint=costmodel.fingerprint(threads=2), train={"xs": {
        "sft": 1.0, "plain": 2.0, "reference": 3.0, "rollout": 5.0}}, decode={"xs": {16: 0.4}},
        prepare_seconds=3600.0, setup={"load_average_before": 0.0, "cpus": 2})


def _spec(method: str):
    return base_spec(load_profile("smoke", []), "synthetic", method)


def test_a_trial_is_the_method_budget_and_the_validation_queries() -> None:
    budget = trial_budget(_spec("dpo"), valid_rows=40)
    # smoke: 16 preference steps of 16 examples, beam 16; eval.max_queries 100 capped by the 40 validation rows
    assert (budget.cost_class, budget.steps, budget.batch_size, budget.beam_width) == ("reference", 16, 16, 16)
    assert budget.eval_queries == 40
    assert budget.curve_points == 0  # a trial keeps no validation curve
    assert trial_budget(_spec("dpo"), valid_rows=None).eval_queries == 100  # unknown size: max_queries


def test_study_costs_hand_computed() -> None:
    cal = fake_calibration()
    # dpo finished (2 of 2 stored), sft resumes (1 of 2 stored), simpo new
    rows = study_costs(cal, [(_spec("dpo"), 2, 2), (_spec("sft"), 2, 1), (_spec("simpo"), 2, 0)], {"synthetic": 40})
    dpo, sft, simpo = rows
    assert (dpo.planned, dpo.stored, dpo.to_compute, dpo.seconds) == (2, 2, 0, 0.0)
    # sft: the first study with trials left pays the SFT checkpoint (500 x 32 x 1.0) and the preparation (3,600)
    assert (sft.to_compute, sft.sft, sft.prepare) == (1, 16000.0, 3600.0)
    assert sft.train == pytest.approx(16 * 16 * 2.0)  # one trial, plain class
    assert sft.curve == pytest.approx(40 * 0.4) and sft.eval == 0.0  # validation, never test
    assert (simpo.sft, simpo.prepare) == (0.0, 0.0)  # shared, already charged
    assert simpo.train == pytest.approx(2 * 512.0) and simpo.curve == pytest.approx(2 * 16.0)


def test_cli_dry_run_prints_the_estimate(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setattr(costmodel, "current_threads", lambda: 2)
    args = ["tune", "--profile", "smoke", "--only", "table1", "--method", "dpo,sft", "--results", str(tmp_path),
            "--dry-run"]
    assert main(args) == 0
    assert "no cost calibration is cached for this machine" in capsys.readouterr().out
    costmodel.save_calibration(fake_calibration())
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    # validation size unknown in this cache: eval.max_queries (100) per trial. dpo: 2 x 256 x 3.0 = 1,536 s
    # train, 2 x 100 x 0.4 = 80 s valid, SFT 16,000 s + preparation 3,600 s; sft: 2 x 256 x 2.0 = 1,024 s, 80 s
    assert out[-3].split() == ["synthetic/dpo", "2", "0", "0", "2", "5.44", "0.43", "0.02", "0.00", "5.89", "11.79"]
    assert out[-2].split() == ["synthetic/sft", "2", "0", "0", "2", "0.00", "0.28", "0.02", "0.00", "0.31", "0.61"]
    assert out[-1].split() == ["total", "4", "0", "0", "4", "5.44", "0.71", "0.04", "0.00", "6.20", "12.40"]
    assert out[-4].split()[0] == "study" and out[-4].split()[-1] == "CPU-h"


def test_timing_check_against_the_stored_trials_measured_seconds() -> None:
    cal = fake_calibration()
    # the first trial also trained the SFT checkpoint: the median ignores it; a trial without seconds is skipped
    stored = [{"seconds": 5000.0}, {"seconds": 700.0}, {"seconds": 800.0}, {}]
    (line,) = timing_checks(cal, [(_spec("dpo"), stored), (_spec("sft"), [{}])], {"synthetic": 40})
    # estimate: 16 x 16 x 3.0 = 768 s training + 40 x 0.4 = 16 s validation = 784 s; median 800 s
    assert line == ("check synthetic/dpo: 3 stored trials timed, median 800 s per trial against 784 s estimated "
                    "(estimate / measured 0.98)")
