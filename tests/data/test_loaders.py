"""Each raw-format loader on a small fixture written in that format: exact canonical tables."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from benchmark.data.loaders import load_amazon18, load_amazon23, load_kuaisar, load_recbole, load_rechorus
from benchmark.data.loaders.recbole import parse_unisrec_text

FIXTURES = Path(__file__).parent / "fixtures"


def _events(data) -> list[tuple[str, str, int, int]]:
    """(source user, source item, time, order) rows of the interactions table."""
    items = data.items["source_id"].tolist()
    return [(data.user_ids[u], items[i], int(t), int(o))
            for u, i, t, o in data.interactions[["user", "item", "time", "order"]].itertuples(index=False)]


@pytest.mark.parametrize("gzipped", [False, True])
def test_amazon18_reviews_and_meta(tmp_path: Path, gzipped: bool) -> None:
    reviews, meta = FIXTURES / "amazon18/reviews.json", FIXTURES / "amazon18/meta.json"
    if gzipped:  # gzip is detected from the bytes, not the file name
        for src in (reviews, meta):
            with open(src, "rb") as fin, gzip.open(tmp_path / src.name, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        reviews, meta = tmp_path / reviews.name, tmp_path / meta.name
    data = load_amazon18(reviews, meta)
    assert data.items["source_id"].tolist() == ["B001", "B002", "B003", "B004"]
    assert data.items["item_id"].tolist() == [0, 1, 2, 3]
    assert data.items.loc[1, "title"] == "Acme Glass Flask & Stopper"  # HTML entity unescaped
    assert data.items.loc[0, "category"] == "Industrial & Scientific > Lab & Scientific Products > Labware"
    assert data.items.loc[0, "brand"] == "Acme"
    assert data.items.loc[0, "text"] == (
        "Acme Glass Beaker 50 ml. Industrial & Scientific Lab & Scientific Products Labware. Acme")
    assert data.items.loc[3].tolist()[2:] == ["", "", "", ""]  # B004 has no metadata
    # Sorted by user then time; the duplicate (U2, B004, t) record is dropped.
    assert _events(data) == [
        ("U1", "B003", 1451606400, 0), ("U1", "B001", 1451692800, 1), ("U1", "B002", 1451779200, 2),
        ("U1", "B004", 1451952000, 3), ("U2", "B002", 1451606400, 0), ("U2", "B004", 1451865600, 1),
    ]


def test_amazon23_jsonl_uses_parent_asin_and_milliseconds() -> None:
    data = load_amazon23(FIXTURES / "amazon23/reviews.jsonl", FIXTURES / "amazon23/meta.jsonl")
    assert data.items["source_id"].tolist() == ["P1", "P2", "P3"]
    assert data.items.loc[0, "category"] == "Industrial & Scientific > Test, Measure & Inspect > Calipers"
    assert data.items.loc[0, "brand"] == "Mitutoyo"  # store
    assert data.items.loc[1, "category"] == ""
    # Same second for AE1's two events: the millisecond order (P2 at .100 before P1 at .500) is kept.
    assert _events(data) == [
        ("AE1", "P2", 1600000000, 0), ("AE1", "P1", 1600000000, 1),
        ("AE2", "P3", 1500000000, 0), ("AE2", "P1", 1500000500, 1),
    ]


def test_recbole_atomic_inter_and_item() -> None:
    data = load_recbole(FIXTURES / "recbole", "tiny")
    assert data.items["source_id"].tolist() == ["i10", "i20", "i30"]
    assert data.items["title"].tolist() == ["Red Widget", "Blue Gadget", "Green Gizmo"]
    assert data.items["category"].tolist() == ["Tools > Widgets", "", "Tools > Gizmos"]
    assert data.items["brand"].tolist() == ["Acme", "Bolt", ""]
    assert data.items.loc[0, "text"] == "Red Widget. Tools Widgets. Acme"
    assert _events(data) == [("u1", "i20", 50, 0), ("u1", "i10", 100, 1), ("u2", "i10", 70, 0), ("u2", "i30", 80, 1)]


def test_recbole_sequential_files_give_full_sequences() -> None:
    data = load_recbole(FIXTURES / "scientific", "Scientific")
    assert len(data.interactions) == 5 + 4 + 5 + 4
    first_user = [e for e in _events(data) if e[0] == "0"]
    # .inter files hold indices; Scientific.item2index maps them to ASINs (the source ids, in index order).
    assert [e[1] for e in first_user] == ["B00A0", "B00A1", "B00A2", "B00A3", "B00A4"]
    assert data.items["source_id"].tolist() == [f"B00A{i}" for i in range(8)]
    assert all(e[2] == -1 for e in first_user)  # no timestamps in this format
    assert data.items["text"].str.len().gt(0).all()


def test_unisrec_text_parsing_handles_dots_in_brands_and_missing_category() -> None:
    root = "Industrial & Scientific"
    assert parse_unisrec_text("Kimble Beaker Set. Industrial & Scientific Lab Supplies Glass Beakers. J.T. Baker. ",
                              root) == ("Kimble Beaker Set", "Industrial & Scientific Lab Supplies Glass Beakers",
                                        "J.T. Baker")
    assert parse_unisrec_text("Duct Tape Silver 2 in. . 3M. ", root) == ("Duct Tape Silver 2 in", "", "3M")
    assert parse_unisrec_text("No. 2 Pencil. Industrial & Scientific Office. . ", root) == (
        "No. 2 Pencil", "Industrial & Scientific Office", "")


def test_rechorus_csv_merges_splits_in_time_order() -> None:
    data = load_rechorus(FIXTURES / "rechorus")
    assert data.items["source_id"].tolist() == ["1", "2", "3", "4", "5"]  # item 5 only in item_meta.csv
    assert data.items["text"].tolist() == [""] * 5
    assert _events(data) == [
        ("1", "1", 100, 0), ("1", "2", 200, 1), ("1", "3", 200, 2), ("1", "4", 500, 3),  # tie: train before dev
        ("2", "2", 100, 0), ("2", "3", 300, 1), ("2", "1", 400, 2), ("2", "4", 500, 3),
    ]


def test_kuaisar_clicked_rows_with_anonymised_queries_and_no_text() -> None:
    data = load_kuaisar(FIXTURES / "kuaisar")
    assert data.items["source_id"].tolist() == ["101", "103", "104"]  # unclicked 102 / 105 are not interactions
    assert data.items["title"].tolist() == ["", "", ""] and data.items["text"].tolist() == ["", "", ""]
    assert data.items["category"].tolist() == ["Funny > Funny joke", "", "Food"]
    events = _events(data)
    assert events == [("1", "101", 1684742000, 0), ("1", "104", 1684763932, 1), ("2", "101", 1684720800, 0),
                      ("2", "103", 1684742005, 1)]
    assert data.interactions["query"].tolist() == ["", "kw20 kw34 kw3", "kw5", ""]
