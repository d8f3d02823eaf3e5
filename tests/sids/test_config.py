from __future__ import annotations

import pytest

from benchmark.config import from_dict, load_config
from benchmark.errors import ConfigError
from benchmark.sids import SidConfig


def test_defaults_follow_the_paper() -> None:
    config = SidConfig()
    assert config.levels == 3
    assert config.codebook_sizes is None
    assert config.encoder == "all-MiniLM-L6-v2"
    assert config.capacity_per_item == pytest.approx(8192 * 4096 * 2048 / 170e6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"levels": 0},
            "The 'levels' parameter of SidConfig must be an int in the range [1, 8]. Got 0 instead.",
        ),
        (
            {"seed": -1},
            "The 'seed' parameter of SidConfig must be an int in the range [0, inf). Got -1 instead.",
        ),
        ({"kmeans_iters": 0}, "'kmeans_iters' parameter of SidConfig"),
        ({"codebook_sizes": (8, 4)}, "must hold one size per level (levels=3). Got [8, 4] instead."),
        ({"codebook_sizes": (8, 1, 4)}, "list of ints >= 2. Got (8, 1, 4) instead."),
        (
            {"pooling": "max"},
            "The 'pooling' parameter of SidConfig must be one of ['mean', 'cls']. Got 'max' instead.",
        ),
        ({"encoder": " "}, "The 'encoder' parameter of SidConfig must be a non-empty string"),
        (
            {"capacity_per_item": 0.0},
            "'capacity_per_item' parameter of SidConfig must be a float in the range (0, inf)",
        ),
        ({"batch_size": True}, "'batch_size' parameter of SidConfig must be an int"),
    ],
)
def test_invalid_values_name_parameter_range_and_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        SidConfig(**kwargs)
    assert message in str(info.value)


def test_lists_from_yaml_become_tuples_and_unknown_keys_are_rejected() -> None:
    config = load_config(SidConfig, None, ["codebook_sizes=[16,8,4]", "seed=3"])
    assert config.codebook_sizes == (16, 8, 4) and config.seed == 3
    hash(config)  # frozen and hashable
    with pytest.raises(ConfigError, match="Did you mean 'levels'"):
        from_dict(SidConfig, {"level": 2})
