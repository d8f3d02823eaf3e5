"""``build_site``: the whole static site from a results root, as a pure function of its files.

Pages and copied files are written into a temporary directory that replaces ``out`` only when everything
succeeded (``benchmark.artifacts.atomic_dir``). Nothing time- or machine-dependent is written, pages are
produced in sorted order, and files are copied by content, so a rebuild from the same results is byte
identical. ``out`` is replaced only if it is empty or a site this function built (it holds ``MARKER``):
pointing ``--out`` at a directory of other files is an error, not a deletion.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
from importlib import resources
from pathlib import Path

from benchmark.artifacts import atomic_dir
from benchmark.errors import BenchmarkError
from benchmark.site import board, documents, methods
from benchmark.site.collect import Site, collect

log = logging.getLogger(__name__)

MARKER = ".grbench-site"
# Every path the site writes: stored names (profiles, run ids, methods, files) are plain; submissions use slugs.
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*(/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$")
STATIC = ("site.css", "site.js")


@dataclasses.dataclass(frozen=True)
class SiteSummary:
    out: Path
    pages: int
    files: int
    boards: int
    submissions: int
    skipped: tuple[tuple[str, str], ...]


def render_pages(results: Path | str) -> tuple[dict[str, str], dict[str, Path], Site]:
    """(site-relative path -> HTML, site-relative path -> stored file to copy, what was read)."""
    site = collect(results)
    pages: dict[str, str] = {"index.html": documents.render_index(site)}
    copies: dict[str, Path] = {}
    for b in site.boards:
        pages[f"{b.slug}.html"] = board.render_board(b)
    pages["methods.html"] = methods.render_index(site)
    for name, runs in methods.methods_by_name(site).items():
        pages[f"methods/{name}.html"] = methods.render_method(site, name, runs)
        for run in runs:
            profile = run.path.parent.parent.name
            for f in methods.run_files(run):
                copies[f"files/{profile}/runs/{run.result.run_id}/{f.name}"] = f
    for sub in site.submissions:
        pages[f"submissions/{sub.slug}.html"] = methods.render_submission(sub)
        for f in sorted(sub.path.iterdir()):
            if f.is_file() and not f.is_symlink() and methods.safe_name(f.name):
                copies[f"files/submissions/{sub.slug}/{f.name}"] = f
    pages.update(documents.render_table_pages(site))
    for profile in site.profiles:
        for f in documents.table_files(site.root / profile / "tables"):
            copies[f"files/{profile}/tables/{f.name}"] = f
        for f in methods.tuning_files(site.root / profile):
            copies[f"files/{profile}/{methods.TUNING_DIR}/{f.name}"] = f
    pages.update(documents.render_data_cards(site))
    pages["submit.html"] = documents.render_submit(site)
    return pages, copies, site


def build_site(results: Path | str, out: Path | str) -> SiteSummary:
    results, out = Path(results), Path(out)
    if not results.is_dir():
        raise BenchmarkError(f"--results {results} is not a directory.")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file())):
        raise BenchmarkError(f"--out {out} exists and is not a site built by `grbench site` (no {MARKER} file); "
                             "choose an empty or new directory.")
    pages, copies, site = render_pages(results)
    unsafe = sorted(rel for rel in [*pages, *copies] if not _SAFE_PATH.match(rel) or ".." in rel.split("/"))
    if unsafe:
        raise BenchmarkError(f"refusing to write site paths outside plain names: {unsafe[:5]}")
    with atomic_dir(out) as tmp:
        for rel in sorted(pages):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(pages[rel], encoding="utf-8")
        for rel in sorted(copies):
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(copies[rel], target)
        static = tmp / "static"
        static.mkdir()
        for name in STATIC:
            (static / name).write_bytes(resources.files("benchmark.site").joinpath("static", name).read_bytes())
        (tmp / MARKER).write_text("built by grbench site; safe to replace\n", encoding="utf-8")
    return SiteSummary(out, len(pages), len(copies), len(site.boards), len(site.submissions), tuple(site.skipped))
