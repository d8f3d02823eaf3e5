"""Building the site: from a small copied results tree, twice (byte-identical), with a hostile submission,
and from the committed results."""

from __future__ import annotations

import hashlib
import html.parser
from pathlib import Path

import pytest

from benchmark.errors import BenchmarkError
from benchmark.site import MARKER, build_site
from tests.site.conftest import HOSTILE_DIR, PAYLOAD, PROFILE, RESULTS


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class Tags(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text, of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> Tags:
    parser = Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def small_site(small_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    build_site(small_results, out)
    return out


def test_small_tree_has_every_kind_of_page(small_site: Path):
    for rel in ("index.html", f"board-{PROFILE}-table1.html", "methods.html", "methods/raddpo.html",
                "methods/sft.html", "tables.html", f"tables/{PROFILE}/table1.html", "data.html",
                "data/amazon18-scientific.html", "submit.html", "static/site.css", "static/site.js", MARKER):
        assert (small_site / rel).is_file(), rel
    board = (small_site / f"board-{PROFILE}-table1.html").read_text(encoding="utf-8")
    assert board.count('<section class="view" data-view=') == 3           # all, seen, unseen
    assert 'data-family="dpo"' in board and 'data-family="submission"' in board
    assert 'data-family="reward"' not in board  # RAD-DPO is an offline preference loss: the DPO family
    assert 'href="methods/raddpo.html#quick-protocol1"' in board


def test_every_relative_link_and_source_resolves(small_site: Path):
    for page in small_site.rglob("*.html"):
        for tag, attrs in parse(page).tags:
            target = attrs.get("href") if tag in ("a", "link") else attrs.get("src") if tag in ("script", "img") else None
            if not target or target.startswith("https://"):
                continue
            path = target.split("#", 1)[0]
            if path:
                from urllib.parse import unquote

                assert (page.parent / unquote(path)).resolve().is_file(), f"{page.name}: {target}"


def test_stored_files_are_copied_byte_for_byte(small_site: Path, small_results: Path):
    run = next((small_results / PROFILE / "runs").iterdir())
    for f in run.iterdir():
        assert (small_site / "files" / PROFILE / "runs" / run.name / f.name).read_bytes() == f.read_bytes()


def test_rebuild_is_byte_identical(small_results: Path, tmp_path: Path):
    build_site(small_results, tmp_path / "a")
    build_site(small_results, tmp_path / "b")
    build_site(small_results, tmp_path / "a")                  # replacing a site it built is allowed
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_out_must_be_new_empty_or_a_site(small_results: Path, tmp_path: Path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(BenchmarkError, match="not a site built by"):
        build_site(small_results, tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_paper_columns_are_labelled_not_comparable(tmp_path: Path):
    root = tmp_path / "results"
    import shutil

    shutil.copytree(RESULTS / "full-protocol1" / "tables", root / "full-protocol1" / "tables")
    (root / "full-protocol1" / "runs").mkdir()
    build_site(root, tmp_path / "site")
    page = (tmp_path / "site" / "tables" / "full-protocol1" / "table2.html").read_text(encoding="utf-8")
    assert page.count('<th class="num paper">') == 4 and "not comparable in level" in page
    assert '<img src="../../files/full-protocol1/tables/fig2.png"' in (
        tmp_path / "site" / "tables" / "full-protocol1" / "fig2.html").read_text(encoding="utf-8")


def test_hostile_submission_renders_as_text(hostile_results: Path, tmp_path: Path):
    summary = build_site(hostile_results, tmp_path / "site")
    assert summary.submissions == 2                                 # the hostile one accepted and rendered
    assert [name for name, _ in summary.skipped] == [HOSTILE_DIR + "-unvalidated"]
    shown = 0
    for page in (tmp_path / "site").rglob("*.html"):
        tags = parse(page)
        scripts = [a for t, a in tags.tags if t == "script"]
        assert all(a.get("src", "").endswith("static/site.js") for a in scripts) and len(scripts) == 1
        for tag, attrs in tags.tags:
            assert tag not in ("img", "b", "iframe", "object") or "hostile" not in str(attrs), page
            assert not any(name.startswith("on") for name in attrs), (page, tag, attrs)
            assert attrs.get("class") != "hostile"
            assert "example.org" not in (attrs.get("href") or "")
        text = "".join(tags.text)
        shown += text.count(PAYLOAD) + text.count(HOSTILE_DIR)
    # description, hardware, submitter, other data, hyperparameters, directory names (rendered and left out)
    assert shown >= 7


def test_committed_results_build_with_key_pages(tmp_path: Path):
    summary = build_site(RESULTS, tmp_path / "site")
    assert summary.boards >= 4 and summary.submissions >= 8
    for rel in ("index.html", "board-quick-table1.html", "board-full-table1.html", "methods/raddpo.html",
                "methods/query-lookup.html", "tables/full-protocol1/table2.html", "tables/quick/table1-unseen.html",
                "data/amazon18-scientific.html", "submit.html"):
        assert (tmp_path / "site" / rel).is_file(), rel
    board = (tmp_path / "site" / "board-quick-table1.html").read_text(encoding="utf-8")
    assert 'data-primary="target_hit@10"' in board and "▼ worse" in board
    # runs stored with their numerical environment show it; older ones say it was not recorded
    raddpo = (tmp_path / "site" / "methods" / "raddpo.html").read_text(encoding="utf-8")
    assert "numerical environment" in raddpo and "not recorded (run stored before the environment was)" in raddpo
    assert "AVX512 dispatch" in (tmp_path / "site" / "methods" / "sft.html").read_text(encoding="utf-8")


def test_training_curve_and_tuning_study_where_stored(small_results: Path, tmp_path: Path):
    import shutil

    root = tmp_path / "results"
    shutil.copytree(small_results / PROFILE, root / PROFILE)
    run = next(p for p in sorted((root / PROFILE / "runs").iterdir()) if "-dpo-" in p.name)
    (run / "loss_curve.csv").write_text("step,loss,lr\n0,5.0,0.001\n10,4.0,0.002\n20,3.5,0.001\n")
    (root / PROFILE / "tuning").mkdir()
    study = {"schema_version": 1, "methods": {"dpo": {
        "metric": "target_hit@10", "direction": "maximize", "n_trials": 2,
        "space": {"beta": {"low": 0.1, "high": 10, "log": True}},
        "trials": [{"number": 0, "params": {"beta": 0.5}, "score": 0.25, "seconds": 298.5},
                   {"number": 1, "params": {"beta": "<i>2</i>"}, "score": 0.5}],
        "chosen": {"trial": 1, "params": {"beta": 2.0}, "score": 0.5}},
        "sft": {"metric": "target_hit@10", "n_trials": 16, "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}},
                "trials": [{"number": 0, "params": {"lr": 1e-3}, "score": 0.25}], "chosen": None}}}
    import json

    (root / PROFILE / "tuning" / "amazon18-scientific.json").write_text(json.dumps(study))
    for method in ("dpo", "raddpo", "raddpo-no-tlgd", "raddpo-sdpo"):
        (root / PROFILE / "tuning" / f"amazon18-scientific-{method}.png").write_bytes(b"\x89PNG")
    build_site(root, tmp_path / "site")
    # each method page shows its own sensitivity plot only, though method names share parts
    for method in ("dpo", "raddpo"):
        html = (tmp_path / "site" / "methods" / f"{method}.html").read_text(encoding="utf-8")
        shown = [name for name in ("dpo", "raddpo", "raddpo-no-tlgd", "raddpo-sdpo")
                 if f'alt="amazon18-scientific-{name}.png"' in html]
        assert shown == [method]
    page = (tmp_path / "site" / "methods" / "dpo.html").read_text(encoding="utf-8")
    assert page.count("<polyline") == 2                              # loss and lr against step
    assert "loss_curve.csv</a>" in page and "Tuning study" in page
    assert "<td>{&quot;beta&quot;: &quot;&lt;i&gt;2&lt;/i&gt;&quot;}</td>" in page and "<i>" not in page
    assert ">seconds</th>" in page and ">298.5</td>" in page  # a trial's recorded wall time
    assert (tmp_path / "site" / "files" / PROFILE / "tuning" / "amazon18-scientific.json").is_file()
    sft_page = (tmp_path / "site" / "methods" / "sft.html").read_text(encoding="utf-8")
    assert "No training curve" in sft_page
    assert "none yet: unfinished, 1 of 16 trials scored" in sft_page  # an interrupted study, stored as it ran


def test_paper_rows_are_labelled_and_kept_off_the_board(small_site: Path, small_results: Path):
    page = (small_site / "tables" / PROFILE / "table1.html").read_text(encoding="utf-8")
    assert '<span class="badge">not comparable in level</span>' in page and '<td class="num paper">' in page
    board = (small_site / f"board-{PROFILE}-table1.html").read_text(encoding="utf-8")
    assert "paper:" not in board
    runs = len(list((small_results / PROFILE / "runs").glob("*/run.json")))
    # every run once per view (all, seen, unseen) and the one submission on all queries only
    assert runs >= 8 and board.count('data-family="submission"') == 1
    assert board.count("<tr data-family=") == 3 * runs + 1
