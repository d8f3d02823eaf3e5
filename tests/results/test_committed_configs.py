"""Every committed run stores its resolved configuration, and is filed under the key that hashes it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from benchmark.artifacts import hash_json
from benchmark.config import from_dict
from benchmark.methods import get_method
from benchmark.suite.untrained import NoConfig, is_untrained

RESULTS = Path(__file__).resolve().parents[2] / "results"
RUNS = sorted(RESULTS.glob("*/runs/*/run.json"))


@pytest.mark.parametrize("path", RUNS or [None], ids=[f"{p.parent.parent.parent.name}/{p.parent.name}" for p in RUNS]
                         or ["none"])
def test_committed_run_stores_the_resolved_configuration(path: Path | None) -> None:
    if path is None:
        pytest.skip("no committed runs")
    run = json.loads(path.read_text())
    config = run["config"]
    # a run that trains nothing (a non-learned baseline, the SFT start) has the empty NoConfig
    method = NoConfig if is_untrained(run["method"]) else get_method(run["method"]).config_cls
    # every field of the method's config is recorded (DPO's beta, SimPO's gamma, ...), and it resolves as stored
    assert set(config["method_config"]) == {f.name for f in dataclasses.fields(method)}
    from_dict(method, config["method_config"])
    for section in ("data", "sids", "model", "sft", "preference", "eval"):
        assert config[section], section
    assert config["sft"]["seed"] == config["preference"]["seed"] == run["seed"]
    assert run["compute_key"] == hash_json(config)  # the key is the hash of what run.json shows
    assert run["run_id"] == path.parent.name == (
        f"{run['experiment']}-{run['method']}-seed{run['seed']}-{hash_json([run['experiment'], run['compute_key']], 10)}"
    )
