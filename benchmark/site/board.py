"""The board pages: one per track, sortable by any column, filterable by family and by seen/unseen queries.

The page works without script (every view is shown, rows in the primary metric's order); ``site.js`` adds
the sort buttons' behaviour, the family checkboxes and the seen/unseen switch by reading ``data-*`` attributes
that hold only values this module formats itself (numbers, family keys, view names).
"""

from __future__ import annotations

import math

from benchmark.site import escape
from benchmark.site.collect import REFERENCES, VIEWS, Board, Cell, Row
from benchmark.site.families import FAMILIES
from benchmark.site.layout import page

VIEW_TITLES = {"all": "All test queries", "seen": "Queries seen in training", "unseen": "Queries held out of training"}
VERDICT_TITLES = {"sft": "vs SFT", "lookup": "vs lookup"}
VERDICT_TEXT = {"better": "▲ better", "worse": "▼ worse", "n.s.": "n.s.", "reference": "reference"}


def render_board(board: Board) -> str:
    t = board.track
    families = sorted({r.family for r in board.rows}, key=list(FAMILIES).index)
    views = [v for v in VIEWS if any(v in r.cells for r in board.rows)]
    body = [
        '<p class="track">',
        f"Dataset <code>{escape.text(t.dataset)}</code> · data protocol {t.protocol} · "
        f"{t.n_queries:,} evaluated test queries · beam width {t.beam_width} · test hash "
        f"<code>{escape.text(t.test_hash[:16])}</code> · SID catalog <code>{escape.text(t.catalog_hash)}</code> · "
        "from " + " · ".join(
            f'<a href="{escape.path_url("files", board.profile, "tables", name)}">'
            f"<code>{escape.text(board.profile)}/tables/{escape.text(name)}</code></a>"
            for name in (f"{board.experiment}{'' if v == 'all' else '-' + v}.csv" for v in views)),
        "</p>\n",
        '<div class="controls" id="controls">',
        '<fieldset><legend>Queries</legend>',
        *(f'<label><input type="radio" name="view" value="{v}"{" checked" if v == "all" else ""}> '
          f"{escape.text(VIEW_TITLES[v])}</label>" for v in views),
        "</fieldset>",
        '<fieldset><legend>Method family</legend>',
        *(f'<label><input type="checkbox" name="family" value="{escape.attr(f)}" checked> '
          f"{escape.text(FAMILIES[f])}</label>" for f in families),
        "</fieldset></div>\n",
        _legend(board),
    ]
    for view in views:
        body.append(f'<section class="view" data-view="{view}"><h2>{escape.text(VIEW_TITLES[view])}</h2>\n')
        body.append(_table(board, view))
        body.append("</section>\n")
    body.append("<h2>Notes from the table</h2>\n<ul>" + "".join(
        f"<li>{_note(n)}</li>" for n in board.notes) + "</ul>\n")
    return page(board.title, "".join(body), depth=0, current="index.html")


def _note(note: str) -> str:
    from benchmark.site.markdown import inline

    return inline(note)


def _legend(board: Board) -> str:
    verdicts = " and ".join(VERDICT_TITLES[r] for r in references(board)) or "none"
    return (
        '<p class="legend">Cells: mean over seeds (± sample std over seeds when there are several). '
        "Marks are the table's Holm-adjusted paired permutation tests (α = 0.05): "
        "<span class=\"mark\">†</span> differs significantly from the SFT row (continued SFT, the budget-matched "
        "control), <span class=\"mark\">§</span> from the query lookup table, <span class=\"mark\">‡</span> "
        "from the best pairwise method; hover a mark for its adjusted p-values. The verdict columns "
        f"({escape.text(verdicts)}) read those tests on <code>{escape.text(board.primary)}</code>. Submitted rows carry the validator's own "
        "tests against the same reference runs (Holm over the references), on all queries only.</p>\n"
    )


def _sort_value(cell: Cell | None) -> str:
    return "" if cell is None or cell.value is None or math.isnan(cell.value) else f"{cell.value:.6f}"


def _order(board: Board, view: str) -> list[Row]:
    primary = next(c for c in board.columns if c.key == board.primary)

    def key(row: Row) -> tuple:
        cell = row.cells.get(view, {}).get(board.primary)
        if cell is None or cell.value is None:
            return (1, 0.0, row.label, row.kind, row.source)
        return (0, cell.value if primary.lower_is_better else -cell.value, row.label, row.kind, row.source)

    return sorted((r for r in board.rows if view in r.cells), key=key)


def references(board: Board) -> tuple[str, ...]:
    """The verdict columns a board has: against SFT, and against the lookup table where the track has one."""
    keys = {r.key for r in board.rows if r.kind == "reference"}
    return tuple(name for name, (key, _) in REFERENCES.items() if key in keys)


def _table(board: Board, view: str) -> str:
    refs = references(board)
    head = ['<th scope="col">#</th>']
    labels = ["Method", "Family", "Source", "Seeds"]
    labels += [c.title for c in board.columns]
    groups = ["", "", "", ""] + [c.group for c in board.columns] + ["", ""]
    labels += ["vs SFT", "vs lookup"]
    numeric_from = 3
    for k, label in enumerate(labels):
        kind = "num" if numeric_from <= k < numeric_from + 1 + len(board.columns) else "text"
        cls = ' class="num"' if kind == "num" else ""
        group = f'<span class="group">{escape.text(groups[k])}</span>' if groups[k] else ""
        head.append(f'<th scope="col"{cls} aria-sort="none">{group}<button type="button" class="sort" '
                    f'data-kind="{kind}">{escape.text(label)}</button></th>')
    rows = []
    for rank, row in enumerate(_order(board, view), 1):
        cells = row.cells[view]
        href = escape.path_url(*row.page.split("/")) + (f"#{escape.attr(row.source)}" if row.kind == "reference" else "")
        source = row.source if row.kind == "reference" else f"submission: {row.source}"
        tds = [
            f'<td class="num">{rank}</td>',
            f'<td><a class="method" href="{href}">{escape.text(row.label)}</a></td>',
            f"<td>{escape.text(FAMILIES[row.family])}</td>",
            f"<td>{escape.text(source)}</td>",
            f'<td class="num" data-sort="{row.seeds}">{row.seeds}</td>',
        ]
        for column in board.columns:
            cell = cells.get(column.key)
            tds.append(_metric_cell(cell))
        primary = cells.get(board.primary)
        for ref in refs:
            verdict = primary.verdicts.get(ref) if primary is not None else None
            text = VERDICT_TEXT.get(verdict, "n/a") if verdict else "n/a"
            tds.append(f'<td class="verdict {escape.attr(verdict or "na").replace(".", "")}">{escape.text(text)}</td>')
        rows.append(f'<tr data-family="{escape.attr(row.family)}" data-kind="{escape.attr(row.kind)}">'
                    + "".join(tds) + "</tr>\n")
    return (f'<div class="scroll"><table class="board" data-primary="{escape.attr(board.primary)}">'
            f'<thead><tr>{"".join(head)}</tr></thead><tbody>\n{"".join(rows)}</tbody></table></div>\n')


def _metric_cell(cell: Cell | None) -> str:
    if cell is None:
        return '<td class="num" data-sort="">—</td>'
    marks = ""
    if cell.marks:
        marks = f'<sup class="mark" title="Holm-adjusted p: {escape.attr(cell.pvalues)}">{escape.text(cell.marks)}</sup>'
    return f'<td class="num" data-sort="{_sort_value(cell)}">{escape.text(cell.text)}{marks}</td>'
