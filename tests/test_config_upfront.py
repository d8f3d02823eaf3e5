"""Every key and value of a profile (and of `grbench train` / `grbench eval` settings) is validated when it is
loaded, through the real CLI, before any data is built or anything is trained (audit defect D2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *overrides: str) -> tuple[int, str, str]:
    argv = ["run", "--profile", "quick", "--dry-run", "--results", str(tmp_path / "results")]
    for override in overrides:
        argv += ["--set", override]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# (overrides, fragments the message must hold: the key, the nearest valid key or the allowed range, the value)
TYPOS = {
    "method": (["methods={dpo: {bta: 0.5}}"], ["'methods.dpo.bta'", "Did you mean 'beta'"]),
    "eval": (["eval.beam_widht=64"], ["'eval.beam_widht'", "Did you mean 'beam_width'"]),
    "sft": (["sft.stpes=3"], ["'sft.stpes'", "Did you mean 'steps'"]),
    "data": (["data.clicks.etaa=2.0"], ["'data.clicks.etaa'", "Did you mean 'eta'"]),
    "sids": (["sids.levles=2"], ["'sids.levles'", "Did you mean 'levels'"]),
    # the audit's exact command: the first typo is reported, before anything runs
    "audit": (["methods={dpo: {bta: 0.5}}", "eval.beam_widht=64"], ["'methods.dpo.bta'", "Did you mean 'beta'"]),
}

VALUES = {
    "beam_width=0": (["eval.beam_width=0"], ["eval.beam_width", "[1, inf)", "Got 0 instead"]),
    "beam_width=abc": (["eval.beam_width=abc"], ["eval.beam_width", "[1, inf)", "Got 'abc' instead"]),
    "size=xxl": (["model.size=xxl"], ["model.size", "['xs', 's', 'm', 'l']", "Got 'xxl' instead"]),
    "lr=-1": (["preference.lr=-1"], ["preference.lr", "(0, inf)", "Got -1.0 instead"]),
    "raddpo.beta=-1": (["methods.raddpo.beta=-1"], ["methods.raddpo.beta", "(0, inf)", "Got -1.0 instead"]),
    "max_queries=-3": (["eval.max_queries=-3"], ["eval.max_queries", "[1, inf)", "Got -3 instead"]),
    "seeds=abc": (["seeds=abc"], ["'seeds'", "list of non-negative ints", "Got 'abc' instead"]),
}

# Names and sweep values that land in a run's configs only through an experiment (quick lists table1 only:
# the other experiments' settings are validated all the same).
NAMES_AND_SWEEPS = {
    "method name": (["methods.dpoo.beta=1.0"], ["methods.dpoo", "Unknown method 'dpoo'", "Did you mean 'dpo'"]),
    "experiment method": (["table2.methods=[sft, dpoo]"], ["table2.methods", "Did you mean 'dpo'"]),
    "table1 method": (["table1.methods=[sft, raddpo-no-tgld]"], ["table1.methods", "Did you mean 'raddpo-no-tlgd'"]),
    "dataset name": (["datasets.primary=amazon18-scientifc"], ["datasets.primary", "'amazon18-scientific'"]),
    "dataset key": (["datasets.primery=synthetic"], ["'datasets.primery'", "Did you mean 'primary'"]),
    "table2 size": (["table2.sizes=[s, xxl]"], ["model.size", "Got 'xxl' instead", "table2"]),
    "noise level": (["noise.levels=[{eta: -1.0}]"], ["data.clicks.eta", "[0, inf)", "Got -1.0 instead", "noise"]),
    "fig2 budget": (["fig2.fractions=[0.01]"], ["preference.warmup_steps", "steps=1", "Got 6 instead", "fig2"]),
    "section type": (["eval=5"], ["'eval'", "mapping", "Got 5 instead"]),
    "method section type": (["methods.dpo=5"], ["methods.dpo", "mapping of DpoConfig", "Got 5 instead"]),
    "experiments string": (["experiments=table1"], ["'experiments'", "must be a list", "Got 'table1' instead"]),
}


@pytest.mark.parametrize("overrides, fragments", list(TYPOS.values()), ids=list(TYPOS))
def test_a_typo_in_any_section_fails_the_dry_run(capsys, tmp_path, overrides, fragments) -> None:
    code, out, err = _dry_run(capsys, tmp_path, *overrides)
    assert code == 2 and out == ""
    assert err.startswith("grbench run: error: Unknown configuration key")
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.mark.parametrize("overrides, fragments", list(VALUES.values()), ids=list(VALUES))
def test_a_bad_value_fails_the_dry_run_with_key_range_and_value(capsys, tmp_path, overrides, fragments) -> None:
    code, out, err = _dry_run(capsys, tmp_path, *overrides)
    assert code == 2 and out == ""
    assert err.startswith("grbench run: error: ")
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.mark.parametrize("overrides, fragments", list(NAMES_AND_SWEEPS.values()), ids=list(NAMES_AND_SWEEPS))
def test_names_and_sweeps_are_checked_up_front(capsys, tmp_path, overrides, fragments) -> None:
    code, out, err = _dry_run(capsys, tmp_path, *overrides)
    assert code == 2 and out == ""
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_valid_overrides_still_dry_run(capsys, tmp_path) -> None:
    code, out, err = _dry_run(capsys, tmp_path, "methods.raddpo.beta=2.0", "eval.beam_width=64", "seeds=[0, 1]")
    assert code == 0, err
    # Table 1's thirteen methods (the paper's eight, S-DPO, RAD-DPO as cited and its ablations) and five
    # untrained rows (four retrieval baselines, the SFT start); rl's five untrained rows and eight trained runs (five methods, three NLL-GRPO mixtures),
    # each also at its best-validation checkpoint; sids' six builders with the SFT start, continued SFT and
    # RAD-DPO each, and its four retrieval baselines on the cold-start split; two seeds. Run lines are
    # tab-separated (the cost estimate's lines are not).
    run_lines = [line for line in out.splitlines() if "\t" in line]
    assert len(run_lines) == (13 + 5 + 5 + 8 * 2 + 6 * 3 + 4) * 2


@pytest.mark.parametrize("directory, profile, protocol", [
    ("quick", "quick", 2), ("full", "full", 2), ("quick-protocol1", "quick", 1), ("full-protocol1", "full", 1),
])
def test_committed_run_ids_are_unchanged(capsys, directory, profile, protocol) -> None:
    """Committed results are filed under their run id: validating a profile must not change what is hashed,
    and protocol-1 results keep the ids they were computed under (``--set data.protocol=1`` finds them)."""
    runs = ROOT / "results" / directory / "runs"
    if not runs.is_dir():
        pytest.skip(f"no committed runs under results/{directory}")
    committed = {p.name for p in runs.iterdir() if (p / "run.json").is_file()}
    assert main(["run", "--profile", profile, "--set", f"data.protocol={protocol}", "--dry-run"]) == 0
    planned = {line.split("\t")[0] for line in capsys.readouterr().out.splitlines()}
    assert committed and committed <= planned, sorted(committed - planned)


@pytest.mark.parametrize("override, fragment", [
    ("eval.beam_widht=8", "Did you mean 'beam_width'"),
    ("methods.raddpo.beta=-1", "methods.raddpo.beta"),
])
def test_a_real_run_fails_before_building_or_training_anything(capsys, tmp_path, monkeypatch, override,
                                                               fragment) -> None:
    import benchmark.suite.runner as runner

    def forbidden(*args, **kwargs):
        raise AssertionError("the suite started building data before the profile was validated")

    cache = tmp_path / "cache"
    monkeypatch.setenv("GRBENCH_CACHE", str(cache))
    monkeypatch.setattr(runner, "run_suite", forbidden)
    results = tmp_path / "results"
    code = main(["run", "--profile", "smoke", "--results", str(results), "--set", override])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err, err
    assert not results.exists()
    assert not cache.exists() or not any(cache.rglob("*"))


def test_train_validates_every_section_before_building_data(capsys, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRBENCH_CACHE", str(cache))
    out = tmp_path / "out"
    base = ["train", "--dataset", "synthetic", "--method", "sft", "--out", str(out), "--steps", "1"]
    cases = [
        (["--set", "model.size=xxl"], ["model.size", "Got 'xxl' instead"]),
        (["--set", "model.sise=xs"], ["'model.sise'", "Did you mean 'size'"]),
        (["--set", "sids.levles=2"], ["'sids.levles'", "Did you mean 'levels'"]),
        (["--set", "warmup_stpes=1"], ["'train.warmup_stpes'", "Did you mean 'warmup_steps'"]),
        (["--set", "data.clicks.eta=-1"], ["data.clicks.eta", "[0, inf)", "Got -1.0 instead"]),
        (["--set", "method=5"], ["'method' section", "Got 5 instead"]),
    ]
    for extra, fragments in cases:
        code = main([*base, *extra])
        err = capsys.readouterr().err
        assert code == 2, (extra, err)
        for fragment in fragments:
            assert fragment in err, (fragment, err)
    assert not out.exists()
    assert not cache.exists() or not any(cache.rglob("*"))


def test_eval_validates_its_settings_before_building_data(capsys, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRBENCH_CACHE", str(cache))
    base = ["eval", str(tmp_path / "no-checkpoint"), "--dataset", "synthetic", "--results", str(tmp_path / "r")]
    cases = [
        (["--beam-width", "0"], ["'beam_width'", "[1, inf)", "Got 0 instead"]),
        (["--max-queries", "-3"], ["'max_queries'", "[1, inf)", "Got -3 instead"]),
        (["--set", "sids.levles=2"], ["'sids.levles'", "Did you mean 'levels'"]),
        (["--set", "data.history_len=0"], ["data.history_len", "Got 0 instead"]),
    ]
    for extra, fragments in cases:
        code = main([*base, *extra])
        err = capsys.readouterr().err
        assert code == 2, (extra, err)
        for fragment in fragments:
            assert fragment in err, (fragment, err)
    assert not cache.exists() or not any(cache.rglob("*"))


def test_methods_option_takes_rows_that_train_nothing(capsys, tmp_path) -> None:
    """``--methods dense-dualtower`` adds one baseline to stored results; a typo names the baselines too."""
    base = ["run", "--profile", "quick", "--dry-run", "--results", str(tmp_path / "results"), "--only", "table1,rl"]
    assert main([*base, "--methods", "dense-dualtower,sft-start"]) == 0
    run_lines = [line for line in capsys.readouterr().out.splitlines() if "\t" in line]
    assert sorted(line.split("-seed")[0] for line in run_lines) == [
        "rl-dense-dualtower", "rl-sft-start", "table1-dense-dualtower", "table1-sft-start"]
    assert main([*base, "--methods", "dense-dualtowr"]) == 2
    err = capsys.readouterr().err
    assert "Unknown method 'dense-dualtowr'" in err and "Rows that train nothing: dense-dualtower" in err
