"""Every bad-input case gives a clear error (file, line/field, value, expectation) and leaves the cache empty."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from benchmark.data import ClickConfig, DataConfig, SyntheticConfig, build_dataset
from benchmark.data.loaders import load_amazon18, load_kuaisar, load_rechorus
from benchmark.errors import ConfigError, DataError
from benchmark.registry import UnknownNameError

from .helpers import FIXTURES, cache_is_empty, copy_fixture, data_cli, register_fixture


def _corrupt(monkeypatch, tmp_path: Path, fmt: str, file: str, content: bytes) -> Path:
    """A fixture copy with ``file`` replaced, registered with the checksums of the copy (so parsing, not the
    checksum, must catch the problem)."""
    folder = copy_fixture(fmt, tmp_path / "data")
    (folder / file).write_bytes(content)
    register_fixture(monkeypatch, fmt, folder)
    return tmp_path / "data"


def test_truncated_file(monkeypatch, tmp_path: Path) -> None:
    original = (FIXTURES / "scientific/Scientific.test.inter").read_bytes()
    data_dir = _corrupt(monkeypatch, tmp_path, "scientific", "Scientific.test.inter", original[:-4])  # "3\t4 6"
    with pytest.raises(DataError, match=r"Scientific\.test\.inter: line 5: empty value for field 'item_id'.*truncated"):
        build_dataset("fixture-scientific", data_dir=data_dir)
    assert cache_is_empty()


def test_empty_file(monkeypatch, tmp_path: Path) -> None:
    data_dir = _corrupt(monkeypatch, tmp_path, "games", "Games.item", b"")
    with pytest.raises(DataError, match=r"Games\.item: file is empty"):
        build_dataset("fixture-games", data_dir=data_dir)
    assert cache_is_empty()


def test_header_only_file(monkeypatch, tmp_path: Path) -> None:
    data_dir = _corrupt(monkeypatch, tmp_path, "office", "train.csv", b"user_id\titem_id\ttime\n")
    with pytest.raises(DataError, match=r"train\.csv: no data rows after the header"):
        build_dataset("fixture-office", data_dir=data_dir)
    assert cache_is_empty()


def test_missing_column(monkeypatch, tmp_path: Path) -> None:
    text = (FIXTURES / "office/train.csv").read_text().replace("\ttime\n", "\tstamp\n", 1)
    data_dir = _corrupt(monkeypatch, tmp_path, "office", "train.csv", text.encode())
    with pytest.raises(DataError, match=r"train\.csv: missing column\(s\) \['time'\]; found \['user_id', 'item_id', "
                                        r"'stamp'\]"):
        build_dataset("fixture-office", data_dir=data_dir)
    assert cache_is_empty()


def test_missing_recbole_field(monkeypatch, tmp_path: Path) -> None:
    text = (FIXTURES / "games/Games.item").read_text().replace("title:token_seq", "name:token_seq")
    data_dir = _corrupt(monkeypatch, tmp_path, "games", "Games.item", text.encode())
    with pytest.raises(DataError, match=r"Games\.item: missing column 'title'"):
        build_dataset("fixture-games", data_dir=data_dir)
    assert cache_is_empty()


def test_wrong_type(monkeypatch, tmp_path: Path) -> None:
    text = (FIXTURES / "games/Games.test.inter").read_text().replace("\n2\t7 3", "\nzwei\t7 3")
    data_dir = _corrupt(monkeypatch, tmp_path, "games", "Games.test.inter", text.encode())
    with pytest.raises(DataError, match=r"Games\.test\.inter: line 4: field 'user_id' has value 'zwei' \(expected an "
                                        r"integer user id\)"):
        build_dataset("fixture-games", data_dir=data_dir)
    assert cache_is_empty()


def test_wrong_type_in_a_list_field(monkeypatch, tmp_path: Path) -> None:
    text = (FIXTURES / "games/Games.test.inter").read_text().replace("\t4 5 6\t", "\t4 five 6\t")
    data_dir = _corrupt(monkeypatch, tmp_path, "games", "Games.test.inter", text.encode())
    with pytest.raises(DataError, match=r"line 3: field 'item_id_list' has value '4 five 6'"):
        build_dataset("fixture-games", data_dir=data_dir)
    assert cache_is_empty()


def test_out_of_range_item_id(monkeypatch, tmp_path: Path) -> None:
    text = (FIXTURES / "games/Games.test.inter").read_text().replace("\t6 5\t4", "\t6 5\t99")
    data_dir = _corrupt(monkeypatch, tmp_path, "games", "Games.test.inter", text.encode())
    with pytest.raises(DataError, match=r"item id 99 is outside 0\.\.7"):
        build_dataset("fixture-games", data_dir=data_dir)
    assert cache_is_empty()


def test_undecodable_bytes(monkeypatch, tmp_path: Path) -> None:
    content = (FIXTURES / "office/Office.text").read_bytes().replace(b"Paper Mate Pens Blue", b"Paper Mate Pens \xff\xfe")
    data_dir = _corrupt(monkeypatch, tmp_path, "office", "Office.text", content)
    with pytest.raises(DataError, match=r"Office\.text: line 7: undecodable bytes b'\\xff' at column 20 \(expected "
                                        r"UTF-8 text\)"):
        build_dataset("fixture-office", data_dir=data_dir)
    assert cache_is_empty()


def test_inconsistent_games_valid_file(monkeypatch, tmp_path: Path) -> None:
    text = (FIXTURES / "games/Games.valid.inter").read_text().replace("1\t4 5\t6", "1\t4 5\t7")
    data_dir = _corrupt(monkeypatch, tmp_path, "games", "Games.valid.inter", text.encode())
    with pytest.raises(DataError, match=r"Games\.valid\.inter: line 3: the row of user 1 is not"):
        build_dataset("fixture-games", data_dir=data_dir)
    assert cache_is_empty()


def test_checksum_mismatch_names_file_expected_found_and_remedy(monkeypatch, tmp_path: Path) -> None:
    spec = register_fixture(monkeypatch, "games")
    folder = copy_fixture("games", tmp_path)
    (folder / "Games.item").write_text((FIXTURES / "games/Games.item").read_text().replace("Halo 5", "Halo 6"))
    expected = spec.file("Games.item").sha256
    with pytest.raises(DataError) as info:
        build_dataset("fixture-games", data_dir=tmp_path)
    message = str(info.value)
    assert f"{folder / 'Games.item'}: sha256 " in message
    assert f"does not match the expected {expected} for fixture-games/Games.item" in message
    assert "Obtain the original file from file://" in message and "Nothing was written to the cache" in message
    assert cache_is_empty()


def test_missing_file_that_cannot_be_downloaded(monkeypatch, tmp_path: Path) -> None:
    register_fixture(monkeypatch, "games", urls_from=tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"fixture-games/Games\.item \(sha256 [0-9a-f]{64}\) was not found .* could not "
                                        r"be downloaded from file://.*Obtain the original file"):
        build_dataset("fixture-games", data_dir=tmp_path)
    assert cache_is_empty()


def test_download_with_wrong_checksum_is_discarded(monkeypatch, tmp_path: Path) -> None:
    folder = copy_fixture("games", tmp_path / "server")
    register_fixture(monkeypatch, "games", urls_from=folder)
    (folder / "Games.item").write_text("item_id:token\ttitle:token_seq\n0\tTampered\n")
    with pytest.raises(DataError, match=r"the download of fixture-games/Games\.item .* has sha256 [0-9a-f]{64}, expected"):
        build_dataset("fixture-games", data_dir=None)
    assert cache_is_empty()


def test_unknown_dataset_name_suggests_closest(monkeypatch) -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown dataset 'amazon18-scientifc'\. Did you mean "
                                               r"'amazon18-scientific'.*Available: amazon14-office, amazon18-games, "
                                               r"amazon18-scientific, synthetic\."):
        build_dataset("amazon18-scientifc")
    assert data_cli(monkeypatch, ["data", "build", "amazon18-scientifc"]) == 2
    assert cache_is_empty()


def test_out_of_range_config_values(monkeypatch) -> None:
    with pytest.raises(ConfigError, match=r"The 'eta' parameter of ClickConfig must be a float in the range \[0, inf\)\. "
                                          r"Got -1 instead\."):
        ClickConfig(eta=-1)
    with pytest.raises(ConfigError, match=r"The 'exposure_k' parameter of ClickConfig must be an int in the range "
                                          r"\[1, 100\]\. Got 0 instead\."):
        ClickConfig(exposure_k=0)
    with pytest.raises(ConfigError, match=r"'noise_floor' parameter of ClickConfig must not exceed"):
        ClickConfig(noise_floor=0.7, relevant_click_prob=0.6)
    with pytest.raises(ConfigError, match=r"'target_click_prob' parameter of ClickConfig must be a float in the range "
                                          r"\[1, 1\]"):
        ClickConfig(target_click_prob=0.5)
    with pytest.raises(ConfigError, match=r"The 'min_positives' parameter of DataConfig"):
        DataConfig(min_positives=0)
    with pytest.raises(ConfigError, match=r"The 'n_items' parameter of SyntheticConfig must be at least 2 per leaf"):
        SyntheticConfig(n_items=20, branching=(4, 3, 3))
    assert data_cli(monkeypatch, ["data", "build", "synthetic", "--set", "clicks.noise_floor=1.5"]) == 2
    assert data_cli(monkeypatch, ["data", "build", "synthetic", "--set", "clicks.etta=1"]) == 2
    assert cache_is_empty()


# ------------------------------------------------------------------------------------ raw-format loaders
def test_json_lines_errors(tmp_path: Path) -> None:
    reviews = tmp_path / "reviews.json"
    lines = (FIXTURES / "amazon18/reviews.json").read_text().splitlines()
    reviews.write_text("\n".join(lines[:2]) + "\n" + lines[2][:30])  # cut-off last line
    with pytest.raises(DataError, match=r"reviews\.json: line 3: not valid JSON .*truncated"):
        load_amazon18(reviews)
    reviews.write_text(lines[0] + '\n{"reviewerID": "U9", "asin": "B9"}\n')
    with pytest.raises(DataError, match=r"line 2: missing field 'unixReviewTime' \(expected an integer unix time"):
        load_amazon18(reviews)
    reviews.write_text('{"reviewerID": "U9", "asin": "B9", "unixReviewTime": "yesterday"}\n')
    with pytest.raises(DataError, match=r"line 1: field 'unixReviewTime' has value 'yesterday'"):
        load_amazon18(reviews)
    reviews.write_text('{"reviewerID": 7, "asin": "B9", "unixReviewTime": 1}\n')
    with pytest.raises(DataError, match=r"line 1: field 'reviewerID' has value 7 of type int \(expected a user id string"):
        load_amazon18(reviews)
    reviews.write_bytes(b'{"reviewerID": "U\xc3", "asin": "B9", "unixReviewTime": 1}\n')
    with pytest.raises(DataError, match=r"line 1: undecodable bytes"):
        load_amazon18(reviews)


def test_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress((FIXTURES / "amazon18/reviews.json").read_bytes())
    path = tmp_path / "reviews.json.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match=r"reviews\.json\.gz: the gzip stream is truncated or corrupt"):
        load_amazon18(path)


def test_rechorus_and_kuaisar_schema_errors(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("user_id\titem_id\ttime\n1\t1\t100\n1\t2\tlater\n")
    with pytest.raises(DataError, match=r"train\.csv: line 3: field 'time' has value 'later' \(expected an integer unix"):
        load_rechorus(tmp_path)
    kuai = tmp_path / "kuai"
    kuai.mkdir()
    (kuai / "src_inter.csv").write_text("user_id,item_id,search_session_timestamp,click_cnt\n1,2,3,1\n")
    with pytest.raises(DataError, match=r"src_inter\.csv: missing column\(s\) \['keyword'\]"):
        load_kuaisar(kuai)
