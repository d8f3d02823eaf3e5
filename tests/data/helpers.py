"""Registering fixture copies of the registered formats as temporary datasets (real resolve/build/cache path)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmark.artifacts import cache_root, sha256_file
from benchmark.data import registry, sources
from benchmark.data.registry import DatasetSpec, RemoteFile

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS: dict[str, tuple[str, Callable]] = {
    "scientific": ("fixture-scientific", sources.amazon18_scientific),
    "games": ("fixture-games", sources.amazon18_games),
    "office": ("fixture-office", sources.amazon14_office),
}


def copy_fixture(fmt: str, data_dir: Path) -> Path:
    """Copy the fixture files of ``fmt`` to ``data_dir/<dataset name>/`` and return that folder."""
    name = FORMATS[fmt][0]
    target = data_dir / name
    shutil.copytree(FIXTURES / fmt, target)
    return target


def register_fixture(monkeypatch: pytest.MonkeyPatch, fmt: str, folder: Path | None = None,
                     urls_from: Path | None = None) -> DatasetSpec:
    """Register ``fixture-<fmt>`` whose checksums are those of the files in ``folder`` (default: the fixture)
    and whose URLs are file:// URLs into ``urls_from`` (default: the fixture folder)."""
    name, source = FORMATS[fmt]
    folder = folder or FIXTURES / fmt
    urls_from = urls_from or FIXTURES / fmt
    files = tuple(
        RemoteFile(p.name, sha256_file(p), (urls_from / p.name).resolve().as_uri(), p.stat().st_size)
        for p in sorted(folder.iterdir())
    )
    spec = DatasetSpec(name=name, description=f"test fixture in the {fmt} format", citation="test",
                       files=files, source=source)
    monkeypatch.setitem(registry.DATASETS._entries, name, spec)
    return spec


def replace_spec(monkeypatch: pytest.MonkeyPatch, name: str, **changes) -> DatasetSpec:
    spec = dataclasses.replace(registry.DATASETS.get(name), **changes)
    monkeypatch.setitem(registry.DATASETS._entries, name, spec)
    return spec


def data_cli(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> int:
    """``grbench`` with only the ``data`` group loaded (the other groups import torch; not needed here)."""
    from benchmark import cli

    monkeypatch.setattr(cli, "COMMAND_MODULES", ["data"])
    return cli.main(argv)


def cache_is_empty() -> bool:
    """No built dataset and no download in the (per-test) cache."""
    root = cache_root()
    return not any(p.is_file() for p in root.rglob("*")) if root.exists() else True
