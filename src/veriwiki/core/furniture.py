"""PDF page furniture: running headers and footers, page numbers, footnotes.

A sentence that runs across a page break comes out of a PDF's text layer with the
page's footnotes, its page number and the next page's running title between its halves
(``inter-`` … footnote … ``12`` … title … ``national``). :func:`reading_view` gives the
text without them, with a map back to the raw text, so a quote across the break still
matches. Pages are separated by ``"\\f"`` (the extractor joins them with ``"\\n\\f\\n"``).

What counts as furniture (only among the first three and the last six non-blank lines
of a page):

- a line repeated at the top or bottom of at least two pages and of a quarter of them,
  digits ignored (``Llama 2: Open Foundation …``, ``Preprint. Page 3 of 12``);
- a page number: digits or roman numerals alone, ``Page 3``, ``3 / 12``, ``- 3 -``;
- a footnote at the foot of a page: a line starting with a footnote mark (``1 ``,
  ``*``, ``†``, ``¹``) and a capitalised word (``1 The``, ``4Since``, not ``7B models``),
  and the lines below it; the mark in the body text (``code.1 The``) is dropped too when
  the page has that footnote.
"""

from __future__ import annotations

import re
from functools import lru_cache

from veriwiki.core.rendered import View

_TOP, _BOTTOM = 3, 6
_DIGITS = re.compile(r"[0-9]+")
_PAGE_NUMBER = re.compile(r"(?i)[-–—\s]*(?:page\s+)?(?:[0-9]{1,4}|[ivxlc]{1,7})"
                          r"(?:\s*(?:/|of)\s*[0-9]{1,4})?[-–—\s]*")
# "1 The code…", "4Since Llama…", "† Work done…"; not "7B models…" (a glued capital must
# begin a word)
_FOOTNOTE = re.compile(r"\s*(?P<mark>[0-9]{1,2}|[*†‡§¶]|[¹²³⁴⁵⁶⁷⁸⁹⁰]{1,2})"
                       r"(?:\s[A-Z(\"“]|[A-Z][a-z])")


def _key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split())).lower()


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans (start, end including the newline) of the non-blank lines of a page."""
    out = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl + 1
        if text[pos:stop].strip():
            out.append((pos, stop))
        pos = stop
    return out


def furniture(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Raw spans of furniture lines, and of footnote marks in the body, in ``text``."""
    bounds, pos = [], 0
    for m in re.finditer("\f", text):
        bounds.append((pos, m.start()))
        pos = m.end()
    bounds.append((pos, len(text)))
    if len(bounds) < 2:
        return [], []
    pages = [_lines(text, a, b) for a, b in bounds]
    counts: dict[str, int] = {}
    for lines in pages:
        edge = {_key(text[a:b]) for a, b in lines[:_TOP] + lines[-_BOTTOM:]}
        for key in edge:
            counts[key] = counts.get(key, 0) + 1
    need = max(2, len(pages) // 4)
    repeated = {k for k, n in counts.items() if n >= need and len(k) > 0}

    def is_running(a: int, b: int) -> bool:
        line = text[a:b]
        return _key(line) in repeated or _PAGE_NUMBER.fullmatch(line.strip()) is not None

    drop: list[tuple[int, int]] = []
    marks: list[tuple[int, int]] = []
    for lines in pages:
        top = 0
        while top < min(_TOP, len(lines)) and is_running(*lines[top]):
            drop.append(lines[top])
            top += 1
        bottom = len(lines)
        while bottom > max(top, len(lines) - _BOTTOM) and is_running(*lines[bottom - 1]):
            bottom -= 1
        foot = bottom
        notes: set[str] = set()
        for k in range(bottom - 1, max(top, len(lines) - _BOTTOM) - 1, -1):
            note = _FOOTNOTE.match(text, lines[k][0], lines[k][1])
            if note is not None:
                foot = k
                notes.add(note["mark"])
        drop.extend(lines[foot:])
        if notes and foot > top:
            body = (lines[top][0], lines[foot - 1][1])
            marks.extend(_marks(text, body, notes))
    return sorted(drop), marks


def _marks(text: str, body: tuple[int, int], notes: set[str]) -> list[tuple[int, int]]:
    """Footnote marks glued to the end of a word or sentence in the body."""
    pattern = re.compile(r"(?<=[A-Za-z)][.,;:])(" + "|".join(map(re.escape, notes))
                         + r")(?=\s)|(?<=[a-z])(" + "|".join(
                             re.escape(n) for n in notes if not n.isdigit()) + r")(?=\W)"
                         if any(not n.isdigit() for n in notes) else
                         r"(?<=[A-Za-z)][.,;:])(" + "|".join(map(re.escape, notes)) + r")(?=\s)")
    return [m.span() for m in pattern.finditer(text, *body)]


@lru_cache(maxsize=64)
def reading_view(text: str) -> View | None:
    """``text`` without its page furniture and page breaks, or None when it has none."""
    if "\f" not in text:
        return None
    drop, marks = furniture(text)
    skips = sorted(drop + marks + [(m.start(), m.end()) for m in re.finditer("\f", text)])
    chars: list[str] = []
    origins: list[int] = []
    pos = 0
    for a, b in skips:
        if b <= pos:
            continue
        a = max(a, pos)
        chars.append(text[pos:a])
        origins.extend(range(pos, a))
        pos = b
    chars.append(text[pos:])
    origins.extend(range(pos, len(text)))
    origins.append(len(text))
    return View("".join(chars), tuple(origins))
