"""Search query terms: each word once, at most :data:`MAX_QUERY_TERMS` of them.

Full-text search cost grows with the number of terms (1,000 repeats of one word took
51 s); a repeat adds nothing to which pages match, and beyond a few dozen words a
query is a pasted document, not a question.
"""

from __future__ import annotations

import re
from collections import namedtuple

MAX_QUERY_TERMS = 32
_TERM = re.compile(r"\w+", re.UNICODE)


class QueryTerms(namedtuple("QueryTerms", "words repeats dropped", defaults=(0, 0))):
    """The words searched for (``words``, a tuple) and how many were left out
    (``repeats``, ``dropped``). A named tuple rather than a dataclass: ``veriwiki
    search`` imports this module, and the dataclasses module alone costs it ~15 ms."""

    __slots__ = ()
    words: tuple[str, ...]
    repeats: int
    dropped: int

    @property
    def note(self) -> str | None:
        """What was left out, for the person searching (None when nothing was)."""
        parts = []
        if self.repeats:
            parts.append(f"{self.repeats} repeated word(s) searched once")
        if self.dropped:
            parts.append(f"only the first {MAX_QUERY_TERMS} distinct words searched "
                         f"({self.dropped} left out)")
        return "; ".join(parts) or None


def query_terms(query: str) -> QueryTerms:
    """The distinct words of ``query`` (case-insensitively), in order, capped.

    A word that repeats keeps its last place, so the query's last word (searched as a
    prefix) stays last.
    """
    found = _TERM.findall(query)
    distinct: dict[str, str] = {}
    for word in found:
        key = word.casefold()
        distinct.pop(key, None)
        distinct[key] = word
    words = list(distinct.values())
    kept = words[:MAX_QUERY_TERMS]
    return QueryTerms(tuple(kept), len(found) - len(words), len(words) - len(kept))
