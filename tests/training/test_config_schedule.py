"""TrainConfig validation and the learning-rate schedule (hand-computed golden values)."""

from __future__ import annotations

import math

import pytest
import torch

from benchmark.config import from_dict
from benchmark.errors import ConfigError
from benchmark.training import TrainConfig, build_scheduler, lr_multiplier


def test_config_defaults_are_valid_and_frozen():
    config = TrainConfig()
    assert config.max_candidates == 16
    with pytest.raises(AttributeError):
        config.lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("steps", 0, "The 'steps' parameter of TrainConfig must be an int in the range [1, inf). Got 0 instead."),
        ("lr", -1.0, "The 'lr' parameter of TrainConfig must be a float in the range (0, inf). Got -1.0 instead."),
        ("schedule", "step", "The 'schedule' parameter of TrainConfig must be one of ['cosine', 'linear', 'constant']. Got 'step' instead."),
        ("max_candidates", 1, "The 'max_candidates' parameter of TrainConfig must be an int in the range [2, inf). Got 1 instead."),
        ("batch_size", 2.5, "The 'batch_size' parameter of TrainConfig must be an int in the range [1, inf). Got 2.5 instead."),
    ],
)
def test_config_rejects_out_of_range_values_with_a_named_message(key, value, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**{key: value})
    assert str(info.value) == message


def test_config_cross_field_checks():
    with pytest.raises(ConfigError, match="'warmup_steps'.*steps=10.*Got 11"):
        TrainConfig(steps=10, warmup_steps=11)
    with pytest.raises(ConfigError, match="'grad_accum'.*batch_size=4.*Got 8"):
        TrainConfig(batch_size=4, grad_accum=8)


def test_config_from_dict_rejects_unknown_keys_with_a_suggestion():
    with pytest.raises(ConfigError, match="Did you mean 'warmup_steps'"):
        from_dict(TrainConfig, {"warmup_step": 3})
    assert from_dict(TrainConfig, {"lr": 1}).lr == 1.0


# Golden values, by hand: steps T = 10, warm-up W = 2.
#   i = 0, 1  -> (i + 1) / 2 = 0.5, 1.0
#   i = 2     -> p = 0      -> cosine 1, linear 1
#   i = 6     -> p = 4 / 8  -> cosine (1 + cos(pi / 2)) / 2 = 0.5, linear 0.5
#   i = 9     -> p = 7 / 8  -> cosine (1 + cos(7 pi / 8)) / 2 = 0.0380602337, linear 0.125
@pytest.mark.parametrize(
    ("schedule", "index", "expected"),
    [
        ("cosine", 0, 0.5), ("cosine", 1, 1.0), ("cosine", 2, 1.0), ("cosine", 6, 0.5),
        ("cosine", 9, 0.0380602337443566),
        ("linear", 0, 0.5), ("linear", 2, 1.0), ("linear", 6, 0.5), ("linear", 9, 0.125),
        ("constant", 0, 0.5), ("constant", 5, 1.0), ("constant", 9, 1.0),
    ],
)
def test_lr_multiplier_golden_values(schedule, index, expected):
    assert lr_multiplier(index, 10, 2, schedule) == pytest.approx(expected, abs=1e-12)


def test_lr_multiplier_min_ratio_and_no_warmup():
    # m = 0.1, p = 0.5: 0.1 + 0.9 * 0.5 = 0.55 for both decays; no warm-up: full lr at the first update.
    assert lr_multiplier(6, 10, 2, "cosine", 0.1) == pytest.approx(0.55)
    assert lr_multiplier(6, 10, 2, "linear", 0.1) == pytest.approx(0.55)
    assert lr_multiplier(0, 10, 0, "cosine") == 1.0
    assert lr_multiplier(0, 1, 0, "cosine") == 1.0  # a one-step budget is not spent at lr 0


def test_scheduler_drives_the_optimizer_with_the_multipliers():
    config = TrainConfig(steps=10, warmup_steps=2, lr=0.2, schedule="cosine")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=config.lr)
    scheduler = build_scheduler(optimizer, config)
    seen = []
    for _ in range(config.steps):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [0.2 * lr_multiplier(i, 10, 2, "cosine") for i in range(10)]
    assert seen == pytest.approx(expected, abs=1e-15)
    assert seen[:3] == pytest.approx([0.1, 0.2, 0.2])
    assert all(a >= b for a, b in zip(seen[2:], seen[3:]))  # monotone decay after warm-up
    assert min(seen) > 0 and math.isclose(seen[-1], 0.2 * 0.0380602337443566, rel_tol=1e-9)
