"""Submission layout and readers: only known plain files inside the directory, bounded, typed, no pickle."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.submission import (
    Limits,
    check_member_name,
    parse_sids,
    read_member_bytes,
    read_rankings,
    read_submission,
    safe_member,
    scan_submission,
)
from tests.leaderboard.tiny import TinySource, system_rankings, table_of, write_submission


@pytest.fixture(scope="module")
def source() -> TinySource:
    return TinySource()


@pytest.fixture
def sub(tmp_path: Path, source: TinySource) -> Path:
    return write_submission(tmp_path / "sub", source, seeds=(0,))


def test_a_clean_submission_scans(sub: Path) -> None:
    (sub / "README.md").write_text("notes for humans")
    files, card = read_submission(sub)
    assert sorted(files.rankings) == [0] and files.ignored == ("README.md",) and not files.has_record
    assert card.seeds == (0,)


@pytest.mark.parametrize("name", ["../card.yaml", "/etc/passwd", "a/b.parquet", "..", "x..y", "a\\b", ""])
def test_names_that_could_escape_are_refused(name: str) -> None:
    with pytest.raises(SubmissionError, match="not allowed in a submission"):
        check_member_name(name)


def test_symlinks_are_refused_even_to_real_rankings(sub: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.parquet"
    (sub / "rankings-seed0.parquet").rename(outside)
    os.symlink(outside, sub / "rankings-seed0.parquet")
    with pytest.raises(SubmissionError, match="rankings-seed0.parquet is a symbolic link"):
        scan_submission(sub)
    with pytest.raises(SubmissionError, match="symbolic link"):
        safe_member(sub, "rankings-seed0.parquet")
    with pytest.raises(SubmissionError, match="symbolic links are not allowed"):
        read_member_bytes(sub, "rankings-seed0.parquet", 1 << 20)          # O_NOFOLLOW on the open itself
    link = tmp_path / "linked-submission"
    os.symlink(sub, link)
    with pytest.raises(SubmissionError, match="is a symbolic link; give the real directory"):
        scan_submission(link)


def test_card_symlink_to_a_secret_is_refused(sub: Path, tmp_path: Path) -> None:
    (sub / "card.yaml").unlink()
    os.symlink("/etc/hostname", sub / "card.yaml")
    with pytest.raises(SubmissionError, match="card.yaml is a symbolic link"):
        read_submission(sub)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("model.pt", r"Unexpected file\(s\) in the submission: model.pt"),
        ("rankings-seed0.pkl", r"Unexpected file\(s\).*rankings-seed0.pkl"),
        (".hidden", r"Unexpected file\(s\).*\.hidden"),
        ("rankings-seed0.csv", r"Seed 0 has two rankings files"),
        ("rankings-seed7.parquet", r"rankings-seed7.parquet belong to no seed listed in the card"),
    ],
)
def test_unknown_or_conflicting_files_are_refused(sub: Path, name: str, message: str) -> None:
    (sub / name).write_bytes(b"query_id,rank,sid\n")
    with pytest.raises(SubmissionError, match=message):
        read_submission(sub)


def test_subdirectories_missing_card_and_missing_rankings(sub: Path) -> None:
    (sub / "weights").mkdir()
    with pytest.raises(SubmissionError, match="weights is a directory"):
        scan_submission(sub)
    (sub / "weights").rmdir()
    (sub / "rankings-seed0.parquet").unlink()
    with pytest.raises(SubmissionError, match=r"card lists seed\(s\) \[0\] but the submission has no rankings"):
        read_submission(sub)
    (sub / "card.yaml").unlink()
    with pytest.raises(SubmissionError, match="has no card.yaml"):
        scan_submission(sub)
    with pytest.raises(SubmissionError, match="does not exist"):
        scan_submission(sub / "nope")


def test_oversized_files_are_refused_before_reading(sub: Path) -> None:
    size = (sub / "rankings-seed0.parquet").stat().st_size
    assert (sub / "card.yaml").stat().st_size < 2000 < size
    with pytest.raises(SubmissionError, match=rf"rankings-seed0.parquet is {size} bytes, over the per-file limit of 2000"):
        scan_submission(sub, Limits(max_file_bytes=2000))


def test_row_limit_is_read_from_the_parquet_footer(sub: Path) -> None:
    rows = pq.ParquetFile(sub / "rankings-seed0.parquet").metadata.num_rows
    with pytest.raises(SubmissionError, match=rf"has {rows} rows, over the limit of 10"):
        read_rankings(sub / "rankings-seed0.parquet", Limits(max_rows=10))
    with pytest.raises(SubmissionError, match="decodes to"):
        read_rankings(sub / "rankings-seed0.parquet", Limits(max_decoded_bytes=10))


def test_truncated_parquet_is_refused(sub: Path) -> None:
    path = sub / "rankings-seed0.parquet"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SubmissionError, match=r"not a readable parquet file \(truncated or corrupt\?\)"):
        read_rankings(path)
    path.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(SubmissionError, match="not a readable parquet file"):
        read_rankings(path)


def test_parquet_columns_and_types_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "rankings-seed0.parquet"
    pq.write_table(pa.table({"query_id": [1], "rank": [1], "sid": ["1-2"], "extra": [0]}), path)
    with pytest.raises(SubmissionError, match=r"unknown column\(s\) \['extra'\]"):
        read_rankings(path)
    pq.write_table(pa.table({"query_id": [1], "sid": ["1-2"]}), path)
    with pytest.raises(SubmissionError, match=r"missing column\(s\) \['rank'\]"):
        read_rankings(path)
    pq.write_table(pa.table({"query_id": ["1"], "rank": [1], "sid": ["1-2"]}), path)
    with pytest.raises(SubmissionError, match="column 'query_id' must be of integer type, found string"):
        read_rankings(path)
    pq.write_table(pa.table({"query_id": [1, None], "rank": [1, 2], "sid": ["1-2", "0-0"]}), path)
    with pytest.raises(SubmissionError, match=r"column 'query_id' has 1 empty/null value"):
        read_rankings(path)
    pq.write_table(pa.table({"query_id": pa.array([2**63], pa.uint64()), "rank": [1], "sid": ["1-2"]}), path)
    with pytest.raises(SubmissionError, match="outside the int64 range"):
        read_rankings(path)
    pq.write_table(pa.table({"query_id": [1], "rank": [1], "sid": ["1-2"], "score": [float("nan")]}), path)
    with pytest.raises(SubmissionError, match="non-finite"):
        read_rankings(path)


def test_pandas_pickled_object_columns_never_reach_python(tmp_path: Path) -> None:
    """A parquet file whose sid column holds binary data (what a pickled object would be) is refused by type."""
    path = tmp_path / "rankings-seed0.parquet"
    pq.write_table(pa.table({"query_id": [1], "rank": [1], "sid": pa.array([b"\x80\x04K\x01."], pa.binary())}), path)
    with pytest.raises(SubmissionError, match="column 'sid' must be of string type, found binary"):
        read_rankings(path)


def test_csv_and_parquet_read_identically(tmp_path: Path, source: TinySource) -> None:
    frame = system_rankings(source, 0.6, 3)
    parquet = write_submission(tmp_path / "p", source, seeds=(0,), frames={0: frame})
    csv = write_submission(tmp_path / "c", source, seeds=(0,), frames={0: frame}, fmt="csv")
    a = read_rankings(parquet / "rankings-seed0.parquet")
    b = read_rankings(csv / "rankings-seed0.csv")
    oa, ob = np.lexsort((a.rank, a.query_id)), np.lexsort((b.rank, b.query_id))
    assert np.array_equal(a.query_id[oa], b.query_id[ob]) and np.array_equal(a.rank[oa], b.rank[ob])
    assert a.sid.take(pa.array(oa)).to_pylist() == b.sid.take(pa.array(ob)).to_pylist()
    np.testing.assert_allclose(a.score[oa], b.score[ob], rtol=1e-15)
    assert "" in b.sid.to_pylist()                                   # an ill-formed beam stays "", not null


def test_malformed_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rankings-seed0.csv"
    path.write_text("query_id,rank,sid\n1,1,0-1\n1,2\n")
    with pytest.raises(SubmissionError, match="not a valid rankings CSV"):
        read_rankings(path)
    path.write_text("query_id,rank,sid,weights\n1,1,0-1,x\n")
    with pytest.raises(SubmissionError, match=r"unknown column\(s\) \['weights'\]"):
        read_rankings(path)
    path.write_text("query_id,rank,sid\none,1,0-1\n")
    with pytest.raises(SubmissionError, match="not a valid rankings CSV"):
        read_rankings(path)


def test_sid_parsing_golden() -> None:
    frame = pd.DataFrame({"query_id": [1, 1, 1], "rank": [1, 2, 3], "sid": ["3-0", "", "10-2"], "score": [3.0, 2, 1]})
    codes, ok = parse_sids(table_of(frame), 2)
    assert codes.tolist() == [[3, 0], [-1, -1], [10, 2]] and ok.tolist() == [True, False, True]
    for bad in ["1-2-3", "01-2", "+1-2", "1--2", " 1-2", "a-b", "1-2\n", "-1-2"]:
        frame.loc[1, "sid"] = bad
        with pytest.raises(SubmissionError, match=r"malformed SID\(s\)"):
            parse_sids(table_of(frame), 2)
