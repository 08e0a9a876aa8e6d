"""Finding which other source holds a quote: one search over every source at once.

A quote missing from its cited source is looked for in the vault's other sources. Trying
:func:`veriwiki.core.quotes.find_quote` on each would normalise (and render) every
source once per missing quote; instead the texts are lightly normalised once into one
:class:`Corpus` (white space collapsed, quote and dash variants folded, words hyphenated
at a line end joined) and searched with one ``str.find``. A hit only names a candidate:
the caller confirms it with ``find_quote``, which also gives the place.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator

_QUOTES = {c: "'" for c in "\u2018\u2019\u201a\u201b\u2032\u2039\u203a"}
_QUOTES.update({c: '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"})
_DASHES = {c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"}
_FOLD = str.maketrans({**_QUOTES, **_DASHES, "\u00ad": "", "\u200b": "", "\f": " "})
_LINE_HYPHEN = re.compile(r"(?<=[A-Za-z])-[ \t]*\n\s*(?=[a-z])")
_GAP = "\n\x00\n"


def light(text: str) -> str:
    """``text`` with line-end hyphens joined, variants folded and white space collapsed."""
    return " ".join(_LINE_HYPHEN.sub("", text).translate(_FOLD).split())


class Corpus:
    """Many texts, lightly normalised and joined, for finding which ones hold a phrase."""

    def __init__(self, texts: Iterable[tuple[str, str]]) -> None:
        parts: list[str] = []
        self.ids: list[str] = []
        self.starts: list[int] = []
        at = 0
        for key, text in texts:
            folded = light(text)
            self.ids.append(key)
            self.starts.append(at)
            parts.append(folded)
            at += len(folded) + len(_GAP)
        self.text = _GAP.join(parts)

    def holders(self, phrase: str) -> Iterator[str]:
        """The keys of the texts holding ``phrase`` (lightly normalised), in corpus order."""
        needle = light(phrase)
        if not needle:
            return
        seen: set[str] = set()
        pos = self.text.find(needle)
        while pos >= 0:
            key = self.ids[bisect_right(self.starts, pos) - 1]
            if key not in seen:
                seen.add(key)
                yield key
            pos = self.text.find(needle, pos + 1)
