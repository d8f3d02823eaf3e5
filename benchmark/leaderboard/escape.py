"""Escaping of user-supplied text (directory names, card fields, rejection reasons) for the rendered board.

Everything a submitter controls is data: it may hold ``|``, HTML, backticks, newlines or a spreadsheet
formula, and must reach the reader as that text, never as table structure, markup or a formula.

- Markdown: control characters (newlines included) become spaces, so a cell stays on its row; ``& < > | ` \\
  [ ]`` become HTML character references, which CommonMark/GFM show literally and never parse as markup,
  cell separators or link syntax. Text made only of ``[A-Za-z0-9._:+-]`` is left unchanged, so clean data
  renders exactly as before.
- CSV: control characters become spaces and a cell that would start a formula (first character ``= + - @``,
  tab or carriage return, or ``= + - @`` after leading blanks) gets a leading single quote (OWASP "CSV
  injection"); the ``csv`` module then quotes ``,`` and ``"`` (RFC 4180). Only text cells go through here:
  numbers the board formats itself (a negative delta starts with ``-``) are left as numbers.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode line / paragraph separators (a line break to some renderers).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MARKDOWN = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "`": "&#96;", "\\": "&#92;",
             "[": "&#91;", "]": "&#93;"}
_MARKDOWN_SPECIAL = re.compile("[" + re.escape("".join(_MARKDOWN)) + "]")
_PLAIN_CODE = re.compile(r"^[A-Za-z0-9._:+-]+$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def control_characters(text: str) -> list[str]:
    """The control characters in ``text``, as ``U+XXXX`` (for error messages)."""
    return sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(text)})


def markdown_text(text: object) -> str:
    """``text`` as one Markdown table cell / list item of plain text: no markup, no ``|``, no line break."""
    flat = _CONTROL.sub(" ", str(text))
    return _MARKDOWN_SPECIAL.sub(lambda m: _MARKDOWN[m.group(0)], flat)


def markdown_code(text: object) -> str:
    """``text`` as an inline code span when it is plain (identifier-like), else as escaped plain text: a code
    span cannot hold a backtick or ``|`` safely, and entities inside one would show up literally."""
    text = str(text)
    return f"`{text}`" if _PLAIN_CODE.match(text) else markdown_text(text)


def csv_text(text: object) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text: no control characters, no formula."""
    raw = str(text)
    flat = _CONTROL.sub(" ", raw)
    if raw.startswith(FORMULA_START) or flat.lstrip(" ").startswith(FORMULA_START):
        return "'" + flat
    return flat
