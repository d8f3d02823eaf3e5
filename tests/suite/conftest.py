"""Fixtures shared by the suite's end-to-end tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmark.suite.profiles import load_profile
from benchmark.suite.runner import run_suite


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The complete smoke suite, run once per session (its own cache, like a fresh machine)."""
    root = tmp_path_factory.mktemp("smoke-results")
    cache = tmp_path_factory.mktemp("smoke-cache")
    old = os.environ.get("GRBENCH_CACHE")
    os.environ["GRBENCH_CACHE"] = str(cache)
    try:
        summary = run_suite(load_profile("smoke"), root)
    finally:
        if old is None:
            os.environ.pop("GRBENCH_CACHE", None)
        else:
            os.environ["GRBENCH_CACHE"] = old
    assert summary.executed + summary.reused == summary.planned
    return root / "smoke"
