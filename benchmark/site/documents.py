"""The pages rendered from stored Markdown: the paper tables, the data cards and how to submit, plus the index.

The paper-table pages are what ``grbench tables`` wrote under ``<profile>/tables/`` (Markdown, with the
LaTeX, CSV and figure files linked and copied beside the page). Columns holding the paper's own reported
numbers are labelled as not comparable in level: they come from JD.com's internal data and models.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from benchmark.site import escape
from benchmark.site.collect import Site
from benchmark.site.layout import page, table
from benchmark.site.markdown import to_html

PAPER_NOTE = ("Columns headed “Paper (reported)” are the numbers printed in the RAD-DPO paper, measured on "
              "JD.com's internal logs with Qwen backbones: they are not comparable in level with this "
              "benchmark's rows; compare the direction and relative size of effects only.")
NOT_COMPARABLE = "not comparable in level"


_PAPER = re.compile(r"\bpaper\b.*\breported\b", re.IGNORECASE)


def paper_label(header: str) -> str | None:
    """The label of a column or section holding the paper's reported numbers ("Paper (reported) R@8",
    "*Paper, Table 1 (reported on internal JD.com data ...)*"); not "Size xs (paper: 0.6B)"."""
    return NOT_COMPARABLE if _PAPER.search(header) else None


def table_files(tables_dir: Path) -> list[Path]:
    return sorted(p for p in tables_dir.iterdir() if p.is_file() and not p.is_symlink()) if tables_dir.is_dir() else []


def _resolver(profile: str, rendered: set[str], depth: int):
    """Links inside a table's Markdown: a rendered .md becomes its page, any other file its copy in files/."""
    def resolve(target: str) -> str | None:
        url = escape.https_url(target)
        if url:
            return url
        if ":" in target or target.startswith(("/", "\\")) or "\\" in target:
            return None
        name = posixpath.normpath(target)
        if name.startswith("..") or "/" in name:
            return None
        if name in rendered:
            return escape.path_url(name[:-3] + ".html")
        return escape.path_url(*[".."] * depth, "files", profile, "tables", name)
    return resolve


def render_table_pages(site: Site) -> dict[str, str]:
    """Site-relative path -> HTML for the tables index and every rendered table of every profile."""
    pages: dict[str, str] = {}
    index = ["<p>Every table and figure <code>grbench tables</code> rendered from the stored runs, per profile "
             "(results directory). Each links its Markdown, LaTeX and CSV files. " + escape.text(PAPER_NOTE) + "</p>\n"]
    for profile in site.profiles:
        files = table_files(site.root / profile / "tables")
        markdown = [f for f in files if f.suffix == ".md" and f.name != "README.md"]
        if not files:
            continue
        rendered = {f.name for f in markdown}
        index.append(f"<h2>Profile <code>{escape.text(profile)}</code></h2>\n<ul>")
        for f in markdown:
            index.append(f'<li><a href="{escape.path_url("tables", profile, f.stem + ".html")}">'
                         f"{escape.text(_title(f))}</a> (<code>{escape.text(f.name)}</code>)</li>")
        index.append("</ul>\n")
        readme = site.root / profile / "tables" / "README.md"
        if readme.is_file():
            body = to_html(readme.read_text(encoding="utf-8"), _resolver(profile, rendered, 2))
            pages[f"tables/{profile}/index.html"] = page(f"Tables of profile {profile}", body, depth=2,
                                                         current="tables.html")
            index.append(f'<p><a href="{escape.path_url("tables", profile, "index.html")}">Index of '
                         f"<code>{escape.text(profile)}</code>'s tables (README.md)</a></p>\n")
        for f in markdown:
            pages[f"tables/{profile}/{f.stem}.html"] = _table_page(profile, f, files, rendered)
    pages["tables.html"] = page("Paper tables", "".join(index), current="tables.html")
    return pages


def _title(markdown: Path) -> str:
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return markdown.stem


def _table_page(profile: str, markdown: Path, files: list[Path], rendered: set[str]) -> str:
    text = markdown.read_text(encoding="utf-8")
    siblings = [f for f in files if f.stem == markdown.stem]
    links = " · ".join(
        f'<a href="{escape.path_url("..", "..", "files", profile, "tables", f.name)}">{escape.text(f.name)}</a>'
        for f in siblings)
    body = [f'<p class="files">Files: {links}</p>\n']
    if any(paper_label(h) for h in text.splitlines() if h.startswith("|")):
        body.append(f'<p class="paper-note"><span class="badge">{NOT_COMPARABLE}</span> {escape.text(PAPER_NOTE)}</p>\n')
    for f in siblings:
        if f.suffix == ".png":
            body.append(f'<figure><img src="{escape.path_url("..", "..", "files", profile, "tables", f.name)}" '
                        f'alt="{escape.attr(_title(markdown))}"></figure>\n')
    body.append(to_html(text, _resolver(profile, rendered, 2), header_label=paper_label))
    return page(f"{_title(markdown)} ({profile})", "".join(body), depth=2, current="tables.html")


def render_data_cards(site: Site) -> dict[str, str]:
    cards_dir = site.root / "data"
    cards = sorted(p for p in cards_dir.glob("*.md") if p.is_file()) if cards_dir.is_dir() else []
    pages = {}
    items = []
    for card in cards:
        pages[f"data/{card.stem}.html"] = page(f"Data card: {card.stem}", to_html(card.read_text(encoding="utf-8")),
                                               depth=1, current="data.html")
        items.append(f'<li><a href="{escape.path_url("data", card.stem + ".html")}">{escape.text(card.stem)}</a></li>')
    body = ("<p>Written by <code>grbench data card NAME</code>: sizes, positives per query, overlap of the test "
            "split with training, seen/unseen counts, reachable ceilings and the non-learned baselines.</p>\n"
            + (f"<ul>{''.join(items)}</ul>\n" if items else "<p>No data cards are stored.</p>\n"))
    pages["data.html"] = page("Data cards", body, current="data.html")
    return pages


def render_submit(site: Site) -> str:
    readme = site.root / "submissions" / "README.md"
    body = to_html(readme.read_text(encoding="utf-8"), escape.https_url) if readme.is_file() else (
        "<p>See <code>results/submissions/README.md</code> in the repository.</p>\n")
    return page("How to submit", body, current="submit.html")


def render_index(site: Site) -> str:
    rows = [[f'<a href="{escape.path_url(b.slug + ".html")}">{escape.text(b.title)}</a>',
             str(sum(r.kind == "reference" for r in b.rows)), str(sum(r.kind == "submission" for r in b.rows))]
            for b in site.boards]
    body = [
        "<p>grbench compares preference-alignment methods for generative retrieval (SFT, DPO, SimPO, ORPO, "
        "RAD-DPO and its ablations) with non-learned baselines, under identical budgets, with paired and "
        "seeded statistics. Each board is one track: the same dataset, data protocol, test split, SID catalog, "
        "beam width and evaluated queries. Sort by any column, filter by method family and by queries seen "
        "or held out of training; every method links to its runs and their stored files.</p>\n",
        "<h2>Boards</h2>\n",
        table(["Track", "Reference rows", "Submissions"], rows, numeric=[False, True, True]),
    ]
    if site.skipped:
        items = "".join(f"<li><code>{escape.text(name)}</code>: {escape.text(reason)}</li>" for name, reason in site.skipped)
        body.append(f"<h2>Submissions not shown</h2>\n<ul>{items}</ul>\n")
    return page("Leaderboard", "".join(body), current="index.html")
