"""``benchmark.parity`` / ``grbench parity``: twin runs that differ only in precision, paired per cell and metric.

Hand-made stored runs (real writer) over 8 queries, so the permutation test enumerates all 2^8 sign vectors
exactly: a constant shift of +0.1 on every query is reached only by the all-plus and all-minus vectors, p =
2 / 256 = 0.0078125; identical values give p = 1. With 2 methods x 2 metrics = 4 tests of which 2 are shifted,
Holm gives the shifted ones max(4 x 0.0078125, 3 x 0.0078125) = 0.03125 (< 0.05) and the others 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.artifacts import hash_json
from benchmark.cli import main
from benchmark.errors import BenchmarkError
from benchmark.parity import PRECISION_KEYS, format_report, pair_runs, parity
from benchmark.results import load_runs
from tests.results.factory import make_record, store_run

METRICS = ("item_recall@10", "sid_mrr")
BASE = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
EXACT_P = 2 / 256


def store_twin(root: Path, method: str, seed: int, precision: str, values: dict[str, np.ndarray] | np.ndarray,
               lr: float = 1e-3, query_ids: np.ndarray | None = None) -> str:
    """A run whose resolved config holds ``precision`` in its sft and preference sections (as the suite's do)."""
    config = {"method": method, "seed": seed, "dataset": "synthetic", "variant": {}, "data": {"seed": seed},
              "sids": {"levels": 3}, "model": {"size": "s"},
              "sft": {"lr": 5e-3, "precision": precision}, "preference": {"lr": lr, "precision": precision},
              "eval": {"beam_width": 16}}
    key = hash_json(config)
    record = make_record(method=method, seed=seed, config=config, compute_key=key,
                         run_id=f"table1-{method}-seed{seed}-{hash_json(['table1', key], 10)}")
    per_query = values if isinstance(values, dict) else {m: values for m in METRICS}
    store_run(root, record, per_query, query_ids=query_ids)
    return record.run_id


def write_side(root: Path, precision: str, shift: dict[str, float] | None = None) -> Path:
    """sft and dpo, seeds 0 and 1; ``shift`` adds a constant to every query of a method's metrics."""
    shift = shift or {}
    for method, offset in (("sft", 0.0), ("dpo", 0.05)):
        for seed in (0, 1):
            store_twin(root, method, seed, precision, BASE + offset + 0.01 * seed + shift.get(method, 0.0))
    return root / "smoke"


def test_identical_twins_are_at_parity(tmp_path) -> None:
    a = load_runs(write_side(tmp_path / "a", "fp32"))
    b = load_runs(write_side(tmp_path / "b", "bf16"))
    report = parity(a, b, metrics=METRICS)
    assert report.parity and report.pairs == 4 and not report.unpaired_a and not report.unpaired_b
    assert report.differing == {"sft.precision": [["fp32", "bf16"]], "preference.precision": [["fp32", "bf16"]]}
    assert len(report.rows) == 4  # 2 cells (sft, dpo; seeds pooled) x 2 metrics
    for row in report.rows:
        assert row.seeds == (0, 1) and row.n_queries == 8 and row.equal_queries == 8
        assert row.diff == 0.0 and row.p_permutation == 1.0 and row.p_holm == 1.0
    dpo = next(r for r in report.rows if r.method == "dpo" and r.metric == "sid_mrr")
    assert dpo.mean_a == pytest.approx(0.45 + 0.05 + 0.005)  # mean(BASE) + offset + mean over seeds of 0.01 * s
    # run means 0.50 and 0.51 over the two seeds: sample std 0.01 / sqrt(2); equal twins: no seed-level t
    assert dpo.seed_std_a == pytest.approx(0.01 / np.sqrt(2)) and dpo.within_seed_spread is True
    assert np.isnan(dpo.p_seeds)


def test_a_shifted_method_differs_with_the_hand_computed_holm_p(tmp_path) -> None:
    a = load_runs(write_side(tmp_path / "a", "fp32"))
    b = load_runs(write_side(tmp_path / "b", "bf16", shift={"dpo": 0.1}))
    report = parity(a, b, metrics=METRICS)
    assert not report.parity
    shifted = {(r.method, r.metric): r for r in report.significant}
    assert set(shifted) == {("dpo", m) for m in METRICS}
    for row in shifted.values():
        assert row.p_permutation == pytest.approx(EXACT_P)
        assert row.p_holm == pytest.approx(4 * EXACT_P)  # Holm: max(4p, 3p) for the two smallest
        assert row.diff == pytest.approx(0.1) and row.ci_low == pytest.approx(0.1) and row.ci_high == pytest.approx(0.1)
        assert row.equal_queries == 0
        assert row.within_seed_spread is False  # 0.1 > 0.01 / sqrt(2)
    text = format_report(report)
    assert "DIFFERS: 2 of 4" in text and "of these, 0 lie within A's seed spread" in text
    for row in report.rows:
        if row.method == "sft":
            assert row.p_holm == 1.0


def test_seed_level_view(tmp_path) -> None:
    for seed, shift in ((0, 0.01), (1, 0.03)):  # B - A per seed: +0.01, +0.03; A's run means 0.45, 0.55
        store_twin(tmp_path / "a", "sft", seed, "fp32", BASE + 0.1 * seed)
        store_twin(tmp_path / "b", "sft", seed, "bf16", BASE + 0.1 * seed + shift)
    report = parity(load_runs(tmp_path / "a" / "smoke"), load_runs(tmp_path / "b" / "smoke"), metrics=METRICS[:1])
    (row,) = report.rows
    assert row.diff == pytest.approx(0.02)
    assert row.seed_std_a == pytest.approx(0.1 / np.sqrt(2)) and row.within_seed_spread is True
    # t over seeds: mean d = 0.02, s_d = 0.02 / sqrt(2) = 0.01414, t = 0.02 / (0.01414 / sqrt(2)) = 2, 1 dof:
    # p = 2 P(T_1 >= 2) = 1 - 2 atan(2) / pi
    assert row.p_seeds == pytest.approx(1 - 2 * np.arctan(2) / np.pi)


def test_pairing_needs_everything_but_precision_equal(tmp_path) -> None:
    write_side(tmp_path / "a", "fp32")
    write_side(tmp_path / "b", "bf16")
    other_lr = store_twin(tmp_path / "b", "simpo", 0, "bf16", BASE, lr=2e-3)
    lone = store_twin(tmp_path / "a", "simpo", 0, "fp32", BASE, lr=1e-3)
    pairs, lone_a, lone_b = pair_runs(load_runs(tmp_path / "a" / "smoke"), load_runs(tmp_path / "b" / "smoke"))
    assert len(pairs) == 4 and lone_a == [lone] and lone_b == [other_lr]
    assert all(p.a.result.method == p.b.result.method and p.a.result.seed == p.b.result.seed for p in pairs)
    # ignoring the learning rate too pairs them
    pairs, lone_a, lone_b = pair_runs(load_runs(tmp_path / "a" / "smoke"), load_runs(tmp_path / "b" / "smoke"),
                                      ignore=(*PRECISION_KEYS, "preference.lr"))
    assert len(pairs) == 5 and not lone_a and not lone_b


def test_ambiguous_or_empty_pairings_are_errors(tmp_path) -> None:
    root = tmp_path / "both"
    store_twin(root, "sft", 0, "fp32", BASE)
    store_twin(root, "sft", 0, "bf16", BASE)
    runs = load_runs(root / "smoke")
    with pytest.raises(BenchmarkError, match="two runs that differ only in"):
        pair_runs(runs, runs)
    other = tmp_path / "other"
    store_twin(other, "dpo", 0, "bf16", BASE)
    with pytest.raises(BenchmarkError, match="no run of A"):
        parity(runs[:1], load_runs(other / "smoke"))
    with pytest.raises(BenchmarkError, match="alpha"):
        parity(runs[:1], runs[:1], alpha=1.5)


def test_only_queries_scored_on_both_sides_are_paired(tmp_path) -> None:
    store_twin(tmp_path / "a", "sft", 0, "fp32", BASE)  # query ids 0..7
    store_twin(tmp_path / "b", "sft", 0, "bf16", BASE, query_ids=np.array([0, 1, 2, 4, 5, 6, 7, 9]))
    report = parity(load_runs(tmp_path / "a" / "smoke"), load_runs(tmp_path / "b" / "smoke"), metrics=METRICS)
    row = report.rows[0]
    assert row.n_queries == 7  # ids 0, 1, 2, 4, 5, 6, 7: query 3 only in A, query 9 only in B
    # B stored BASE[3] = 0.4 under id 4, BASE[4] under id 5, ...: values are paired by id, not by position
    assert row.mean_a == pytest.approx(BASE[[0, 1, 2, 4, 5, 6, 7]].mean())
    assert row.mean_b == pytest.approx(BASE[[0, 1, 2, 3, 4, 5, 6]].mean())
    assert row.equal_queries == 3


def test_parity_command_exit_status_report_and_json(tmp_path, capsys) -> None:
    a = write_side(tmp_path / "a", "fp32")
    same = write_side(tmp_path / "same", "bf16")
    shifted = write_side(tmp_path / "shifted", "bf16", shift={"sft": -0.1})
    metrics = ["--metrics", ",".join(METRICS)]
    assert main(["parity", str(a), str(same), *metrics]) == 0
    out = capsys.readouterr().out
    assert "PARITY" in out and "4 twin runs" in out and "sft.precision: fp32 -> bf16" in out

    csv_path = tmp_path / "parity.csv"
    assert main(["parity", str(a), str(shifted / "runs"), *metrics, "--report", str(csv_path)]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS: 2 of 4" in out and out.count("  *") == 2
    rows = pd.read_csv(csv_path)
    assert len(rows) == 4 and rows["significant"].sum() == 2
    assert rows.loc[rows["significant"], "diff"].to_numpy() == pytest.approx([-0.1, -0.1])

    assert main(["parity", str(a), str(shifted), *metrics, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["parity"] is False and report["pairs"] == 4 and len(report["rows"]) == 4

    assert main(["parity", str(a), str(tmp_path / "nowhere")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["parity", str(a), str(same), "--metrics", "sid_mrr", "--only", "table2"]) == 2
    assert "no stored runs of table2" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_runs_at_bf16_pair_with_their_fp32_twins(tmp_path, monkeypatch, capsys) -> None:
    """End to end: the smoke profile's DPO row (seed 0, a short SFT) trained and decoded at fp32 and at bf16
    gets two run ids and two SFT checkpoints, and ``grbench parity`` pairs the two and tests every metric."""
    monkeypatch.setenv("GRBENCH_CACHE", str(tmp_path / "cache"))  # --cache-dir sets it; restored afterwards
    common = ["run", "--profile", "smoke", "--only", "table1", "--methods", "dpo", "--set", "seeds=[0]",
              "--set", "sft.steps=60", "--set", "eval.max_queries=40", "--cache-dir", str(tmp_path / "cache"),
              "--no-tables", "--allow-dirty"]
    for precision in ("fp32", "bf16"):
        assert main([*common, "--results", str(tmp_path / precision), "--set", f"sft.precision={precision}",
                     "--set", f"preference.precision={precision}"]) == 0
    capsys.readouterr()
    a, b = load_runs(tmp_path / "fp32" / "smoke"), load_runs(tmp_path / "bf16" / "smoke")
    assert len(a) == len(b) == 1 and a[0].result.run_id != b[0].result.run_id
    assert b[0].result.config["preference"]["precision"] == "bf16" and b[0].result.config["sft"]["precision"] == "bf16"
    assert len(list((tmp_path / "cache" / "checkpoints" / "sft").iterdir())) == 2  # no shared SFT checkpoint
    code = main(["parity", str(tmp_path / "fp32" / "smoke"), str(tmp_path / "bf16" / "smoke"), "--json",
                 "--resamples", "2000"])
    report = json.loads(capsys.readouterr().out)
    assert code == (0 if report["parity"] else 1)
    assert report["pairs"] == 1 and not report["unpaired_a"] and not report["unpaired_b"]
    rows = {r["metric"]: r for r in report["rows"]}
    assert {"sid_recall@64", "sid_mrr", "halluc"} <= set(rows)
    assert all(r["n_queries"] == 40 and r["method"] == "dpo" for r in rows.values())
    # bf16 trained and decoded another model: some per-query values differ
    assert any(r["equal_queries"] < r["n_queries"] for r in rows.values())
