"""``grbench tune`` end to end on the smoke profile at tiny budgets: trials never see the test split, the same
seed chooses the same configuration, the study and its sensitivity files are written, and ``grbench run`` with
``tuning.use`` trains the chosen configuration and records the study in run.json."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.config import ConfigError
from benchmark.errors import DataError
from benchmark.results import load_runs
from benchmark.suite import stages
from benchmark.suite.profiles import load_profile
from benchmark.suite.runner import run_suite
from benchmark.tuning import tune as tuning
from benchmark.tuning.study import read_study, study_path, write_study
from benchmark.tuning.tune import WithheldSplit, tune_profile

# Seconds, not minutes: a 20-step SFT checkpoint, 4 preference steps, 20 validation queries, beam 8. So small
# a model hits nothing yet; its hallucination rate (lower is better) still tells the trials apart.
TINY = ["seeds=[0]", "sft.steps=20", "sft.warmup_steps=2", "preference.steps=4", "preference.warmup_steps=1",
        "eval.max_queries=20", "eval.beam_width=8", "tuning.trials=2", "tuning.metric=halluc"]
METHODS = ("dpo",)


def _tune(root: Path, cache: Path, overrides: list[str] = ()) -> list[dict]:
    old = os.environ.get("GRBENCH_CACHE")
    os.environ["GRBENCH_CACHE"] = str(cache)
    try:
        return tune_profile(load_profile("smoke", [*TINY, *overrides]), root, only=("table1",), methods=METHODS)
    finally:
        if old is None:
            os.environ.pop("GRBENCH_CACHE", None)
        else:
            os.environ["GRBENCH_CACHE"] = old


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One study of DPO (results root, cache), made once for this module."""
    root, cache = tmp_path_factory.mktemp("tuned"), tmp_path_factory.mktemp("tuned-cache")
    summaries = _tune(root, cache)
    assert [(s["dataset"], s["method"], s["reused"]) for s in summaries] == [("synthetic", "dpo", False)]
    return root, cache


def _entry(root: Path) -> dict:
    return read_study(study_path(root, "smoke", "synthetic"))["methods"]["dpo"]


def _untimed(trials: list[dict]) -> list[dict]:
    """Trials without their measured wall time, the one field two identical studies do not share."""
    return [{k: v for k, v in t.items() if k != "seconds"} for t in trials]


class PoisonedSplit:
    """A test split that fails any use: the stages get it in place of the real one."""

    def __getattr__(self, name: str):
        raise AssertionError("tuning touched the test split")

    def __len__(self) -> int:
        raise AssertionError("tuning touched the test split")


