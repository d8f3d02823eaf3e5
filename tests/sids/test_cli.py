"""``grbench sids`` end to end on the synthetic dataset (real ``benchmark.data.build_dataset``)."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import main
from benchmark.data import build_dataset

COOC = ["--set", "encoder=cooccurrence", "--set", "cooccurrence_dim=32"]


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _untimed(summary: dict) -> dict:
    """The report minus timings (they differ between runs) and the per-bucket table (``stats`` only)."""
    return {k: v for k, v in summary.items() if k not in ("seconds", "buckets")}


def test_build_then_stats_report_the_same_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    built = run_json(capsys, ["sids", "build", "synthetic", "--json", *COOC])
    stats = run_json(capsys, ["sids", "stats", "synthetic", "--json", *COOC])
    assert _untimed(stats) == _untimed(built) and set(stats["buckets"]) == {"overall", "head", "torso", "tail"}
    built = _untimed(built)
    assert stats["dataset"] == "synthetic" and stats["config"]["encoder"] == "cooccurrence"
    s = stats["stats"]
    assert s["n_items"] == len(build_dataset("synthetic").items)
    assert 0 < s["distinct_sids"] <= s["n_items"]
    assert 0.0 <= s["collision_rate"] < 0.5
    assert len(s["residual_mse"]) == 3 and s["residual_mse"] == sorted(s["residual_mse"], reverse=True)
    assert s["preference_pairs"]["n_pairs"] > 0
    # a forced rebuild (embeddings included) with the same seed is identical
    assert _untimed(run_json(capsys, ["sids", "build", "synthetic", "--json", "--force", *COOC])) == built


def test_text_output_and_user_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sids", "stats", "synthetic", *COOC]) == 0
    out = capsys.readouterr().out
    assert "collision rate" in out and "codebook use" in out and "paper: 34.6% / 1.9%" in out
    assert "per popularity bucket" in out and "builder            rqkmeans" in out
    assert main(["sids", "build", "synthetic", "--set", "levls=2"]) == 2
    assert "Did you mean 'levels'" in capsys.readouterr().err
    assert main(["sids", "build", "synthetic", "--set", "codebook_sizes=[4,4]"]) == 2
    assert "one size per level (levels=3)" in capsys.readouterr().err
    assert main(["sids", "stats", "synthetic", "--seed", "-1"]) == 2  # --seed is SidConfig.seed, validated
    assert "The 'seed' parameter of SidConfig" in capsys.readouterr().err


def test_build_many_prints_each_builder_time_and_its_ratio_to_rqkmeans(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sids", "build", "synthetic", "--builder", "acrq,rqkmeans", *COOC]
    forced = run_json(capsys, [*argv, "--json", "--force"])
    rows = forced["timing"]
    assert forced["force"] is True and [r["builder"] for r in rows] == ["rqkmeans", "acrq"]  # reference first
    assert rows[0]["ratio_to_rqkmeans"] == 1.0
    assert rows[1]["ratio_to_rqkmeans"] == round(rows[1]["seconds"] / rows[0]["seconds"], 3)
    assert rows[1]["cpu_ratio_to_rqkmeans"] == round(rows[1]["cpu_seconds"] / rows[0]["cpu_seconds"], 3)
    assert all(r["cached"] == [] for r in rows)  # --force: nothing came from the cache
    assert set(rows[1]["phases"]) == {"embedding", "acrq"}
    assert forced["builders"]["acrq"]["builder"] == "acrq" and forced["builders"]["rqkmeans"]["builder"] == "rqkmeans"
    # Without --force both catalogs now load from the cache, and the table says so.
    again = run_json(capsys, [*argv, "--json"])
    assert [r["cached"] for r in again["timing"]] == [["catalog", "embeddings"]] * 2
    assert {n: s["catalog_hash"] for n, s in again["builders"].items()} == {
        n: s["catalog_hash"] for n, s in forced["builders"].items()}
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "x rqkmeans" in out and "use --force for a fair comparison" in out and "catalog,embeddings" in out
    assert main(["sids", "build", "synthetic", "--builder", "rqkmeans,acrk"]) == 2
    assert "Did you mean 'acrq'" in capsys.readouterr().err
