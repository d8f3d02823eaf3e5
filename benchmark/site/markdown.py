"""The Markdown that ``grbench tables`` and ``grbench data card`` write, as HTML.

Only the subset those writers use: ATX headings, pipe tables, ``-`` lists, fenced code, paragraphs; inline
``**bold**``, ``*italic*``, ``<u>underline</u>``, ``code`` spans and ``[text](link)``. Every character is
escaped first (character references such as ``&#124;`` are decoded, then escaped again), and only those
constructs are turned back into tags, so no other markup in a file can reach a page. A link becomes an
``<a>`` only when ``resolve_link`` maps its target to a URL (relative files of the site, checked https URLs);
otherwise its text is shown plain.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from benchmark.site import escape

LinkResolver = Callable[[str], "str | None"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_UNDERLINE = re.compile(r"&lt;u&gt;(.*?)&lt;/u&gt;")


def no_links(target: str) -> str | None:
    return None


def to_html(markdown: str, resolve_link: LinkResolver = no_links, heading_offset: int = 1,
            header_label: Callable[[str], str | None] | None = None) -> str:
    """HTML for ``markdown``; headings are shifted down by ``heading_offset`` (the page has its own h1).

    ``header_label(text)`` may return a short label to attach to a table header cell (e.g. "not comparable
    in level" on the paper's reported columns)."""
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            out.append("<pre><code>" + escape.text_block("\n".join(lines[i + 1:end])) + "</code></pre>")
            i = end + 1
        elif m := _HEADING.match(line):
            level = min(len(m.group(1)) + heading_offset, 6)
            out.append(f"<h{level}>{inline(m.group(2), resolve_link)}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            end = i
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            out.append(_table(lines[i:end], resolve_link, header_label))
            i = end
        elif line.startswith(("- ", "* ")):
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                if lines[i].startswith(("- ", "* ")):
                    items.append(lines[i][2:])
                else:
                    items[-1] += " " + lines[i].strip()
                i += 1
            out.append("<ul>" + "".join(f"<li>{inline(t, resolve_link)}</li>" for t in items) + "</ul>")
        else:
            para: list[str] = []
            while i < len(lines) and lines[i].strip() and not _block_start(lines[i]):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para), resolve_link)}</p>")
    return "\n".join(out) + "\n"


def _block_start(line: str) -> bool:
    return bool(_HEADING.match(line)) or line.startswith(("```", "- ", "* ")) or line.lstrip().startswith("|")


def split_row(line: str) -> list[str]:
    """Cells of a pipe-table row; ``\\|`` inside a cell is a literal bar."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _table(rows: list[str], resolve_link: LinkResolver,
           header_label: Callable[[str], str | None] | None = None) -> str:
    if len(rows) < 2 or not _SEPARATOR.match(rows[1]):
        return "".join(f"<p>{inline(r, resolve_link)}</p>" for r in rows)
    header = split_row(rows[0])
    aligns = ["num" if c.strip().endswith(":") and not c.strip().startswith(":") else ""
              for c in split_row(rows[1])]
    aligns += [""] * (len(header) - len(aligns))

    label_of = header_label or (lambda text: None)
    paper_columns = [label_of(h) is not None for h in header]

    def cell(tag: str, k: int, value: str, paper: bool, badge: str | None = None) -> str:
        classes = [c for c, on in (("num", k < len(aligns) and aligns[k]), ("paper", paper)) if on]
        opened = f'<{tag} class="{" ".join(classes)}">' if classes else f"<{tag}>"
        extra = f' <span class="badge">{escape.text(badge)}</span>' if badge else ""
        return opened + inline(value, resolve_link) + extra + f"</{tag}>"

    head = "".join(cell("th", k, v, paper_columns[k], label_of(v)) for k, v in enumerate(header))
    html_rows, in_paper = [], False
    for line in rows[2:]:
        values = split_row(line)
        # a section row ("*Ablation studies*", "*Paper, Table 1 (reported ...)*"): one label, empty cells
        section = values[0].startswith("*") and not any(values[1:])
        if section:
            in_paper = label_of(values[0]) is not None
        html_rows.append("<tr>" + "".join(
            cell("td", k, v, in_paper or (k < len(paper_columns) and paper_columns[k]),
                 label_of(v) if section and k == 0 else None)
            for k, v in enumerate(values)) + "</tr>")
    return (f'<div class="scroll"><table class="md"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(html_rows)}</tbody></table></div>")


def inline(source: str, resolve_link: LinkResolver = no_links) -> str:
    """One line of Markdown as escaped HTML with the inline constructs listed in the module docstring."""
    parts = _CODE_SPAN.split(source)
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(f"<code>{escape.text(part)}</code>")
        else:
            out.append(_inline_text(part, resolve_link))
    return "".join(out)


def _inline_text(source: str, resolve_link: LinkResolver) -> str:
    links: list[str] = []

    def link(m: re.Match) -> str:
        label = _emphasis(escape.text(html.unescape(m.group(1))))
        url = resolve_link(html.unescape(m.group(2)))
        links.append(f'<a href="{url}">{label}</a>' if url else label)
        return f"\x00{len(links) - 1}\x00"

    marked = _LINK.sub(link, source.replace("\x00", " "))
    # control characters were replaced by escape.text, so \x00 placeholders cannot come from the source
    pieces = re.split(r"\x00(\d+)\x00", marked)
    out = []
    for k, piece in enumerate(pieces):
        out.append(links[int(piece)] if k % 2 else _emphasis(escape.text(html.unescape(piece))))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    escaped = _ITALIC.sub(r"<em>\1</em>", escaped)
    return _UNDERLINE.sub(r"<u>\1</u>", escaped)
