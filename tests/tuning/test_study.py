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
