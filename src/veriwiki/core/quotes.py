"""Quote matching: is a cited quote in its source, and if not, what is closest.

Matching is exact after the normalisation real sources need and nothing more
(:func:`normalize`): Unicode NFKC, quote and dash variants, soft hyphens, zero-width
characters, words hyphenated across line breaks, and white-space runs. Case and other
punctuation are kept, so a changed digit, dropped word or different case never
matches. Every offset reported refers to the original, un-normalised text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from veriwiki.core.furniture import reading_view as furniture_view
from veriwiki.core.rendered import View, is_marked_up, render

_QUOTES = {c: "'" for c in "\u2018\u2019\u201a\u201b\u2032\u2039\u203a"}
_QUOTES.update({c: '"' for c in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"})
_DASHES = {c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"}
_TRANSLATE = str.maketrans({**_QUOTES, **_DASHES})
_DROP = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
_BREAK = "\n\r\f\v\u0085\u2028\u2029"
_WIDE_HYPHENS = "\u2010\u2011\u00ad"  # hyphen, non-breaking hyphen, soft hyphen
_HYPHENS = "\\-" + _WIDE_HYPHENS
# ASCII white space becomes a space first (offsets do not move), so the scan below
# stops only where work is needed: runs of spaces, non-ASCII characters, and hyphens
# followed by white space (those at a line break are told apart by _LINE_HYPHEN on
# the original text).
_ASCII_SPACES = "\t\n\v\f\r\x1c\x1d\x1e\x1f"
_LINE_HYPHEN = re.compile(rf"[{_HYPHENS}][^\S{_BREAK}]*[{_BREAK}]\s*")
_SPECIAL = re.compile(rf"[{_HYPHENS}](?=\s)|[^\x20-\x7e{_WIDE_HYPHENS}]+|[{_WIDE_HYPHENS}]|  +")
_WORD = re.compile(r"\S+")
_MARK = "\u00ad"  # internal stand-in for a line-break hyphen; soft hyphens never survive
PAGE_BREAK = "\n\f\n"  # how the PDF extractor joins pages


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text and the map from its offsets back to the original text.

    The map is piecewise linear: normalised offset ``starts[k] + d`` came from original
    offset ``origins[k] + d`` while inside segment ``k``. A segment whose ``ends[k]`` is
    not -1 is one normalised character produced from ``origins[k]:ends[k]``.
    """

    text: str
    original_length: int
    starts: tuple[int, ...]
    origins: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, i: int) -> int:
        """The original offset of normalised character ``i`` (its length maps to the end)."""
        if i >= len(self.text):
            return self.original_length
        k = bisect_right(self.starts, max(i, 0)) - 1
        return self.origins[k] + (i - self.starts[k])

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The original ``(start, end)`` covering normalised characters ``i:j``."""
        if j <= i:
            return self.to_original(i), self.to_original(i)
        k = bisect_right(self.starts, j - 1) - 1
        end = self.ends[k] if self.ends[k] >= 0 else self.origins[k] + (j - self.starts[k])
        return self.to_original(i), end


@dataclass(frozen=True, slots=True)
class QuoteMatch:
    """Where a quote occurs in the original source text."""

    start: int
    end: int
    line: int
    page: int | None = None


class _Builder:
    """Accumulates normalised text and its offset map."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.starts: list[int] = []
        self.origins: list[int] = []
        self.ends: list[int] = []
        self.last = " "  # so leading white space collapses away at the very start

    def verbatim(self, chunk: str, origin: int) -> None:
        if chunk[:1] == " " and self.last == " ":
            chunk, origin = chunk[1:], origin + 1
        if chunk:
            self._add(chunk, origin, -1)

    def char(self, c: str, origin: int, end: int) -> None:
        if c != " " or self.last != " ":
            self._add(c, origin, end)

    def _add(self, chunk: str, origin: int, end: int) -> None:
        self.starts.append(self.length)
        self.origins.append(origin)
        self.ends.append(end)
        self.parts.append(chunk)
        self.length += len(chunk)
        self.last = chunk[-1]


@lru_cache(maxsize=4096)
def _fold(cluster: str) -> str:
    """One base character with its combining marks, normalised."""
    out = unicodedata.normalize("NFKC", cluster.translate(_TRANSLATE)).translate(_TRANSLATE)
    return "".join(" " if c.isspace() else c for c in out if c not in _DROP)


