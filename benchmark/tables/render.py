"""One table object, three renderings: Markdown, LaTeX and CSV.

Every table and figure of the paper is first built as a ``Table`` (numbers, emphasis, significance marks,
notes) by a pure function of stored results; the renderers below only format it. That keeps the three files
in agreement by construction, and byte-identical on a rerun: no timestamps, rows and columns in the order the
builder gave, numbers formatted with a fixed number of decimals.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from typing import Any

from benchmark.metrics.registry import FAMILY_GROUPS, get_metric

MISSING = "–"  # en dash: no run behind this cell

# Unicode used in titles, labels and marks -> LaTeX (math mode where needed).
_LATEX_SYMBOLS = {
    "±": r"$\pm$",
    "†": r"$^{\dagger}$",
    "‡": r"$^{\ddagger}$",
    "↓": r"$\downarrow$",
    "↑": r"$\uparrow$",
    "η": r"$\eta$",
    "Δ": r"$\Delta$",
    "−": "-",
    "–": "--",
    "—": "---",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "×": r"$\times$",
}
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}

CSV_HEADER = (
    "table",
    "section",
    "row",
    "row_key",
    "group",
    "column",
    "column_key",
    "value",
    "std",
    "n_seeds",
    "emphasis",
    "marks",
    "p_adjusted",
    "text",
)


@dataclasses.dataclass(frozen=True)
class Column:
    """A value column. ``key`` is the machine name (a metric name or ``<group>:<metric>``), ``header`` the
    short printed name, ``group`` a heading shared by adjacent columns ("Item-level", "Paper")."""

    key: str
    header: str
    group: str = ""
    decimals: int = 4
    signed: bool = False  # print a sign (+/-): gaps and relative improvements
    lower_is_better: bool = False


def metric_column(name: str, group: str | None = None) -> Column:
    """The column of a registered metric: its short label as header, under its family's heading (or
    ``group``), with its direction (``benchmark.metrics.registry``)."""
    metric = get_metric(name)
    return Column(name, metric.label, FAMILY_GROUPS[metric.family] if group is None else group,
                  lower_is_better=metric.lower_is_better)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One number: ``value`` (None = missing), its spread across seeds (``std``; None when not applicable,
    NaN with one seed), how many seeds it aggregates (0 = not from this benchmark's runs, e.g. the paper),
    emphasis ("best" / "second" / ""), significance marks and the Holm-adjusted p-value behind each mark."""

    value: float | None = None
    std: float | None = None
    n_seeds: int = 0
    emphasis: str = ""
    marks: str = ""
    pvalues: tuple[tuple[str, float], ...] = ()
    signed: bool = False  # print a sign even if the column does not (a gap row in a table of levels)


@dataclasses.dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    key: str = ""  # e.g. the method name
    section: str = ""  # rows with a new section get a section heading row before them


@dataclasses.dataclass(frozen=True)
class Table:
    name: str  # file stem: table1, table2, fig2, noise, games
    title: str
    stub_header: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row.cells) != len(self.columns):
                raise ValueError(
                    f"table {self.name!r}: row {row.label!r} has {len(row.cells)} cells for {len(self.columns)} columns"
                )


# ----------------------------------------------------------------------------------------------- numbers
def format_number(value: float, decimals: int, signed: bool = False) -> str:
    """Fixed-decimal text; a value that rounds to zero prints without a minus sign ("-0.0000" never)."""
    if round(value, decimals) == 0:
        value = 0.0
    return f"{value:+.{decimals}f}" if signed and value != 0 else f"{value:.{decimals}f}"


def cell_numbers(cell: Cell, column: Column) -> tuple[str, str]:
    """(value text, std text) as printed; "" where absent. A NaN std (one seed) prints no spread."""
    if cell.value is None:
        return "", ""
    value = format_number(cell.value, column.decimals, column.signed or cell.signed)
    has_std = cell.std is not None and not math.isnan(cell.std)
    std = format_number(cell.std, column.decimals) if has_std else ""
    return value, std


def cell_text(cell: Cell, column: Column) -> str:
    """Plain text of a cell without marks or emphasis: "0.2958 ± 0.0012", "0.2958" or "–"."""
    value, std = cell_numbers(cell, column)
    if not value:
        return MISSING
    return f"{value} ± {std}" if std else value


def column_title(column: Column) -> str:
    arrow = " ↓" if column.lower_is_better else ""
    return f"{column.header}{arrow}"


# ----------------------------------------------------------------------------------------------- markdown
def _md_escape(text: str) -> str:
    return text.replace("|", r"\|")


def _md_cell(cell: Cell, column: Column) -> str:
    text = _md_escape(cell_text(cell, column))
    if cell.emphasis == "best":
        text = f"**{text}**"
    elif cell.emphasis == "second":
        text = f"<u>{text}</u>"
    return text + cell.marks


def to_markdown(table: Table) -> str:
    """GitHub Markdown: title, one table (column groups prefixed to headers, sections as italic rows), notes."""
    headers = [table.stub_header] + [
        f"{c.group} {column_title(c)}" if c.group else column_title(c) for c in table.columns
    ]
    lines = [f"### {_md_escape(table.title)}", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in headers) + " |")
    lines.append("|" + "|".join([":---"] + ["---:"] * len(table.columns)) + "|")
    section = ""
    for row in table.rows:
        if row.section != section:
            section = row.section
            if section:
                lines.append("| " + " | ".join([f"*{_md_escape(section)}*"] + [""] * len(table.columns)) + " |")
        cells = [_md_cell(cell, col) for cell, col in zip(row.cells, table.columns)]
        lines.append("| " + " | ".join([_md_escape(row.label)] + cells) + " |")
    if table.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in table.notes)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- latex
