"""Citation locators (``p. 9``, ``pp. 9-10``, ``§3.2``, ``sec. 4``, ``L12``, ``L12-L14``)
checked against where the quote was found.

A line locator (``L12``, ``L12-L14``, ``L12-14``, ``line 12``, ``lines 12-14``) is
checked in sources without pages (markdown, text, JSON, YAML): the quote must start or
end on a line named, counted as ``veriwiki source show ID --text`` prints them.

A page locator is checked in sources with pages (PDF): the quote must start or end on
one of the pages named. A section locator is checked against the nearest numbered
heading before the quote (a markdown ``## 3.2 Training`` or a PDF line ``3.2 Training``):
its number must be the section named or inside it (``3`` covers ``3.2``). A locator
veriwiki cannot read (``Table 4``, ``Appendix B``), or one it cannot place (no numbered
heading before the quote), is never reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAGES = re.compile(r"(?i)^(?:pp?\.?|pages?)\s*(?P<a>[0-9]{1,5})"
                    r"(?:\s*[-–—]\s*(?P<b>[0-9]{1,5}))?\s*$")
_LINES = re.compile(r"(?i)^(?:L|lines?\s*)(?P<a>[0-9]{1,7})"
                    r"(?:\s*[-–—]\s*L?(?P<b>[0-9]{1,7}))?\s*$")
_SECTION = re.compile(r"(?i)^(?:§+|secs?\.?|sections?)\s*(?P<n>[0-9]+(?:\.[0-9]+)*)\.?\s*$")
_HEADING = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+)?(?P<n>[0-9]{1,2}(?:\.[0-9]{1,2})*)\.?[ \t]+"
                      r"[A-Z][^\n]{0,80}$", re.M)


@dataclass(frozen=True, slots=True)
class LocatorIssue:
    """A locator that does not fit the quote's place: what was given and where it is."""

    given: str
    actual: str


def check_locator(locator: str, text: str, start: int, end: int,
                  page_of: tuple[int | None, int | None]) -> LocatorIssue | None:
    """An issue when ``locator`` does not name the place of ``text[start:end]``.

    ``page_of`` is the (first, last) page of the match, or (None, None) without pages.
    """
    loc = locator.strip()
    pages = _PAGES.match(loc)
    if pages is not None:
        first, last = page_of
        if first is None or last is None:
            return None
        low = int(pages["a"])
        high = int(pages["b"]) if pages["b"] else low
        if low <= first <= high or low <= last <= high:
            return None
        where = f"p. {first}" if first == last else f"pp. {first}-{last}"
        return LocatorIssue(loc, where)
    lines = _LINES.match(loc)
    if lines is not None:
        if "\f" in text:
            return None  # a source with pages: cite the page
        first = text.count("\n", 0, start) + 1
        last = first + text.count("\n", start, max(start, end - 1))
        low = int(lines["a"])
        high = int(lines["b"]) if lines["b"] else low
        if low <= first <= high or low <= last <= high or (first <= low and high <= last):
            return None
        return LocatorIssue(loc, f"L{first}" if first == last else f"L{first}-L{last}")
    section = _SECTION.match(loc)
    if section is not None:
        heading = None
        for m in _HEADING.finditer(text, 0, start):
            heading = m
        if heading is None:
            return None
        number, wanted = heading["n"], section["n"]
        if number == wanted or number.startswith(wanted + "."):
            return None
        return LocatorIssue(loc, f"section {number} ({' '.join(heading.group().split())!s})")
    return None
