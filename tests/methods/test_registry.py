"""The method registry and contract: names, flags, duplicates, typos, lazy built-in loading, configs."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import torch

from benchmark.config import from_dict
from benchmark.errors import ConfigError
from benchmark.methods import Method, get_method, method_names, register_method
from benchmark.registry import UnknownNameError
from tests.methods.batches import hand_batch

EXPECTED = ["adagrpo", "dpo", "eg-grpo", "grpo", "nll-grpo", "orpo", "raddpo", "raddpo-no-mlsft", "raddpo-no-rdrw",
            "raddpo-no-tlgd", "raddpo-sdpo", "raddpo-sdpo-no-mlsft", "raddpo-sdpo-no-rdrw", "raddpo-sdpo-no-tlgd",
            "sdpo", "sft", "simpo"]

ROLLOUT_METHODS = ["adagrpo", "eg-grpo", "grpo", "nll-grpo"]


def test_every_method_of_the_contract_is_registered() -> None:
    assert method_names() == EXPECTED


def test_flags_tell_the_trainer_what_to_compute() -> None:
    flags = {
        name: (m.needs_reference, m.needs_hidden, m.needs_negatives, m.make_state is not None)
        for name in EXPECTED
        for m in [get_method(name)]
    }
    assert flags == {
        "sft": (False, False, False, False),
        "dpo": (True, False, True, False),
        "simpo": (False, False, True, False),
        "orpo": (False, False, True, False),
        "raddpo": (False, True, True, True),
        "raddpo-no-tlgd": (False, True, True, True),
        "raddpo-no-rdrw": (False, False, True, True),
        "raddpo-no-mlsft": (False, True, True, True),
        "raddpo-sdpo": (False, True, True, True),
        "raddpo-sdpo-no-tlgd": (False, True, True, True),
        "raddpo-sdpo-no-rdrw": (False, False, True, True),
        "raddpo-sdpo-no-mlsft": (False, True, True, True),
        "sdpo": (True, False, True, False),
        **{name: (True, False, False, False) for name in ROLLOUT_METHODS},
    }
    assert [name for name in EXPECTED if get_method(name).needs_rollouts] == ROLLOUT_METHODS


def test_ablation_configs_fix_their_flag() -> None:
    defaults = {name: get_method(name).config_cls() for name in EXPECTED if name.startswith("raddpo")}
    assert [(c.tlgd, c.rdrw, c.multi_label_sft) for c in defaults.values()] == [
        (True, True, True),  # raddpo
        (True, True, False),  # no-mlsft
        (True, False, True),  # no-rdrw
        (False, True, True),  # no-tlgd
    ] * 2  # as printed, then as cited (raddpo-sdpo-*)
    assert get_method("raddpo-no-rdrw").make_state(defaults["raddpo-no-rdrw"]) is None
    with pytest.raises(
        ConfigError,
        match=r"The 'tlgd' parameter of RadDpoNoTlgdConfig must be one of \[False\]\. Got True instead\.",
    ):
        get_method("raddpo-no-tlgd").config_cls(tlgd=True)


def test_registry_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="method 'sft' is already registered"):
        register_method(get_method("sft"))


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(
        UnknownNameError, match=r"Unknown method 'simpoo'\. Did you mean 'simpo'(, 'sdpo')?\?.*Available: adagrpo, dpo"
    ):
        get_method("simpoo")
    with pytest.raises(UnknownNameError, match="Did you mean 'raddpo-no-tlgd'"):
        get_method("raddpo-no-tgld")


def test_method_record_is_validated() -> None:
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        pass

    def objective(batch, config, state):
        return batch.token_logps.sum((1, 2)), {}

    with pytest.raises(ValueError, match="non-empty string"):
        Method(name=" ", description="", citation="", config_cls=Cfg, objective=objective)
    with pytest.raises(ValueError, match="config_cls must be a dataclass"):
        Method(name="x", description="", citation="", config_cls=dict, objective=objective)
    with pytest.raises(ValueError, match="objective must be callable"):
        Method(name="x", description="", citation="", config_cls=Cfg, objective=None)
    with pytest.raises(TypeError):
        register_method("sft")


@pytest.mark.parametrize(
    "first_import",
    [
        "from benchmark.methods import method_names",  # the registry first: loads built-ins lazily
        "import raddpo.weighting; import baselines.dpo; from benchmark.methods import method_names",
    ],
)
def test_builtins_load_lazily_whatever_is_imported_first(first_import: str) -> None:
    code = f"{first_import}; print(','.join(method_names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().split(",") == EXPECTED


def test_configs_validate_with_named_parameter_range_and_value() -> None:
    cases = [
        (
            "dpo",
            {"beta": 0},
            r"The 'beta' parameter of DpoConfig must be a float in the range \(0, inf\)\. Got 0 instead\.",
        ),
        (
            "simpo",
            {"gamma": -1.0},
            r"The 'gamma' parameter of SimPoConfig must be a float in the range \[0, inf\)\. Got -1.0 instead\.",
        ),
        ("orpo", {"lam": "x"}, r"The 'lam' parameter of OrpoConfig must be a float"),
        ("raddpo", {"beta": -2.0}, r"The 'beta' parameter of RadDpoConfig"),
        (
            "raddpo",
            {"tlgd": 1},
            r"The 'tlgd' parameter of RadDpoConfig must be one of \[True, False\]\. Got 1 instead\.",
        ),
        (
            "raddpo",
            {"cache_size": 0},
            r"The 'cache_size' parameter of RadDpoConfig must be an int in the range \[1, inf\)",
        ),
        ("raddpo", {"update_every": 2.5}, r"The 'update_every' parameter of RadDpoConfig must be an int"),
    ]
    for name, kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            get_method(name).config_cls(**kwargs)


def test_configs_load_from_mappings_and_reject_unknown_keys() -> None:
    config = from_dict(get_method("raddpo").config_cls, {"beta": 2, "rdrw": False})
    assert config.beta == 2.0 and config.rdrw is False
    with pytest.raises(ConfigError, match="Unknown configuration key 'bta'.*Did you mean 'beta'"):
        from_dict(get_method("raddpo").config_cls, {"bta": 1.0})
    with pytest.raises(ConfigError, match="FIXED_FLAGS|Unknown configuration key"):
        from_dict(get_method("raddpo").config_cls, {"FIXED_FLAGS": {}})


def test_default_configs_are_frozen_documented_dataclasses() -> None:
    for name in EXPECTED:
        method = get_method(name)
        assert method.citation and method.description and method.config_cls.__doc__
        config = method.config_cls()
        assert config == method.config_cls() and hash(config) == hash(method.config_cls())
        for field in dataclasses.fields(config):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(config, field.name, getattr(config, field.name))


def test_candidate_batch_names_a_misshapen_field() -> None:
    batch = hand_batch()
    with pytest.raises(ValueError, match=r"CandidateBatch\.cand_mask must have shape \(2, 4\); got \(2, 3\)"):
        dataclasses.replace(batch, cand_mask=batch.cand_mask[:, :3])
    with pytest.raises(ValueError, match="eos_hidden"):
        dataclasses.replace(batch, eos_hidden=torch.zeros(2, 3, 2))


def test_every_method_declares_its_family() -> None:
    families = {name: get_method(name).family for name in method_names()}
    assert families["sft"] == "sft"
    assert {n for n, f in families.items() if f == "reward"} == set(ROLLOUT_METHODS)
    assert all(f == "dpo" for n, f in families.items() if n not in {"sft", *ROLLOUT_METHODS})
    with pytest.raises(ValueError, match="family must be one of"):
        dataclasses.replace(get_method("dpo"), family="bandits")
