"""Shared fixtures. Tests that need the public data read it through the same option users set:
``GRBENCH_DATA`` (CI points it at ../shared/data); they are skipped with a reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# CI passes GRBENCH_DATA as a path relative to the project root; make it absolute once so tests that change
# directory or spawn subprocesses see the same data.
if os.environ.get("GRBENCH_DATA"):
    os.environ["GRBENCH_DATA"] = str(Path(os.environ["GRBENCH_DATA"]).resolve())


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets a private cache so tests never share or pollute built artifacts."""
    monkeypatch.setenv("GRBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def public_data_dir() -> Path:
    value = os.environ.get("GRBENCH_DATA")
    if not value or not Path(value).is_dir():
        pytest.skip("public data not available: set GRBENCH_DATA to the data directory (CI sets ../shared/data)")
    return Path(value)
