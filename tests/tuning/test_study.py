"""One study on its own (a synthetic objective, no training): seeded TPE is reproducible, the choice is the
best trial (the earliest among ties), and the study file is written atomically and read back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmark.errors import DataError
from benchmark.tuning import Range
from benchmark.tuning.study import choose, read_study, run_study, study_path, write_study

SPACE = {"beta": Range(0.01, 10.0, log=True), "gamma": Range(0.0, 2.0)}


def bowl(params: dict[str, float]) -> float:
    """A smooth objective with its maximum at beta = 1, gamma = 0.5."""
    return -math.log(params["beta"]) ** 2 - (params["gamma"] - 0.5) ** 2


def test_same_seed_same_trials_and_choice() -> None:
    # 14 trials: past optuna's 10 random start-up trials, so the TPE model itself is exercised.
    first = run_study(SPACE, bowl, 14, seed=3, direction="maximize")
    second = run_study(SPACE, bowl, 14, seed=3, direction="maximize")
    assert first == second
    assert choose(first, "maximize") == choose(second, "maximize")
    other = run_study(SPACE, bowl, 14, seed=4, direction="maximize")
    assert [t["params"] for t in other] != [t["params"] for t in first]
    for trial in first:
        assert SPACE["beta"].low <= trial["params"]["beta"] <= SPACE["beta"].high
        assert SPACE["gamma"].low <= trial["params"]["gamma"] <= SPACE["gamma"].high


def test_choice_is_the_best_and_the_earliest_among_ties() -> None:
    trials = [{"number": 0, "params": {"x": 1.0}, "score": 0.2},
              {"number": 1, "params": {"x": 2.0}, "score": 0.5},
              {"number": 2, "params": {"x": 3.0}, "score": 0.5},
              {"number": 3, "params": {"x": 4.0}, "score": 0.1}]
    assert choose(trials, "maximize") == {"trial": 1, "params": {"x": 2.0}, "score": 0.5}
    assert choose(trials, "minimize") == {"trial": 3, "params": {"x": 4.0}, "score": 0.1}
    with pytest.raises(DataError, match="no trial"):
        choose([], "maximize")


def test_non_finite_scores_are_refused() -> None:
    with pytest.raises(DataError, match="scored nan"):
        run_study(SPACE, lambda params: float("nan"), 2, seed=0, direction="maximize")


def test_study_file_round_trip_is_atomic(tmp_path: Path) -> None:
    path = study_path(tmp_path, "smoke", "synthetic")
    assert path == tmp_path / "smoke" / "tuning" / "synthetic.json"
    assert read_study(path) is None
    trials = run_study(SPACE, bowl, 3, seed=0, direction="maximize")
    write_study(path, "smoke", "synthetic", {"dpo": {"trials": trials, "chosen": choose(trials, "maximize")}})
    data = read_study(path)
    assert data["split"] == "valid" and data["methods"]["dpo"]["trials"] == trials
    assert [p.name for p in path.parent.iterdir()] == ["synthetic.json"]  # no temporary file left behind
    path.write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(DataError, match="not a version-1 study file"):
        read_study(path)
    path.write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        read_study(path)


class Interrupted(Exception):
    """Stands for a killed process: raised by the objective at a chosen trial."""


def _interrupted_at(stop: int) -> list[dict]:
    """The trials a study stored (through ``on_trial``) before the objective failed at trial ``stop``."""
    stored: list[dict] = []

    def objective(params: dict[str, float]) -> float:
        if len(stored) == stop:
            raise Interrupted
        return bowl(params)

    def on_trial(trials: list[dict]) -> None:
        stored[:] = [dict(t, stored=True) for t in trials]

    with pytest.raises(Interrupted):
        run_study(SPACE, objective, 14, seed=3, direction="maximize", on_trial=on_trial)
    return stored


@pytest.mark.parametrize("stop", [4, 12])  # within optuna's 10 random start-up trials, and past them (TPE model)
def test_a_resumed_study_asks_and_chooses_what_an_uninterrupted_one_does(stop: int) -> None:
    straight = run_study(SPACE, bowl, 14, seed=3, direction="maximize")
    stored = _interrupted_at(stop)
    assert [t["number"] for t in stored] == list(range(stop))
    scored = []

    def counting(params: dict[str, float]) -> float:
        scored.append(params)
        return bowl(params)

    resumed = run_study(SPACE, counting, 14, seed=3, direction="maximize", done=stored)
    assert [{k: t[k] for k in ("number", "params", "score")} for t in resumed] == straight
    assert scored == [t["params"] for t in straight[stop:]]  # the stored trials were told again, not re-scored
    assert all(t.get("stored") for t in resumed[:stop]) and not any(t.get("stored") for t in resumed[stop:])
    assert choose(resumed, "maximize") == choose(straight, "maximize")


def test_stored_trials_the_sampler_does_not_ask_are_scored_afresh(caplog: pytest.LogCaptureFixture) -> None:
    straight = run_study(SPACE, bowl, 6, seed=3, direction="maximize")
    stored = [dict(t) for t in straight[:4]]
    stored[2] = {**stored[2], "params": {"beta": 5.0, "gamma": 1.0}}  # from another sampler or space
    scored = []

    def counting(params: dict[str, float]) -> float:
        scored.append(params)
        return bowl(params)

    resumed = run_study(SPACE, counting, 6, seed=3, direction="maximize", done=stored)
    assert resumed == straight
    assert scored == [t["params"] for t in straight[2:]]  # trial 2 and every trial after it, trial 3 included
    assert "stored trial 2 has {'beta': 5.0, 'gamma': 1.0} where the sampler asks" in caplog.text
