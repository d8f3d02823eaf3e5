"""``grbench site``: build the static website (boards, method pages, tables, data cards) from stored results."""

from __future__ import annotations

import argparse
import sys

HELP = """\
Build a static website from the stored results: a board per track (sortable by any metric, filterable by
method family and by seen/unseen queries, with the tables' significance marks against SFT and the lookup
baseline), one page per method with its run cards and links to every stored file, the paper-table pages, the
data cards and how to submit. HTML, one CSS and one small script: no server, no network at view time, no CDN.
The site is a pure function of --results: a rebuild is byte-identical. Open OUT/index.html or deploy OUT to
any static host.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "site", help="build the static leaderboard website from stored results", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results", default="results", help="results root (default ./results)")
    parser.add_argument("--out", required=True, help="output directory (replaced; must be new, empty or a site)")
    parser.set_defaults(func=run_site)


def run_site(args: argparse.Namespace) -> int:
    from benchmark.site import build_site

    summary = build_site(args.results, args.out)
    sys.stdout.write(
        f"site -> {summary.out}/index.html: {summary.pages} pages, {summary.files} stored files, "
        f"{summary.boards} boards, {summary.submissions} submissions\n"
    )
    for name, reason in summary.skipped:
        sys.stdout.write(f"  submission left out: {name!r}: {reason}\n")
    return 0
