"""Experiment rl (benchmark.experiments.rl): its runs in the profiles, one SFT checkpoint and one budget for all."""

from __future__ import annotations

import pytest

from benchmark.errors import ConfigError
from benchmark.suite.matrix import expand, resolve
from benchmark.suite.profiles import load_profile


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_rl_runs_every_method_and_one_mixture_per_lambda(profile: str) -> None:
    loaded = load_profile(profile)
    specs = [s for s in expand(loaded, only=("rl",)) if s.seed == loaded.seeds[0]]
    trained = [(m, None) for m in ("sft", "raddpo", "grpo", "eg-grpo", "adagrpo")] + [
        ("nll-grpo", lam) for lam in (0.1, 0.5, 1.0)]
    # the non-learned rows of Table 1, then every trained run at its final and its best-validation checkpoint
    assert sorted((s.method, s.variant.get("lam"), s.checkpoint) for s in specs) == sorted(
        [(m, None, "final") for m in loaded.table1.baselines]
        + [(m, lam, checkpoint) for m, lam in trained for checkpoint in ("final", "best")])
    for spec in specs:
        assert (spec.variant.get("checkpoint") == "best") == (spec.checkpoint == "best")
    for spec in specs:
        if spec.method == "nll-grpo":
            assert resolve(spec).method.lam == spec.variant["lam"]
    assert len({str(s.sft_config()) for s in specs}) == 1  # one SFT checkpoint
    assert len({str(s.preference) for s in specs}) == 1  # one preference budget
    assert len({s.run_id for s in specs}) == len(specs)


def test_rl_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="'mixtures' parameter of RlSettings"):
        load_profile("smoke", ["rl.mixtures=[-1]"])
    with pytest.raises(ConfigError, match=r"rl.methods.*Unknown method .grpoo."):
        load_profile("smoke", ["rl.methods=[grpoo]"])