def _special(b: _Builder, chunk: str, origin: int) -> None:
    i, n = 0, len(chunk)
    while i < n:
        c = chunk[i]
        j = i + 1
        while j < n and unicodedata.combining(chunk[j]):
            j += 1
        if c in _DROP and j == i + 1:
            pass
        elif c.isspace():
            b.char(" ", origin + i, origin + j)
        elif c < "\x7f" and j == i + 1:
            b.char(c, origin + i, origin + j)
        else:
            for out in _fold(chunk[i:j]):
                b.char(out, origin + i, origin + j)
        i = j


def _line_hyphens(text: str) -> dict[int, int]:
    """Spans of hyphens at a line break that follow a word character and precede text."""
    return {m.start(): m.end() for m in _LINE_HYPHEN.finditer(text)
            if m.start() > 0 and m.end() < len(text)
            and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_")}


def _build(text: str, mark: bool) -> Normalized:
    b = _Builder()
    hyphens = _line_hyphens(text)
    spaced = text
    for c in _ASCII_SPACES:
        spaced = spaced.replace(c, " ")
    pos = 0
    while (m := _SPECIAL.search(spaced, pos)) is not None:
        start, end = m.span()
        if start > pos and unicodedata.combining(text[start]):
            start -= 1  # compose the mark with the character it follows
        b.verbatim(spaced[pos:start], pos)
        if start in hyphens:
            end = hyphens[start]
            if mark:
                b.char(_MARK, start, start + 1)
            elif not (text[start] == "\u00ad" or (text[start - 1].isalpha()
                                                  and text[end].islower())):
                _special(b, text[start:end], start)  # a compound, not a split word
        else:
            _special(b, text[start:end], start)
        pos = end
    b.verbatim(spaced[pos:], pos)
    return Normalized("".join(b.parts), len(text), tuple(b.starts), tuple(b.origins),
                      tuple(b.ends))


# Sources are normalised once and reused across their many quotes; short texts (the
# quotes themselves) bypass the cache so they cannot evict the sources.
_build_cached = lru_cache(maxsize=256)(_build)
_CACHE_FROM = 1024


def _normalize(text: str, mark: bool) -> Normalized:
    return (_build_cached if len(text) >= _CACHE_FROM else _build)(text, mark)


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for quote matching, keeping a map back to the original.

    NFKC (which folds ligatures), curly quotes to straight, dashes to ``-``, soft
    hyphens and zero-width characters removed, every white-space run to one space
    (a leading run is dropped). A word hyphenated at a line break is joined when the
    next line goes on in lower case ("informa-\\ntion" → "information"); other
    hyphens at a line break are kept with the white space after them ("GPT-\\n4" →
    "GPT- 4"), and hyphens inside a line are kept ("decoder-only").
    """
    return _normalize(text, mark=False)


def _resolve_marks(word: str, wanted: set[str]) -> str:
    """A word holding line-break hyphens, spelt as the quote spells it when matching allows."""
    if _MARK not in word:
        return word
    marks = [k for k, c in enumerate(word) if c == _MARK]
    joinable = [word[k - 1 : k].isalpha() and word[k + 1 : k + 2].islower() for k in marks]
    kept, joined = word.replace(_MARK, "-"), word.replace(_MARK, "")
    if kept in wanted or (joined in wanted and all(joinable)):
        return kept if kept in wanted else joined
    return "".join("" if c == _MARK and word[k + 1 : k + 2].islower() else
                   "-" if c == _MARK else c for k, c in enumerate(word))


@lru_cache(maxsize=1024)
def _needle_pattern(needle: str) -> re.Pattern[str]:
    """A pattern for a marked needle that lets line-break hyphens go either way."""
    parts: list[str] = []
    for k, c in enumerate(needle):
        prev, nxt = needle[k - 1 : k], needle[k + 1 : k + 2]
        if c == _MARK:
            parts.append("[-\u00ad]?")
        elif c == "-" and (prev.isalnum() or prev == "_") and nxt and not nxt.isspace():
            parts.append("[-\u00ad]")
        else:
            parts.append(re.escape(c))
        if c.isalpha() and nxt.islower():
            parts.append("\u00ad?")
    return re.compile("".join(parts))


def _is_whole(text: str, i: int, j: int) -> bool:
    """Whether ``text[i:j]`` neither starts nor ends inside a word or number."""
    first, last = text[i], text[j - 1]
    before, after = text[i - 1 : i], text[j : j + 1]
    if first.isalnum() and (before.isalnum() or (
            first.isdigit() and before in (".", ",") and text[i - 2 : i - 1].isdigit())):
        return False
    return not (last.isalnum() and (after.isalnum() or (
        last.isdigit() and after in (".", ",") and text[j + 1 : j + 2].isdigit())))


def _locate(source: str, quote: str) -> tuple[int, int] | None:
    """The original span of the first whole occurrence of ``quote`` in ``source``."""
    needle = _normalize(quote, mark=True).text.strip()
    if not needle.replace(_MARK, "").strip():
        return None
    norm = _normalize(source, mark=True)
    # fast path: a literal occurrence is also a match of the tolerant pattern below
    pos = norm.text.find(needle)
    while pos >= 0:
        if _is_whole(norm.text, pos, pos + len(needle)):
            return norm.span(pos, pos + len(needle))
        pos = norm.text.find(needle, pos + 1)
    if _MARK not in norm.text and "\u00ad" not in norm.text and _MARK not in needle and \
            "-" not in needle:
        return None  # nothing the tolerant pattern could add
    pattern, pos = _needle_pattern(needle), 0
    while (m := pattern.search(norm.text, pos)) is not None:
        if _is_whole(norm.text, *m.span()):
            return norm.span(*m.span())
        pos = m.start() + 1
    return None


def reading_view(source: str) -> View | None:
    """The text a reader sees, when it differs from ``source``: a PDF's text without
    its page furniture, or marked-up text rendered; None for plain text."""
    if "\f" in source:
        return furniture_view(source)
    return render(source) if is_marked_up(source) else None


def shown_position(source: str, offset: int) -> tuple[int | None, int]:
    """(page, line) of ``offset`` as ``veriwiki source show ID --text`` prints the text.

    A PDF's text (pages separated by ``"\f"``) is printed page by page, each page after
    a ``--- page N ---`` line; other texts as they are. Page is None without pages.
    """
    if "\f" not in source:
        return None, source.count("\n", 0, offset) + 1
    line, page, start = 0, 1, 0
    while True:
        brk = source.find(PAGE_BREAK, start)
        if brk < 0 or brk >= offset:
            return page, line + 1 + source.count("\n", start, max(start, offset)) + 1
        body = source[start:brk]
        line += 1 + body.count("\n") + (0 if body.endswith("\n") else 1)
        page, start = page + 1, brk + len(PAGE_BREAK)


def _match(source: str, span: tuple[int, int]) -> QuoteMatch:
    page, line = shown_position(source, span[0])
    return QuoteMatch(span[0], span[1], line, page)


def find_raw_quote(source: str, quote: str) -> QuoteMatch | None:
    """:func:`find_quote` in the raw text only (no rendered or furniture-free view)."""
    span = _locate(source, quote)
    return None if span is None else _match(source, span)


def find_quote(source: str, quote: str) -> QuoteMatch | None:
    """The first occurrence of ``quote`` in ``source`` after normalisation, or None.

    The occurrence must not start or end inside a word or number ("7B" is not found
    in "67B", "1.5" not in "21.55"). A hyphen at a line break in the source matches
    the quote with or without it, so "decoder-\\nonly" matches "decoder-only" and
    "informa-\\ntion" matches "information". A quote that normalises to nothing never
    matches. When the raw text does not hold the quote, the text as a reader sees it
    (:func:`reading_view`) is searched, with the quote also read as rendered, so a quote
    copied from a rendered model card or across a PDF page break is found; the match
    is reported in the raw text's offsets. ``line`` (and ``page``) are as
    ``veriwiki source show ID --text`` prints them.
    """
    span = _locate(source, quote)
    if span is not None:
        return _match(source, span)
    needles = [quote]
    if is_marked_up(quote):
        rendered = render(quote).text
        if rendered != quote:
            needles.append(rendered)
            span = _locate(source, rendered)
            if span is not None:
                return _match(source, span)
    view = reading_view(source)
    if view is None:
        return None
    for needle in needles:
        span = _locate(view.text, needle)
        if span is not None:
            return _match(source, view.span(*span))
    return None



__all__ = ["PAGE_BREAK", "Normalized", "QuoteMatch", "find_quote", "find_raw_quote",
           "normalize", "reading_view", "shown_position"]
