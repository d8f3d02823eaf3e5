"""Search spaces: declared beside every method's config, validated, and errors that name the method, the
parameter, the allowed range and the value."""

from __future__ import annotations

import dataclasses

import pytest

from baselines.dpo import DpoConfig
from benchmark.config import ConfigError
from benchmark.methods import get_method, method_names
from benchmark.tuning import LEARNING_RATE, Range, check_params, search_space
from benchmark.tuning.apply import apply_params
from benchmark.tuning.space import split_params


def test_every_method_declares_the_issue_s_search_space() -> None:
    spaces = {name: sorted(search_space(name)) for name in method_names()}
    expected = {"sft": ["lr"], "dpo": ["beta", "lr"], "simpo": ["beta", "gamma", "lr"], "orpo": ["lam", "lr"],
                "sdpo": ["beta", "lr"], "nll-grpo": ["beta", "lam", "lr"],
                "adagrpo": ["beta", "discrimination_threshold", "lam", "lr"]}
    for name, params in spaces.items():
        assert params == expected.get(name, ["beta", "lr"]), name  # every RAD-DPO variant: beta, lr
    assert search_space("raddpo") == search_space("raddpo-sdpo-no-rdrw")  # one space for every variant


def test_the_space_is_not_a_setting() -> None:
    # A ClassVar: not a field, so it is not in resolved configs and changes no run key.
    for name in method_names():
        fields = {f.name for f in dataclasses.fields(get_method(name).config_cls)}
        assert "SEARCH_SPACE" not in fields and LEARNING_RATE not in fields


def test_out_of_range_value_names_method_parameter_range_and_value() -> None:
    with pytest.raises(ConfigError, match=r"The 'beta' parameter of method 'dpo' must be a float in the search "
                                          r"range \[0\.01, 1\] \(log scale\)\. Got 5\.0 instead\."):
        check_params("dpo", {"beta": 5.0})
    with pytest.raises(ConfigError, match=r"The 'lr' parameter of method 'raddpo-sdpo' must be a float in the "
                                          r"search range \[1e-06, 0\.001\] \(log scale\)\. Got 0\.5 instead\."):
        check_params("raddpo-sdpo", {"lr": 0.5})
    with pytest.raises(ConfigError, match=r"The 'gamma' parameter of method 'simpo' .* \[0, 4\]\. Got True"):
        check_params("simpo", {"gamma": True})


def test_unknown_parameter_suggests_the_close_one() -> None:
    with pytest.raises(ConfigError, match=r"Unknown search-space parameter 'betta' for method 'orpo'\. "
                                          r"Allowed: lam, lr\."):
        check_params("orpo", {"betta": 0.1})
    with pytest.raises(ConfigError, match=r"Unknown search-space parameter 'lam' for method 'dpo'\.( Did.*)? "
                                          r"Allowed: beta, lr\."):
        check_params("dpo", {"lam": 0.1})


def test_bad_declarations_name_the_method(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DpoConfig, "SEARCH_SPACE", {"betta": Range(0.1, 1.0)})
    with pytest.raises(ConfigError, match=r"Method 'dpo' declares a search space over 'betta', which is neither "
                                          r"a parameter of DpoConfig \(beta\) nor 'lr'\."):
        search_space("dpo")
    monkeypatch.setattr(DpoConfig, "SEARCH_SPACE", {"beta": Range(-1.0, 1.0)})
    with pytest.raises(ConfigError, match=r"The search space of method 'dpo' over 'beta' \[-1, 1\] holds a value "
                                          r"its config refuses: The 'beta' parameter of DpoConfig"):
        search_space("dpo")
    monkeypatch.setattr(DpoConfig, "SEARCH_SPACE", {})
    with pytest.raises(ConfigError, match="Method 'dpo' declares no search space"):
        search_space("dpo")


def test_ranges_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"low < high\. Got \[1\.0, 1\.0\]"):
        Range(1.0, 1.0)
    with pytest.raises(ConfigError, match=r"log-scale Range needs low > 0\. Got \[0\.0, 1\.0\]"):
        Range(0.0, 1.0, log=True)
    with pytest.raises(ConfigError, match=r"The 'high' parameter of Range must be a finite float\. Got inf"):
        Range(0.0, float("inf"))


def test_params_land_in_the_method_config_and_the_preference_stage() -> None:
    from benchmark.suite.matrix import spec_for
    from benchmark.suite.profiles import load_profile

    profile = load_profile("smoke", ["seeds=[0]"])
    base = spec_for(profile, "table1", "raddpo", 0)
    tuned = apply_params(base, {"beta": 2.5, "lr": 1e-5})
    assert tuned.method_config == {**base.method_config, "beta": 2.5}  # the profile's cache_size is kept
    assert tuned.preference == {**base.preference, "lr": 1e-5}
    assert tuned.sft_config() == base.sft_config()  # the shared SFT checkpoint is the same
    assert tuned.compute_key != base.compute_key
    assert split_params({"lr": 1e-4}) == ({}, {"lr": 1e-4})


def test_a_parameter_pinned_by_the_variant_is_held_and_recorded(tmp_path) -> None:
    """The rl experiment's fixed NLL-GRPO mixtures (variant {"lam": 0.1}, ...), taken from the experiment itself,
    keep their lam under tuning.use, at the final and the best-validation checkpoint; the study's other choices
    apply and run.json records what was held. An unpinned nll-grpo run takes the study's lam."""
    from benchmark.experiments import rl
    from benchmark.suite.matrix import spec_for
    from benchmark.suite.profiles import load_profile
    from benchmark.tuning.apply import base_spec, tuned_specs
    from benchmark.tuning.study import study_path, write_study

    profile = load_profile("smoke", ["seeds=[0]", "tuning.use=true"])
    mixtures = [s for s in rl.runs(profile, 0) if s.method == "nll-grpo"]
    assert sorted({s.variant["lam"] for s in mixtures}) == [0.1, 0.5, 1.0] and len(mixtures) == 6
    unpinned = spec_for(profile, "rl", "nll-grpo", 0)
    chosen = {"beta": 0.02, "lam": 1.5, "lr": 3e-5}
    entry = {"base_key": base_spec(profile, unpinned.dataset, "nll-grpo").compute_key, "metric": "target_hit@10",
             "n_trials": 1, "trials": [{"number": 0, "params": chosen, "score": 0.5}],
             "chosen": {"trial": 0, "params": chosen, "score": 0.5}}
    write_study(study_path(tmp_path, profile.name, unpinned.dataset), profile.name, unpinned.dataset,
                {"nll-grpo": entry})

    tuned, *tuned_mixtures = tuned_specs([unpinned, *mixtures], profile, tmp_path)
    assert (tuned.method_config["lam"], tuned.method_config["beta"], tuned.preference["lr"]) == (1.5, 0.02, 3e-5)
    assert "held" not in tuned.tuning
    for before, after in zip(mixtures, tuned_mixtures, strict=True):
        lam = before.variant["lam"]
        assert (after.method_config["lam"], after.method_config["beta"], after.preference["lr"]) == (lam, 0.02, 3e-5)
        assert after.variant == before.variant and after.checkpoint == before.checkpoint
        assert after.tuning["held"] == {"lam": lam} and after.tuning["params"] == chosen
