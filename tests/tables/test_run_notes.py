"""Every table note says which checkpoint its trained runs report and which of them were tuned."""

from __future__ import annotations

from benchmark.results import Budget, load_runs
from benchmark.tables.collect import ExperimentRuns, checkpoint_note, tuning_note
from tests.results.factory import make_record, store_run
from tests.tables.tiny_results import per_query

STUDY = {"study": "smoke/tuning/synthetic.json", "study_hash": "a" * 16, "params": {"beta": 0.5, "lr": 1e-4},
         "metric": "target_hit@10", "split": "valid", "trial": 3, "score": 0.4}
UNTRAINED = Budget(optimizer_steps=0, batch_size=0, examples_seen=0, tokens=0, flops=0.0, train_seconds=0.1,
                   eval_seconds=0.5)


def _experiment(tmp_path, *records) -> ExperimentRuns:
    for record in records:
        store_run(tmp_path, record, per_query(0.0, 0))
    return ExperimentRuns("table1", load_runs(tmp_path / "smoke"))


def test_untuned_final_runs_say_so_and_untrained_runs_are_not_counted(tmp_path):
    runs = _experiment(tmp_path, make_record(method="dpo"), make_record(method="query-lookup", budget=UNTRAINED))
    assert checkpoint_note(runs) == " Trained runs report their final checkpoint."
    assert tuning_note(runs) == ""


def test_tuned_and_best_checkpoint_runs_are_named(tmp_path):
    best = {"report": "best", "points": 4, "max_queries": 300, "metric": "target_hit@10"}
    dpo = make_record(method="dpo", tuning=STUDY)
    sft = make_record(method="sft")
    raddpo = make_record(method="raddpo", config={**make_record(method="raddpo").config, "checkpoint": best})
    runs = _experiment(tmp_path, dpo, sft, raddpo)
    assert tuning_note(runs) == (" 1 of 3 trained runs (dpo) use the configuration their tuning study chose on the "
                                 "validation split by target_hit@10 (smoke/tuning/synthetic.json); the others the "
                                 "profile's defaults.")
    assert checkpoint_note(runs).startswith(" 1 of 3 trained runs report their best-validation checkpoint (the best "
                                            "target_hit@10 over 4 evenly spaced checkpoints on 300 validation")


def test_held_parameters_are_named(tmp_path):
    pinned = make_record(method="nll-grpo", variant={"lam": 0.1}, tuning={**STUDY, "held": {"lam": 0.1}})
    runs = _experiment(tmp_path, make_record(method="dpo", tuning=STUDY), pinned)
    assert tuning_note(runs).endswith("(smoke/tuning/synthetic.json). Rows whose variant fixes a tuned parameter "
                                      "keep it (lam = 0.1) and take the study's other choices.")
