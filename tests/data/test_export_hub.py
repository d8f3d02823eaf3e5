"""``load_amazon23_hub``: Amazon Reviews 2023 records through ``datasets.load_dataset``, tested on local
directories laid out like Hub repositories (no network): the rows must give the tables the file loader gives."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmark.data.canonical import CanonicalData
from benchmark.data.loaders import load_amazon23
from benchmark.data.loaders.amazon23 import load_amazon23_hub
from benchmark.errors import DataError

datasets = pytest.importorskip("datasets")

FIXTURE = Path(__file__).parent / "fixtures" / "amazon23"


def _records(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURE / name).read_text().splitlines() if line.strip()]


def _assert_same(got: CanonicalData, want: CanonicalData) -> None:
    pd.testing.assert_frame_equal(got.items, want.items)
    pd.testing.assert_frame_equal(got.interactions, want.interactions)
    assert got.user_ids == want.user_ids


@pytest.fixture
def file_tables() -> CanonicalData:
    return load_amazon23(FIXTURE / "reviews.jsonl", FIXTURE / "meta.jsonl")


def test_raw_layout_of_the_release_repository(tmp_path: Path, file_tables: CanonicalData) -> None:
    """raw/review_categories/<C>.jsonl + raw/meta_categories/meta_<C>.jsonl, written with datasets."""
    repo = tmp_path / "Amazon-Reviews-2023"
    (repo / "raw" / "review_categories").mkdir(parents=True)
    (repo / "raw" / "meta_categories").mkdir(parents=True)
    datasets.Dataset.from_list(_records("reviews.jsonl")).to_json(repo / "raw/review_categories/Tiny.jsonl")
    datasets.Dataset.from_list(_records("meta.jsonl")).to_json(repo / "raw/meta_categories/meta_Tiny.jsonl")
    got = load_amazon23_hub(str(repo), "Tiny", cache_dir=tmp_path / "hf")
    _assert_same(got, file_tables)
    assert got.source.startswith(f"Amazon 2023 Hugging Face dataset {repo}")
    without_meta = load_amazon23_hub(str(repo), "Tiny", with_meta=False, cache_dir=tmp_path / "hf")
    assert without_meta.items["title"].tolist() == ["", "", ""]
    pd.testing.assert_frame_equal(without_meta.interactions, file_tables.interactions)


def _config_repo(root: Path) -> Path:
    """A Parquet mirror with named configs (README.md YAML), one split ``full`` each, as the Hub lays them out."""
    for config, name in (("raw_review_Tiny", "reviews.jsonl"), ("raw_meta_Tiny", "meta.jsonl")):
        (root / config).mkdir(parents=True)
        datasets.Dataset.from_list(_records(name)).to_parquet(root / config / "full-00000-of-00001.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: raw_review_Tiny\n  data_files:\n  - split: full\n    path: raw_review_Tiny/full-*.parquet\n"
        "- config_name: raw_meta_Tiny\n  data_files:\n  - split: full\n    path: raw_meta_Tiny/full-*.parquet\n"
        "---\n# tiny mirror\n")
    return root


def test_configs_of_a_parquet_mirror(tmp_path: Path, file_tables: CanonicalData) -> None:
    repo = _config_repo(tmp_path / "mirror")
    got = load_amazon23_hub(str(repo), reviews="raw_review_Tiny", meta="raw_meta_Tiny", cache_dir=tmp_path / "hf")
    _assert_same(got, file_tables)
    named = load_amazon23_hub(str(repo), reviews="raw_review_Tiny", meta="raw_meta_Tiny", split="full",
                              cache_dir=tmp_path / "hf")
    _assert_same(named, file_tables)


def test_errors_name_the_dataset_and_what_is_wrong(tmp_path: Path) -> None:
    repo = _config_repo(tmp_path / "mirror")
    with pytest.raises(DataError, match=r"\[raw_review_Nope\]"):
        load_amazon23_hub(str(repo), reviews="raw_review_Nope", cache_dir=tmp_path / "hf")
    with pytest.raises(DataError, match=r"missing column\(s\) \['user_id', 'timestamp'\]"):
        load_amazon23_hub(str(repo), reviews="raw_meta_Tiny", cache_dir=tmp_path / "hf")
    rows = _records("reviews.jsonl")
    rows[2]["timestamp"] = "yesterday"
    (tmp_path / "bad").mkdir()
    datasets.Dataset.from_list([{k: str(v) for k, v in r.items() if k in ("user_id", "parent_asin", "timestamp")}
                                for r in rows]).to_json(tmp_path / "bad" / "reviews.jsonl")
    with pytest.raises(DataError, match=r"reviews.jsonl\]: line 3: field 'timestamp' has value 'yesterday'"):
        load_amazon23_hub(str(tmp_path / "bad"), reviews="reviews.jsonl", cache_dir=tmp_path / "hf")
    with pytest.raises(Exception, match="category="):
        load_amazon23_hub(str(repo))
