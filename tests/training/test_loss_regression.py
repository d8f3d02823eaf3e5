"""Regression: replay the per-step training losses of every registered method against stored values.

From a tiny SFT checkpoint, each method trains 6 steps on the tiny preference examples; its loss curve must
equal the stored one within per-step tolerances derived from a measured spread (tests/training/loss_replay.py,
which also regenerates the file: ``tox -e regen-losses``). The replay runs in a fresh process under the
``portable`` determinism mode, so the stored bits hold on any x86 CPU with AVX2, whatever its widest ISA, its
thread count or its load (under the default mode eg-grpo's curve moved by 6.5% between an AVX-512 and an AVX2
CPU). A second test shows the tolerances are tight: a 10% change of the learning rate moves every method's
curve outside them.
"""

from __future__ import annotations

import json
import platform

import pytest

from benchmark import determinism_study
from benchmark.methods import method_names
from tests.training.loss_replay import LR, REPLAY_MODE, STORED, replay_in_subprocess, tolerances

REGENERATE = "regenerate with `tox -e regen-losses` and review the diff"

pytestmark = pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or not determinism_study.host_supports("avx2"),
    reason=f"the stored losses are {REPLAY_MODE}-mode bits (AVX2 kernels); this CPU is not x86 with AVX2",
)


@pytest.fixture(scope="module")
def stored() -> dict:
    return json.loads(STORED.read_text())


@pytest.fixture(scope="module")
def replayed() -> dict:
    return replay_in_subprocess(lr=LR)


def _outside(curve: list[float], expected: list[float], bounds: list[float]) -> list[int]:
    """Steps whose loss differs from the expected one by more than that step's relative bound."""
    return [step for step, (got, want, rel) in enumerate(zip(curve, expected, bounds, strict=True))
            if abs(got - want) > rel * abs(want) + 1e-9]


def test_the_replay_ran_under_the_pinned_kernels(replayed, stored) -> None:
    settings = replayed["settings"]
    assert settings["mode"] == REPLAY_MODE and settings["env_before_torch"]
    assert (settings["aten_cpu_capability"], settings["torch_threads"], settings["MKL_CBWR"]) == (
        "AVX2", 1, "AVX2,STRICT")
    assert stored["environment"]["settings"]["mode"] == REPLAY_MODE, f"stored under another mode: {REGENERATE}"


def test_per_step_losses_match_the_stored_values(stored, replayed) -> None:
    assert sorted(method_names()) == sorted(stored["losses"]), f"a method was added or removed: {REGENERATE}"
    assert sorted(replayed["curves"]) == sorted(stored["losses"])
    bounds = tolerances(stored)
    running = {**replayed["versions"], "aten_cpu_capability": replayed["settings"]["aten_cpu_capability"]}
    for name, curve in replayed["curves"].items():
        steps = _outside(curve, stored["losses"][name], bounds)
        assert not steps, (
            f"{name}: losses at steps {steps} moved beyond their tolerances {bounds} (10x the spread measured "
            f"across thread counts, at least {bounds and min(bounds):.0e}): got {curve}, stored "
            f"{stored['losses'][name]} under {stored['environment']}, replayed under {running}. If the package "
            f"versions differ, install from requirements/lock.txt; if the change is deliberate, {REGENERATE}."
        )


def test_the_tolerances_catch_a_ten_percent_change_of_the_learning_rate(stored) -> None:
    bounds = tolerances(stored)
    curves = replay_in_subprocess(lr=1.1 * LR)["curves"]
    missed = [name for name, curve in curves.items() if not _outside(curve, stored["losses"][name], bounds)]
    assert not missed, f"a 10% learning-rate change stays within the stored tolerances for {missed}"
