"""Escaping for the site's three output contexts: HTML text, a double-quoted attribute value, and a URL.

Everything that reaches a page from a stored file is data. Text from a submission (card fields, the
directory name, a rejection reason) must show as those characters, never become markup, script or a link:

- ``text`` / ``attr``: control characters become spaces (as on the Markdown board, ``leaderboard.escape``);
  ``& < > " '`` become character references, so the value can neither open a tag nor leave its attribute.
  Pages only ever put values inside double-quoted attributes, and never inside ``<script>``, ``<style>``, an
  event-handler attribute or a ``style`` attribute.
- ``text_block``: the same, keeping line breaks (the content of a ``<pre>``).
- ``https_url``: the only way a submitted string becomes a link target. It must be an absolute ``https://``
  URL with a host, made only of the characters RFC 3986 allows (no spaces, quotes, angle brackets, controls or
  backslashes), no user-info; anything else gives None and the page shows the string as text.
- ``path_url``: a relative link the site builds itself, each segment percent-encoded.
"""

from __future__ import annotations

import html
import re
import urllib.parse

from benchmark.leaderboard.escape import control_characters

# Characters RFC 3986 allows in a URI (unreserved, reserved and the percent sign).
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
MAX_URL_LENGTH = 2000


def text(value: object) -> str:
    """``value`` as HTML text: no tag, entity or line break of its own survives."""
    raw = str(value)
    for code in control_characters(raw):
        raw = raw.replace(chr(int(code[2:], 16)), " ")
    return html.escape(raw, quote=True)


def text_block(value: object) -> str:
    """``value`` as the content of a ``<pre>``: like ``text``, but line breaks are kept."""
    return "\n".join(text(line) for line in str(value).split("\n"))


def attr(value: object) -> str:
    """``value`` for a double-quoted attribute (the same escaping as ``text``: quotes included)."""
    return text(value)


def https_url(value: object) -> str | None:
    """``value`` escaped for an ``href`` when it is a plain absolute https URL with a host, else None."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return None
    if not _URL_CHARS.match(value) or _PERCENT.search(value):
        return None
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc or not value.startswith("https://"):
        return None
    return attr(value)


def path_url(*segments: str) -> str:
    """A relative URL from path segments, each percent-encoded (``/`` inside a segment included)."""
    return attr("/".join(urllib.parse.quote(s, safe="") for s in segments))
