"""Figure 2 decouples data from steps: a fixed-epochs series (the paper's reading: the steps scale with the
data) and a fixed-steps series (the profile's steps at every fraction), each labelled; the committed
single-series figure is unchanged (tests/tables/test_committed_results.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from benchmark.errors import ConfigError
from benchmark.suite.matrix import expand
from benchmark.suite.profiles import load_profile
from benchmark.tables import render_all
from tests.results.factory import make_record, store_run
from tests.tables.tiny_results import per_query


def _specs(*overrides: str):
    profile = load_profile("smoke", ["seeds=[0]", *overrides])
    return {(s.method, s.variant.get("preference_fraction"), s.variant.get("budget", "epochs")): s
            for s in expand(profile, only=("fig2",))}


def test_fixed_steps_keep_the_profile_steps_and_fixed_epochs_keep_their_run_ids():
    epochs_only = _specs()
    both = _specs("fig2.budgets=[epochs,steps]")
    steps = load_profile("smoke").preference["steps"]
    for (method, fraction, budget), spec in both.items():
        trained = spec.compute_config()["preference"]["steps"]
        assert trained == (steps if budget == "steps" else max(1, round(steps * fraction)))
        if budget == "epochs":  # the paper's series: the same run ids as before the fixed-steps series existed
            assert spec.run_id == epochs_only[(method, fraction, budget)].run_id
            assert "fraction_budget" not in spec.compute_config()
        else:
            assert spec.compute_config()["fraction_budget"] == "steps"
    # at 100% data the two budgets are one run: filed once, as the fixed-epochs point
    assert not [k for k in both if k[1] == 1.0 and k[2] == "steps"]
    assert {k[:2] for k in both if k[2] == "steps"} == {(m, 0.5) for m in ("sft", "dpo", "raddpo")}


def test_budgets_are_validated():
    with pytest.raises(ConfigError, match="'budgets' parameter of Fig2Settings"):
        load_profile("smoke", ["fig2.budgets=[passes]"])


def _write(root: Path) -> None:
    # SFT 0.25 everywhere; RAD-DPO +0.05 at 50% with fixed epochs, +0.1 at 50% with fixed steps, +0.1 at 100%
    offsets = {(0.5, None): 0.05, (0.5, "steps"): 0.1, (1.0, None): 0.1}
    for (fraction, budget), offset in offsets.items():
        variant = {"preference_fraction": fraction, **({"budget": budget} if budget else {})}
        for method, value in (("sft", 0.0), ("raddpo", offset)):
            store_run(root, make_record(method=method, experiment="fig2", variant=variant), per_query(value, 0))


def test_the_table_shows_both_series_in_labelled_sections_and_shares_the_full_data_point(tmp_path):
    _write(tmp_path)
    render_all(tmp_path / "smoke", tmp_path / "out")
    csv = (tmp_path / "out" / "fig2.csv").read_text()
    md = (tmp_path / "out" / "fig2.md").read_text()
    assert "Fixed epochs (steps scale with the data)" in md and "Fixed steps (more passes over less data)" in md
    assert "Two series decouple data from steps" in md
    cells = pd.read_csv(io.StringIO(csv))
    recall = cells[cells["column_key"] == "raddpo:sid_recall@64"]
    assert recall["row_key"].tolist() == ["epochs:0.5", "epochs:1", "steps:0.5", "steps:1"]
    # (0.25 + offset - 0.25) / 0.25: +20% and +40% at 50%, +40% at 100% in both series (one shared run)
    assert recall["value"].tolist() == pytest.approx([20.0, 40.0, 40.0, 40.0])
    assert recall["section"].tolist() == ["Fixed epochs (steps scale with the data)"] * 2 + [
        "Fixed steps (more passes over less data)"] * 2
    assert (tmp_path / "out" / "fig2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
