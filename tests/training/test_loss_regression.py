"""Regression: replay the per-step training losses of every registered method against stored values.

From the session's tiny SFT checkpoint, each method trains 6 steps on the tiny preference examples; the losses
of its loss curve must equal the stored ones (rtol 1e-4). The environment they were recorded in is stored
beside them. A deliberate change to a loss, the trainer or the model regenerates the file with
GRBENCH_UPDATE_REGRESSION=1 (and the diff is reviewed like code).
"""

from __future__ import annotations

import csv
import json
import os
import platform
from pathlib import Path

import pytest
import torch
import transformers

from benchmark.methods import get_method, method_names
from benchmark.training import load_checkpoint, train
from tests.training.conftest import quick_config

STORED = Path(__file__).with_name("regression_losses.json")
UPDATE = os.environ.get("GRBENCH_UPDATE_REGRESSION") == "1"


def _losses(name: str, out: Path, tokenizer, pref_examples, sft_checkpoint) -> list[float]:
    method = get_method(name)
    reference = load_checkpoint(sft_checkpoint) if method.needs_reference else None
    result = train(method, method.config_cls(), load_checkpoint(sft_checkpoint), tokenizer, pref_examples,
                   quick_config(steps=6, batch_size=4, lr=3e-3), out, reference_model=reference)
    with open(result.loss_curve, newline="") as handle:
        return [float(row["loss"]) for row in csv.DictReader(handle)]


def test_per_step_losses_match_the_stored_values(tmp_path, tokenizer, pref_examples, sft_checkpoint) -> None:
    got = {name: _losses(name, tmp_path / name, tokenizer, pref_examples, sft_checkpoint) for name in method_names()}
    if UPDATE:
        environment = {"torch": torch.__version__, "transformers": transformers.__version__,
                       "python": platform.python_version(), "machine": platform.machine(), "threads": 1}
        STORED.write_text(json.dumps({"environment": environment, "losses": got}, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"regenerated {STORED.name}")
    stored = json.loads(STORED.read_text())["losses"]
    assert sorted(got) == sorted(stored), "a method was added or removed: regenerate with GRBENCH_UPDATE_REGRESSION=1"
    for name, losses in got.items():
        assert losses == pytest.approx(stored[name], rel=1e-4, abs=1e-6), name
