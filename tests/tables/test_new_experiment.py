"""Adding an experiment is one module with one registration: a toy experiment, registered once, is accepted by
the profile, expanded into runs, accepted by the results writer and rendered by ``grbench tables``."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.config import ConfigError
from benchmark.experiments import Experiment, experiment_names, register_experiment, unregister_experiment
from benchmark.registry import UnknownNameError
from benchmark.results import RunValidationError
from benchmark.suite.matrix import RunSpec, expand, spec_for
from benchmark.suite.profiles import Profile, load_profile
from benchmark.tables import build_table, render_all, table_names
from benchmark.tables.collect import ExperimentRuns
from benchmark.tables.markers import SignificanceConfig
from benchmark.tables.render import Table
from benchmark.tables.table1 import build_methods_table
from tests.results.factory import make_record, store_run
from tests.tables.tiny_results import TABLE1_OFFSETS, per_query

TOY = "toy"


def toy_runs(profile: Profile, seed: int) -> list[RunSpec]:
    """SFT and DPO with half the preference data (a swept factor, so the runs get a variant)."""
    return [spec_for(profile, TOY, m, seed, preference_fraction=0.5, variant={"preference_fraction": 0.5})
            for m in ("sft", "dpo")]


def toy_table(experiment: ExperimentRuns, significance: SignificanceConfig, paper_dir: Path | None) -> Table:
    return build_methods_table(experiment, name=TOY, title="Toy experiment", significance=significance)


@pytest.fixture
def toy_experiment():
    """A registered toy experiment, unregistered afterwards so that no other test sees it."""
    register_experiment(Experiment(TOY, "a toy", toy_runs, toy_table))
    yield TOY
    unregister_experiment(TOY)


def test_registered_experiment_is_listed_and_expanded(toy_experiment) -> None:
    assert experiment_names()[-1] == table_names()[-1] == TOY
    profile = load_profile("smoke", [f"experiments=[{TOY}, table1]"])  # validated like any experiment
    specs = expand(profile)
    toy = [s for s in specs if s.experiment == TOY]
    assert [s.experiment for s in specs[: len(toy)]] == [TOY] * len(toy)  # the profile's order
    assert {s.method for s in toy} == {"sft", "dpo"}
    assert len(toy) == 2 * len(profile.seeds)
    assert all(s.run_id.startswith(f"{TOY}-") and s.preference_fraction == 0.5 for s in toy)
    assert expand(profile, only=("table1",)) == [s for s in specs if s.experiment == "table1"]


def test_registered_experiment_is_rendered(toy_experiment, tmp_path) -> None:
    for method in ("sft", "dpo"):
        for seed in (0, 1):
            store_run(tmp_path, make_record(method=method, seed=seed, experiment=TOY), per_query(TABLE1_OFFSETS[method], seed))
    summary = render_all(tmp_path / "smoke", tmp_path / "out")
    assert [r.name for r in summary.rendered] == [TOY]
    assert (tmp_path / "out" / f"{TOY}.md").read_text().startswith("#")
    assert "Toy experiment" in (tmp_path / "out" / "README.md").read_text()


def test_unknown_experiment_is_refused(tmp_path) -> None:
    assert TOY not in experiment_names()
    with pytest.raises(ConfigError, match="experiments"):
        load_profile("smoke", [f"experiments=[{TOY}]"])
    with pytest.raises(RunValidationError, match=f"Unknown experiment '{TOY}'"):
        store_run(tmp_path, make_record(experiment=TOY), per_query(TABLE1_OFFSETS["sft"], 0))
    with pytest.raises(UnknownNameError, match="Did you mean 'table1'"):
        build_table("tabel1", ExperimentRuns("tabel1", []), SignificanceConfig())


def test_duplicate_experiment_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_experiment(Experiment("table1", "again", toy_runs, toy_table))
