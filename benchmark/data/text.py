"""Content words: the vocabulary of derived queries (lowercased alphanumeric tokens, no stopwords, no numbers).

Van Gysel et al. (2016) and Ai et al. (2017) build queries from category names after lowercasing and removing
stopwords and duplicate words; the same normalisation is applied to titles for datasets without categories.
"""

from __future__ import annotations

import re
import unicodedata

# A small English stopword list plus e-commerce filler words that never make a query on their own.
STOPWORDS = frozenset(
    """
    a an and are as at be but by for from has have in into is it its of on or so than that the their them then
    there these this those to too up was were which while will with without you your our we us not no nor all
    any both each few more most other some such only own same very can just new de la le el et les des du x vs w
    amp quot nbsp etc inc ltd co pcs pc pack set lot pieces piece count ct
    """.split()
)

_TOKEN = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lowercase and strip accents ("Pokémon" -> "pokemon") so spelling variants share a query term."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """Lowercased, accent-folded alphanumeric tokens (any script), in order, duplicates kept."""
    return _TOKEN.findall(fold(text))


def content_words(text: str) -> list[str]:
    """Distinct content words of ``text`` in order of first occurrence.

    A content word is an alphanumeric token (letters or digits of any script) of length >= 2 that is not a stopword and not a pure number
    ("3d" and "75mm" are kept, "1" and "2" of "1/2-inch" are not).
    """
    seen: dict[str, None] = {}
    for token in tokens(text):
        if len(token) < 2 or token.isdigit() or token in STOPWORDS:
            continue
        seen.setdefault(token, None)
    return list(seen)
