"""Regression: replay the per-step training losses of every registered method against stored values.

From the session's tiny SFT checkpoint, each method trains 6 steps on the tiny preference examples; its loss
curve must equal the stored one within per-step tolerances derived from the spread measured across 1, 2 and 4
threads under the locked versions (tests/training/loss_replay.py, which also regenerates the file:
``tox -e regen-losses``). A second test shows those tolerances are tight: a 10% change of the learning rate
moves every method's curve outside them.
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers

from benchmark.methods import method_names
from tests.training.loss_replay import LR, STORED, replay, tolerances

REGENERATE = "regenerate with `tox -e regen-losses` and review the diff"


@pytest.fixture(scope="module")
def stored() -> dict:
    return json.loads(STORED.read_text())


def _outside(curve: list[float], expected: list[float], bounds: list[float]) -> list[int]:
    """Steps whose loss differs from the expected one by more than that step's relative bound."""
    return [step for step, (got, want, rel) in enumerate(zip(curve, expected, bounds, strict=True))
            if abs(got - want) > rel * abs(want) + 1e-9]


def test_per_step_losses_match_the_stored_values(stored, tmp_path, tokenizer, pref_examples, sft_checkpoint) -> None:
    assert sorted(method_names()) == sorted(stored["losses"]), f"a method was added or removed: {REGENERATE}"
    running = {"torch": torch.__version__, "transformers": transformers.__version__}
    bounds = tolerances(stored)
    for name, curve in replay(method_names(), pref_examples, tokenizer, sft_checkpoint, tmp_path).items():
        steps = _outside(curve, stored["losses"][name], bounds)
        assert not steps, (
            f"{name}: losses at steps {steps} moved beyond their tolerances {bounds} (10x the spread measured "
            f"across thread counts): got {curve}, stored {stored['losses'][name]} under "
            f"{stored['environment']}, running {running}. If the versions differ, install from "
            f"requirements/lock.txt; if the change is deliberate, {REGENERATE}."
        )


def test_the_tolerances_catch_a_ten_percent_change_of_the_learning_rate(
    stored, tmp_path, tokenizer, pref_examples, sft_checkpoint
) -> None:
    bounds = tolerances(stored)
    curves = replay(method_names(), pref_examples, tokenizer, sft_checkpoint, tmp_path, lr=1.1 * LR)
    missed = [name for name, curve in curves.items() if not _outside(curve, stored["losses"][name], bounds)]
    assert not missed, f"a 10% learning-rate change stays within the stored tolerances for {missed}"