def latex_escape(text: str) -> str:
    out = []
    for char in text:
        out.append(_LATEX_SPECIALS.get(char) or _LATEX_SYMBOLS.get(char) or char)
    return "".join(out)


def _latex_cell(cell: Cell, column: Column) -> str:
    value, std = cell_numbers(cell, column)
    if not value:
        return "--"
    text = f"{value} $\\pm$ {std}" if std else value
    if cell.emphasis == "best":
        text = f"\\textbf{{{text}}}"
    elif cell.emphasis == "second":
        text = f"\\underline{{{text}}}"
    return text + latex_marks(cell.marks)


def latex_marks(marks: str) -> str:
    """"†‡" -> "$^{\\dagger\\ddagger}$": all marks in one superscript."""
    if not marks:
        return ""
    names = {"†": r"\dagger", "‡": r"\ddagger", "§": r"\S"}
    return "$^{" + "".join(names.get(m, latex_escape(m)) for m in marks) + "}$"


def _column_groups(columns: tuple[Column, ...]) -> list[tuple[str, int, int]]:
    """(group, first, last) runs of adjacent columns, 1-based positions counted after the stub column."""
    groups: list[tuple[str, int, int]] = []
    for i, column in enumerate(columns, start=2):
        if groups and groups[-1][0] == column.group:
            groups[-1] = (column.group, groups[-1][1], i)
        else:
            groups.append((column.group, i, i))
    return groups


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment: group headings with cmidrules, sections as italic rows, notes below."""
    n = len(table.columns) + 1
    lines = [
        f"% {table.name}: generated by `grbench tables` from stored results; do not edit.",
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        f"\\caption{{{latex_escape(table.title)}}}",
        f"\\label{{tab:{table.name}}}",
        "\\begin{tabular}{l" + "c" * len(table.columns) + "}",
        "\\toprule",
    ]
    groups = _column_groups(table.columns)
    if any(group for group, _, _ in groups):
        heads = [""]
        rules = []
        for group, first, last in groups:
            width = last - first + 1
            heads.append(f"\\multicolumn{{{width}}}{{c}}{{{latex_escape(group)}}}" if group else " & ".join([""] * width))
            if group:
                rules.append(f"\\cmidrule(lr){{{first}-{last}}}")
        lines.append(" & ".join(heads) + " \\\\")
        lines.append(" ".join(rules))
    lines.append(" & ".join([latex_escape(table.stub_header)] + [latex_escape(column_title(c)) for c in table.columns]) + " \\\\")
    lines.append("\\midrule")
    section = ""
    for i, row in enumerate(table.rows):
        if row.section != section:
            if i > 0:
                lines.append("\\midrule")
            section = row.section
            if section:
                lines.append(f"\\multicolumn{{{n}}}{{l}}{{\\textit{{{latex_escape(section)}}}}} \\\\")
        cells = [_latex_cell(cell, col) for cell, col in zip(row.cells, table.columns)]
        lines.append(" & ".join([latex_escape(row.label)] + cells) + " \\\\")
    lines.append("\\bottomrule")
    lines.append("\\end{tabular}")
    if table.notes:
        lines.append("")
        lines.append("\\par\\smallskip\\footnotesize")
        lines.extend(latex_escape(note) + "\\par" for note in table.notes)
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- csv
def to_csv(table: Table) -> str:
    """Long format, one line per cell: every printed number with its seeds, emphasis, marks and p-values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in table.rows:
        for cell, column in zip(row.cells, table.columns):
            value, std = cell_numbers(cell, column)
            pvalues = ";".join(f"{mark}={p:.6g}" for mark, p in cell.pvalues)
            writer.writerow(
                [
                    table.name,
                    row.section,
                    row.label,
                    row.key,
                    column.group,
                    column_title(column),
                    column.key,
                    value,
                    std,
                    cell.n_seeds,
                    cell.emphasis,
                    cell.marks,
                    pvalues,
                    cell_text(cell, column),
                ]
            )
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------- png
def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure of ``width`` x ``height`` inches at 100 dpi on its own Agg canvas: no pyplot global
    state, so figures drawn in parallel or in a test never share anything."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def figure_png(figure: Any, *, legend_from: Any = None, legend_on: Any = None, **legend: Any) -> bytes:
    """The PNG bytes of ``figure`` after ``tight_layout``, without the "Software" text chunk, so the bytes depend
    only on what was drawn and the matplotlib version (a rerun rewrites identical files).

    ``legend_from``: an axes whose labelled artists make a frameless legend, drawn on ``legend_on`` (default the
    same axes) with the keyword arguments ``legend`` (e.g. fontsize); nothing is drawn when it has none.
    """
    if legend_from is not None:
        handles, labels = legend_from.get_legend_handles_labels()
        if handles:
            (legend_on or legend_from).legend(handles, labels, frameon=False, **legend)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