def test_a_trial_cannot_see_the_test_split(tuned, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the built test split poisoned, tuning runs unchanged: every trial evaluated the validation split
    only, and the study equals the one made with the real test split."""
    real_prepare, real_evaluate = stages.prepare, stages.evaluate
    splits = []

    def poisoned_prepare(spec, data_dir):
        prepared = real_prepare(spec, data_dir)
        return dataclasses.replace(prepared, dataset=dataclasses.replace(prepared.dataset, test=PoisonedSplit()))

    def spying_evaluate(checkpoint_dir, prepared, config, *, split="test", tokenizer=None):
        splits.append(split)
        return real_evaluate(checkpoint_dir, prepared, config, split=split, tokenizer=tokenizer)

    monkeypatch.setattr(stages, "prepare", poisoned_prepare)
    monkeypatch.setattr(stages, "evaluate", spying_evaluate)
    _tune(tmp_path, tuned[1])  # the module's cache: the trials' checkpoints are reused, the scoring reruns
    assert splits == ["valid", "valid"]
    poisoned, real = _entry(tmp_path), _entry(tuned[0])
    assert poisoned["chosen"] == real["chosen"] and _untimed(poisoned["trials"]) == _untimed(real["trials"])


def test_the_stages_get_the_test_split_withheld() -> None:
    with pytest.raises(DataError, match="Tuning tried to read the test split"):
        len(WithheldSplit())
    with pytest.raises(DataError, match="validation split only"):
        WithheldSplit().iloc[:10]


def test_two_studies_with_the_same_seed_choose_the_same_configuration(tuned, tmp_path: Path) -> None:
    """A second study from scratch (its own cache: the SFT checkpoint and every trial retrained) matches."""
    _tune(tmp_path / "results", tmp_path / "cache")
    first, second = _entry(tuned[0]), _entry(tmp_path / "results")
    assert second["chosen"] == first["chosen"] and _untimed(second["trials"]) == _untimed(first["trials"])
    assert first["sampler"]["seed"] == 0 and first["n_trials"] == 2 and first["metric"] == "halluc"


def test_study_file_and_sensitivity_outputs(tuned) -> None:
    entry = _entry(tuned[0])
    assert [t["number"] for t in entry["trials"]] == [0, 1]
    assert all(t["seconds"] > 0 for t in entry["trials"])  # each trial's measured wall time
    assert set(entry["space"]) == {"beta", "lr"} and entry["direction"] == "minimize"
    best = min(entry["trials"], key=lambda t: (t["score"], t["number"]))
    assert entry["chosen"] == {"trial": best["number"], "params": best["params"], "score": best["score"]}
    folder = tuned[0] / "smoke" / "tuning"
    frame = pd.read_csv(folder / "synthetic-sensitivity.csv")
    assert list(frame.columns) == ["method", "trial", "parameter", "value", "score", "chosen"]
    assert len(frame) == 2 * 2 and frame["chosen"].sum() == 2  # 2 trials x 2 parameters; the chosen trial's 2
    assert (folder / "synthetic-dpo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_finished_study_is_reused_and_a_changed_one_reruns(tuned, tmp_path, monkeypatch) -> None:
    def no_training(*args, **kwargs):
        raise AssertionError("a finished study with the same settings must not train again")

    monkeypatch.setattr(tuning, "score_trial", no_training)
    (summary,) = _tune(tuned[0], tuned[1])
    assert summary["reused"] is True and summary["chosen"] == _entry(tuned[0])["chosen"]
    with pytest.raises(AssertionError, match="must not train again"):
        _tune(tuned[0], tuned[1], ["tuning.seed=1"])  # another sampler seed is another study


def test_an_interrupted_study_is_stored_and_resumes_where_it_stopped(tuned, tmp_path, monkeypatch, capsys) -> None:
    """The process dies in trial 1 (the objective raises): the study file keeps trial 0 with nothing chosen, a
    tuned run refuses it, and the next `grbench tune` scores trial 1 only and ends with the uninterrupted study."""
    real_score, calls = tuning.score_trial, []

    def dies_in_trial_1(spec, metric, data_dir, **kwargs):
        calls.append(spec.compute_key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_score(spec, metric, data_dir, **kwargs)

    monkeypatch.setattr(tuning, "score_trial", dies_in_trial_1)
    with pytest.raises(KeyboardInterrupt):
        _tune(tmp_path, tuned[1])  # the module's cache: trial checkpoints are reused, the scoring reruns
    partial, whole = _entry(tmp_path), _entry(tuned[0])
    assert partial["chosen"] is None and _untimed(partial["trials"]) == _untimed(whole["trials"][:1])
    assert pd.read_csv(tmp_path / "smoke" / "tuning" / "synthetic-sensitivity.csv")["chosen"].sum() == 0
    monkeypatch.setenv("GRBENCH_CACHE", str(tuned[1]))
    with pytest.raises(ConfigError, match=r"is unfinished: 1 of 2 trials scored\. Run `grbench tune --profile "
                                          r"smoke --method dpo"):
        run_suite(load_profile("smoke", [*TINY, "tuning.use=true"]), tmp_path, only=("table1",), methods=METHODS)
    assert main(["tune", "--profile", "smoke", "--only", "table1", "--method", "dpo", "--results", str(tmp_path),
                 *[a for o in TINY for a in ("--set", o)], "--dry-run"]) == 0
    (study_line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("synthetic\t")]
    assert study_line.endswith("\tresumes: 1 of 2 trials stored")

    calls.clear()
    real_write, written = tuning.write_study, []

    def counting_write(path, profile, dataset, methods):
        written.append(methods["dpo"]["chosen"])
        return real_write(path, profile, dataset, methods)

    monkeypatch.setattr(tuning, "write_study", counting_write)
    (summary,) = _tune(tmp_path, tuned[1])
    assert calls == [whole["trials"][1]["compute_key"]]  # trial 0 was replayed from the file, not scored
    assert written == [whole["chosen"]]  # the last trial is written once, with the choice
    resumed = _entry(tmp_path)
    assert summary["reused"] is False and resumed["chosen"] == whole["chosen"]
    assert _untimed(resumed["trials"]) == _untimed(whole["trials"])
    assert resumed["trials"][0] == partial["trials"][0]  # the stored trial kept as stored, its time included


def test_run_uses_the_chosen_configuration_and_records_the_study(tuned, monkeypatch) -> None:
    root, cache = tuned
    monkeypatch.setenv("GRBENCH_CACHE", str(cache))
    profile = load_profile("smoke", [*TINY, "tuning.use=true"])
    trained_before = sorted(p.name for p in (cache / "checkpoints" / "runs").iterdir())
    assert len(trained_before) == 2  # one training per trial, each with the run's curve snapshots
    summary = run_suite(profile, root, only=("table1",), methods=METHODS)
    assert summary.executed == 1
    # the run trained nothing: it is the chosen trial's training, snapshots for its validation curve included
    assert sorted(p.name for p in (cache / "checkpoints" / "runs").iterdir()) == trained_before
    (run,) = load_runs(root / "smoke")
    entry = _entry(root)
    tuning_record = run.result.tuning
    assert tuning_record["study"] == "smoke/tuning/synthetic.json" and tuning_record["split"] == "valid"
    assert tuning_record["params"] == entry["chosen"]["params"]
    assert run.result.config["method_config"]["beta"] == entry["chosen"]["params"]["beta"]
    assert run.result.config["preference"]["lr"] == entry["chosen"]["params"]["lr"]
    # the run is the chosen trial's configuration on the same seed
    chosen = entry["trials"][entry["chosen"]["trial"]]
    assert run.result.compute_key == chosen["compute_key"]
    assert run.result.hashes.sft_checkpoint_hash is not None
    json.dumps(tuning_record)  # plain JSON


def test_run_without_or_with_a_stale_study_says_what_to_tune(tuned, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRBENCH_CACHE", str(tuned[1]))
    with pytest.raises(ConfigError, match=r"holds no study of method 'dpo' on synthetic\. Run `grbench tune "
                                          r"--profile smoke --method dpo"):
        run_suite(load_profile("smoke", [*TINY, "tuning.use=true"]), tmp_path, only=("table1",), methods=METHODS)
    with pytest.raises(ConfigError, match="stale study"):
        run_suite(load_profile("smoke", [*TINY, "tuning.use=true", "preference.steps=5"]), tuned[0],
                  only=("table1",), methods=METHODS)


def test_cli_dry_run_lists_the_studies(capsys: pytest.CaptureFixture) -> None:
    assert main(["tune", "--profile", "smoke", "--only", "table1", "--method", "dpo,sft", "--dry-run"]) == 0
    lines = [line for line in capsys.readouterr().out.strip().splitlines() if "\t" in line]
    assert [line.split("\t")[:3] for line in lines] == [["synthetic", "dpo", "2 trials"],
                                                         ["synthetic", "sft", "2 trials"]]
    assert [line.split("\t")[-1] for line in lines] == ["new", "new"]
    assert main(["tune", "--profile", "smoke", "--method", "dpoo", "--dry-run"]) == 2
    assert "Did you mean 'dpo'" in capsys.readouterr().err


def test_a_study_refuses_to_resume_from_another_build_of_the_sft_checkpoint(tuned, tmp_path, monkeypatch) -> None:
    """Every trial records the SFT build it started from (its final loss, thread count and CPU dispatch). A study
    whose stored trials started from another build (say, one trained on a CPU without AVX-512 under the same
    cache key) is refused before any training; with the stored trials' build it resumes and ends as the uninterrupted one."""
    whole = _entry(tuned[0])
    start = whole["trials"][0]["sft_start"]
    assert start["threads"] >= 1 and start["cpu_capability"] and math.isfinite(start["final_loss"])
    assert [t["sft_start"] for t in whole["trials"]] == [start, start]
    path = study_path(tmp_path, "smoke", "synthetic")
    other_build = {"final_loss": start["final_loss"] + 1e-6, "threads": start["threads"] + 2, "cpu_capability": "X"}
    write_study(path, "smoke", "synthetic",
                {"dpo": {**whole, "chosen": None, "trials": [{**whole["trials"][0], "sft_start": other_build}]}})
    trained, real_train = [], stages.method_checkpoint

    def counting_train(*args, **kwargs):
        trained.append(args[0].compute_key)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(stages, "method_checkpoint", counting_train)
    expected = (rf"\(final loss {start['final_loss']!r}; {start['threads']} thread\(s\), CPU dispatch "
                rf"{start['cpu_capability']}\) is not the build the stored trials of dpo started from \(final loss "
                rf"{other_build['final_loss']!r}; {other_build['threads']} thread\(s\), CPU dispatch X\).*"
                rf"grbench --threads {other_build['threads']} tune \.\.\.` on a CPU with dispatch X")
    with pytest.raises(ConfigError, match=expected):
        _tune(tmp_path, tuned[1])
    assert trained == [] and _entry(tmp_path)["trials"][0]["sft_start"] == other_build  # nothing trained or lost

    write_study(path, "smoke", "synthetic", {"dpo": {**whole, "chosen": None, "trials": whole["trials"][:1]}})
    _tune(tmp_path, tuned[1])
    assert trained == [whole["trials"][1]["compute_key"]]
    assert _untimed(_entry(tmp_path)["trials"]) == _untimed(whole["trials"])
