"""Passages of a source text that best match a phrase, each exact and ready to quote.

An agent asks "where does the source say something like this?" and must get back text it
can paste into a citation unchanged. So every passage returned is a span of the text as a
reader sees it (:func:`veriwiki.core.quotes.reading_view`) that
:func:`veriwiki.core.quotes.find_quote` finds again in the raw text; a candidate that does
not round-trip is dropped rather than returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from veriwiki.core.claims import sentence_spans
from veriwiki.core.quotes import find_quote, reading_view

MAX_PASSAGE_CHARS = 600
"""A longer sentence (a table row, a list without full stops) is cut around the match."""
_MIN_SCORE = 0.35
_BLOCK = re.compile(r"[^\n]+(?:\n(?![ \t]*\n)(?![ \t]*#)[^\n]*)*")


@dataclass(frozen=True, slots=True)
class Passage:
    """A quotable span of a source: its text, where it is (raw offsets, page, line)."""

    text: str
    score: float
    start: int
    line: int
    page: int | None

    @property
    def locator(self) -> str:
        """``p. N`` for a source with pages, else ``line N`` (as ``source show --text``)."""
        return f"p. {self.page}" if self.page is not None else f"line {self.line}"

    def to_json(self) -> dict[str, object]:
        """The passage as ``find_in_source`` returns it."""
        return {"text": self.text, "locator": self.locator, "score": self.score,
                "line": self.line, "page": self.page}


def _trim(seen: str, i: int, j: int, phrase: str) -> tuple[int, int]:
    """Cut an over-long span down to the words around the best match of ``phrase``."""
    if j - i <= MAX_PASSAGE_CHARS:
        return i, j
    hit = fuzz.partial_ratio_alignment(phrase, seen[i:j], processor=utils.default_process)
    a, b = (hit.dest_start, hit.dest_end) if hit is not None else (0, 0)
    room = max(0, MAX_PASSAGE_CHARS - (b - a)) // 2
    a, b = max(0, a - room), min(j - i, b + room)
    while a > 0 and not seen[i + a - 1].isspace():
        a += 1
    while i + b < j and not seen[i + b].isspace():
        b -= 1
    return i + a, i + max(a, b)


def _quotable(raw: str, candidate: str) -> str | None:
    """``candidate`` (or it on one line) when find_quote finds it in ``raw``."""
    text = candidate.strip()
    for option in (text, " ".join(text.split())):
        if len(option) >= 8 and find_quote(raw, option) is not None:
            return option
    return None


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``, never across a blank line or out of a heading line."""
    spans: list[tuple[int, int]] = []
    for block in _BLOCK.finditer(text):
        start = block.start()
        for i, j in sentence_spans(block.group()):
            a, b = start + i, start + j
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b > a:
                spans.append((a, b))
    return spans


def _similarity(a: str, b: str, *, processor: object = None,
                score_cutoff: float | None = None) -> float:
    """0..100: the mean of word-set overlap (a paraphrase shares the words that matter)
    and the best partial alignment (a phrase copied from the passage)."""
    return (fuzz.token_set_ratio(a, b) + fuzz.partial_ratio(a, b)) / 2


def best_passages(raw: str, phrase: str, limit: int = 5) -> list[Passage]:
    """Up to ``limit`` passages of ``raw`` most like ``phrase``, best first (score 0..1):
    whole sentences (cut around the match when very long) ranked by fuzzy similarity."""
    if not phrase.strip() or not raw.strip():
        return []
    view = reading_view(raw)
    seen = raw if view is None else view.text
    found: list[Passage] = []
    taken: set[str] = set()

    def add(i: int, j: int, score: float) -> None:
        text = _quotable(raw, seen[i:j])
        match = find_quote(raw, text) if text is not None else None
        if text is None or match is None or text in taken or score < _MIN_SCORE:
            return
        taken.add(text)
        found.append(Passage(text, round(score, 3), match.start, match.line, match.page))

    spans = _sentences(seen)
    choices = [seen[i:j] for i, j in spans]
    ranked = process.extract(phrase, choices, scorer=_similarity,
                             processor=utils.default_process, limit=limit * 3)
    for _choice, score, index in ranked:
        if len(found) >= limit:
            break
        i, j = spans[index]
        i, j = _trim(seen, i, j, phrase)
        add(i, j, score / 100)
    found.sort(key=lambda p: -p.score)
    return found[:limit]
