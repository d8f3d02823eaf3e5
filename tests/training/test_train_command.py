"""Tiny end-to-end: `grbench train` sft, then dpo from it, on the synthetic dataset; --init provenance checks."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM

from benchmark.cli import main

# A small synthetic world and co-occurrence SIDs keep this under a few seconds (no text encoder).
DATA = ["--dataset", "synthetic", "--set", "sids.encoder=cooccurrence", "--set", "data.synthetic.n_items=200",
        "--set", "data.synthetic.n_users=120"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One cache for the module: the synthetic split and its SIDs are built once."""
    return ["--cache-dir", str(tmp_path_factory.mktemp("cache"))]


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("cli") / "sft"
    code = main(["train", *DATA, *cache, "--method", "sft", "--out", str(out), "--steps", "6", "--batch-size", "8",
                 "--size", "xs", "--seed", "3", "--set", "lr=5.0e-3", "--set", "checkpoint_every=4"])
    assert code == 0
    return out


def _curve(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_sft_then_dpo_write_loadable_checkpoints_and_curves(sft_run, cache, tmp_path, capsys):
    sft_summary = json.loads((sft_run / "train_summary.json").read_text())
    assert sft_summary["method"] == "sft" and sft_summary["steps"] == 6
    assert sft_summary["train_config"]["seed"] == 3 and sft_summary["train_config"]["lr"] == 5e-3
    assert sft_summary["metadata"]["dataset"] == "synthetic" and sft_summary["metadata"]["stage"] == "sft"
    assert len(_curve(sft_run / "loss_curve.csv")) == 6
    assert not (sft_run / "checkpoints").exists()

    out = tmp_path / "dpo"
    code = main(["train", *DATA, *cache, "--method", "dpo", "--init", str(sft_run), "--out", str(out), "--steps", "3",
                 "--batch-size", "8", "--lr", "1e-3", "--set", "method.beta=0.2"])
    assert code == 0
    assert "trained dpo on synthetic (preference" in capsys.readouterr().out
    model = AutoModelForCausalLM.from_pretrained(out / "model")  # plain transformers, no grbench code
    start = AutoModelForCausalLM.from_pretrained(sft_run / "model")
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), start.state_dict().values()))
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["method"] == "dpo" and summary["method_config"] == {"beta": 0.2}
    assert summary["metadata"]["split_hash"] == sft_summary["metadata"]["split_hash"]
    assert summary["metadata"]["stage"] == "preference" and summary["tokens"] > 0 and summary["flops"] > 0
    rows = _curve(out / "loss_curve.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert float(rows[0]["loss"]) == pytest.approx(0.693147, abs=1e-4)  # policy == reference at step 1: log 2


def test_init_from_another_split_is_refused(sft_run, cache, tmp_path, capsys):
    forged = tmp_path / "forged"
    shutil.copytree(sft_run / "model", forged)
    meta = json.loads((forged / "grbench.json").read_text())
    meta["split_hash"] = "0000000000000000"
    (forged / "grbench.json").write_text(json.dumps(meta))
    code = main(["train", *DATA, *cache, "--method", "dpo", "--init", str(forged), "--out", str(tmp_path / "x"),
                 "--steps", "1", "--batch-size", "4"])
    assert code == 2
    err = capsys.readouterr().err
    assert "built for another split" in err and "0000000000000000" in err
    assert not (tmp_path / "x").exists()


def test_a_reference_method_without_init_and_bad_settings_are_errors(cache, tmp_path, capsys):
    code = main(["train", *DATA, *cache, "--method", "simpo", "--out", str(tmp_path), "--steps", "1", "--set", "lr=-1"])
    assert code == 2 and "The 'lr' parameter of TrainConfig" in capsys.readouterr().err
    code = main(["train", *DATA, *cache, "--method", "dpo", "--out", str(tmp_path), "--steps", "1"])
    assert code == 2 and "needs --init CHECKPOINT" in capsys.readouterr().err
    code = main(["train", *DATA, *cache, "--method", "dpoo", "--out", str(tmp_path), "--steps", "1"])
    assert code == 2 and "Did you mean 'dpo'" in capsys.readouterr().err
    code = main(["train", *DATA, *cache, "--method", "dpo", "--out", str(tmp_path), "--set", "method.betta=1"])
    assert code == 2 and "Did you mean 'beta'" in capsys.readouterr().err


class _Stop(Exception):
    """Raised by the spy in place of training: only what would be trained is compared."""


def test_train_command_trains_on_the_suites_examples_and_tokenizer(cache, tmp_path, monkeypatch):
    """One pipeline: the same settings give `grbench train` and the suite's preference stage the same examples
    (max_candidates above the builder's default of 16 included), tokenizer metadata and checkpoint provenance."""
    from benchmark.suite import stages
    from benchmark.suite.matrix import spec_for
    from benchmark.suite.profiles import load_profile
    from benchmark.training import examples_fingerprint

    seen = []

    def spy(**kwargs):
        seen.append(kwargs)
        raise _Stop

    monkeypatch.setattr(stages, "train", spy)
    wide = ["--set", "data.clicks.exposure_k=24", "--set", "max_candidates=20"]  # impressions of up to 24 candidates
    with pytest.raises(_Stop):
        main(["train", *DATA, *cache, *wide, "--method", "sft", "--stage", "preference", "--out", str(tmp_path / "c"),
              "--size", "xs", "--seed", "3"])
    profile = load_profile("smoke", ["sids.encoder=cooccurrence", "data.synthetic.n_items=200",
                                     "data.synthetic.n_users=120", "data.clicks.exposure_k=24",
                                     "preference.max_candidates=20"])
    spec = spec_for(profile, "table1", "sft", 3)
    monkeypatch.setattr(stages, "load_checkpoint", lambda path: None)
    with pytest.raises(_Stop):
        stages.method_checkpoint(spec, stages.prepare(spec, None), tmp_path / "sft" / "model")
    command, suite = seen
    assert max(len(ex.candidate_ids) for ex in command["examples"]) == 20
    assert examples_fingerprint(command["examples"]) == examples_fingerprint(suite["examples"])
    assert command["tokenizer"].metadata == suite["tokenizer"].metadata != {}
    assert {k: v for k, v in command["metadata"].items() if k not in ("stage", "init")} == suite["metadata"]


def test_eval_of_a_command_checkpoint_is_the_suites_evaluate_stage(sft_run, cache, tmp_path):
    """`grbench eval` runs the suite's prepare -> evaluate -> record stages: the same per-query metrics as
    ``stages.evaluate`` with the suite's tokenizer, and the model size the checkpoint now records."""
    from benchmark.evaluation import EvalConfig
    from benchmark.results import load_run
    from benchmark.suite.stages import evaluate, prepare_data

    code = main(["eval", str(sft_run), *DATA, *cache, "--beam-width", "4", "--max-queries", "6",
                 "--results", str(tmp_path)])
    assert code == 0
    (run_dir,) = (tmp_path / "eval" / "runs").iterdir()
    run = load_run(run_dir)
    assert run.result.model_size == "xs" and run.result.method == "sft"
    prepared = prepare_data("synthetic", {"synthetic": {"n_items": 200, "n_users": 120}},
                            {"encoder": "cooccurrence"}, None)
    suite = evaluate(sft_run / "model", prepared, EvalConfig(beam_width=4, max_queries=6))
    stored = run.per_query().set_index("query_id")  # stored in query id order
    ids = suite.frame["query_id"].to_numpy()
    assert sorted(stored.index) == sorted(ids)
    for name, values in suite.per_query.items():
        assert stored.loc[ids, name].to_numpy() == pytest.approx(values)
