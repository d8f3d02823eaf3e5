"""Snapshots for validation curves: saving them changes nothing in training, they are kept after the run, and
a finished run that lacks the ones asked for says so instead of silently reporting another checkpoint."""

from __future__ import annotations

import pytest
import torch

from benchmark.errors import ArtifactMismatchError, ConfigError
from benchmark.methods import get_method
from benchmark.training import checkpoint as ckpt
from benchmark.training import load_checkpoint, train
from tests.training.conftest import quick_config, state_dict_of, xs_model

SFT = get_method("sft")


def _train(tokenizer, examples, out, **kwargs):
    model = xs_model(tokenizer)
    result = train(SFT, SFT.config_cls(), model, tokenizer, examples, quick_config(steps=4), out, **kwargs)
    return model, result


def test_snapshots_are_kept_and_change_nothing(tmp_path, tokenizer, sft_examples):
    plain, _ = _train(tokenizer, sft_examples, tmp_path / "plain")
    snapped, result = _train(tokenizer, sft_examples, tmp_path / "snapped", snapshot_steps=(2, 4))
    for name, value in state_dict_of(plain).items():
        assert torch.equal(value, state_dict_of(snapped)[name]), name  # bitwise: saving is not training
    assert sorted(result.snapshots) == [2, 4]
    assert result.snapshots[4] == result.checkpoint_dir  # the last step's snapshot is the final model
    assert result.snapshots[2] == ckpt.snapshot_path(tmp_path / "snapped", 2)
    assert not (tmp_path / "snapped" / ckpt.CHECKPOINTS_DIR).exists()  # intermediates gone, snapshots kept
    # the step-2 snapshot is the model of a 4-step run after 2 steps, not the model of a 2-step run
    two_of_four = load_checkpoint(result.snapshots[2])
    assert not all(torch.equal(v, state_dict_of(snapped)[k]) for k, v in two_of_four.state_dict().items())
    assert ckpt.read_metadata(result.snapshots[2])["training"]["step"] == 2


def test_a_finished_run_returns_its_snapshots(tmp_path, tokenizer, sft_examples):
    _, first = _train(tokenizer, sft_examples, tmp_path / "run", snapshot_steps=(1, 3))
    _, again = _train(tokenizer, sft_examples, tmp_path / "run", snapshot_steps=(1, 3))
    assert again.snapshots == first.snapshots == {1: ckpt.snapshot_path(tmp_path / "run", 1),
                                                  3: ckpt.snapshot_path(tmp_path / "run", 3),
                                                  4: first.checkpoint_dir}


def test_a_finished_run_without_the_snapshots_asked_for_refuses(tmp_path, tokenizer, sft_examples):
    _train(tokenizer, sft_examples, tmp_path / "run")
    with pytest.raises(ArtifactMismatchError, match=r"without the snapshots at steps \[2\]"):
        _train(tokenizer, sft_examples, tmp_path / "run", snapshot_steps=(2,))


@pytest.mark.parametrize("steps", [(0,), (5,), (True,), (1.5,)])
def test_snapshot_steps_outside_the_run_are_refused(tmp_path, tokenizer, sft_examples, steps):
    with pytest.raises(ConfigError, match=r"snapshot_steps must hold optimizer steps in \[1, steps=4\]"):
        _train(tokenizer, sft_examples, tmp_path / "run", snapshot_steps=steps)
