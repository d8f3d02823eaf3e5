"""``grbench data export --format hf``: a built split as a datasets.DatasetDict, read back with load_from_disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from benchmark.config import from_dict
from benchmark.data import DataConfig, build_dataset
from benchmark.data.dataset import BuiltDataset
from benchmark.data.export import POPULARITY_COLUMN, SPLITS, check_split_hash, export_hf
from benchmark.errors import ArtifactMismatchError, StorageError
from tests.data.helpers import data_cli

datasets = pytest.importorskip("datasets")

CARD = "# Data card: synthetic\n\nsplit hash `{}`: a stand-in card for the tests.\n"
LIST_COLUMNS = {"history", "exposed", "clicks", "relevance", "relevant"}


@pytest.fixture
def built() -> BuiltDataset:
    return build_dataset("synthetic", DataConfig())


def _frames(built: BuiltDataset) -> dict:
    frames = {name: getattr(built, attr) for name, attr in SPLITS.items()}
    items = built.items.copy()
    items[POPULARITY_COLUMN] = built.item_popularity
    return {**frames, "items": items}


def test_round_trip_equals_the_built_splits(built: BuiltDataset, tmp_path: Path) -> None:
    out = export_hf(built, tmp_path / "export", CARD.format(built.split_hash[:16]), progress=False)
    loaded = datasets.load_from_disk(str(out))
    frames = _frames(built)
    assert list(loaded) == ["train", "preference", "validation", "test", "items"]
    for name, frame in frames.items():
        table = loaded[name]
        assert table.num_rows == len(frame) > 0, name
        assert table.column_names == list(frame.columns), name
        # every row, in order: list cells as lists of ints, text as str, ids as int
        assert table.to_dict() == {c: [list(v) if c in LIST_COLUMNS else v for v in frame[c].tolist()]
                                   for c in frame.columns}, name
        schema = table.data.table.schema
        for column in frame.columns:
            expected = (pa.list_(pa.int64()) if column in LIST_COLUMNS
                        else pa.string() if column in {"query", "source_id", "title", "category", "brand", "text"}
                        else pa.int64())
            assert schema.field(column).type == expected, (name, column)
    assert loaded["test"][0]["query"] == built.test["query"].iloc[0]
    assert loaded["train"][3]["exposed"] == list(built.train["exposed"].iloc[3])
    assert loaded["preference"][0]["impression_id"] == int(built.preference["impression_id"].iloc[0])
    # what was read back is the split results are computed on
    check_split_hash(built, {name: loaded[name].data.table for name in loaded})
    readme = (out / "README.md").read_text()
    assert built.split_hash in readme and "a stand-in card" in readme and "load_from_disk" in readme
    assert loaded["test"].info.description == readme
    assert loaded["items"].info.dataset_name == "synthetic"


def test_refuses_a_non_empty_directory_unless_force(built: BuiltDataset, tmp_path: Path) -> None:
    card = CARD.format(built.split_hash[:16])
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(StorageError, match="exists and is not empty.*--force"):
        export_hf(built, occupied, card, progress=False)
    with pytest.raises(StorageError, match="not a previous export"):
        export_hf(built, occupied, card, force=True, progress=False)
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]

    empty = tmp_path / "empty"
    empty.mkdir()
    export_hf(built, empty, card, progress=False)  # an empty directory is taken
    with pytest.raises(StorageError, match="exists and is not empty"):
        export_hf(built, empty, card + "second\n", progress=False)
    export_hf(built, empty, card + "second\n", force=True, progress=False)  # a previous export is replaced
    assert (empty / "README.md").read_text().rstrip().endswith("second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "occupied"]  # no temporaries left


def test_an_export_that_differs_from_the_split_is_refused(built: BuiltDataset, tmp_path: Path) -> None:
    built.test = built.test.iloc[1:].reset_index(drop=True)
    with pytest.raises(ArtifactMismatchError, match="split hash"):
        export_hf(built, tmp_path / "export", CARD, progress=False)
    assert not (tmp_path / "export").exists()


def test_cli_unknown_name_and_format(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    assert data_cli(monkeypatch, ["data", "export", "synthetik", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "'synthetik'" in err and "synthetic" in err and "amazon18-scientific" in err
    with pytest.raises(SystemExit) as exit_info:
        data_cli(monkeypatch, ["data", "export", "synthetic", "--format", "csv", "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "'csv'" in err and "hf" in err
    assert not (tmp_path / "x").exists()


def test_cli_help_explains(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    with pytest.raises(SystemExit):
        data_cli(monkeypatch, ["data", "export", "--help"])
    text = capsys.readouterr().out
    for needle in ("load_from_disk", "grbench[hf]", "--force", "--card", "validation", "README.md"):
        assert needle in text, needle


def test_cli_with_a_card_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    from benchmark.suite.profiles import load_profile

    split = build_dataset("synthetic", from_dict(DataConfig, load_profile("smoke").data)).split_hash
    card, wrong = tmp_path / "card.md", tmp_path / "wrong.md"
    card.write_text(CARD.format(split[:16]))
    wrong.write_text(CARD.format("0" * 16))
    out = tmp_path / "export"
    argv = ["data", "export", "synthetic", "--format", "hf", "--profile", "smoke", "--out", str(out)]
    assert data_cli(monkeypatch, [*argv, "--card", str(wrong)]) == 2
    assert "names split hash 0000000000000000" in capsys.readouterr().err and not out.exists()
    assert data_cli(monkeypatch, [*argv, "--card", str(card)]) == 0
    assert f"split hash {split[:16]}" in capsys.readouterr().out
    assert "a stand-in card" in (out / "README.md").read_text()
    assert data_cli(monkeypatch, [*argv, "--card", str(card)]) == 2  # DIR is a previous export now
    assert "--force" in capsys.readouterr().err
    assert data_cli(monkeypatch, [*argv, "--card", str(card), "--force"]) == 0


def test_cli_computes_the_data_card(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert data_cli(monkeypatch, ["data", "export", "synthetic", "--profile", "smoke", "--out", str(out)]) == 0
    readme = (out / "README.md").read_text()
    assert "# Data card: synthetic" in readme and "## Retrieval baselines" in readme
    assert datasets.load_from_disk(str(out))["test"].num_rows > 0


def test_the_rest_of_the_suite_does_not_import_datasets() -> None:
    code = ("import sys, benchmark.cli, benchmark.data, benchmark.commands.data, benchmark.data.export, "
            "benchmark.data.loaders; sys.exit('datasets' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
