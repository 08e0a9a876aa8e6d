"""One title per page: a body that opens with its own title as a level-1 heading.

Most pages start with ``# Title`` under a frontmatter ``title:`` of the same words, and
the page header shows the title already; a reader would see it twice, and the table of
contents would list it. :func:`fold_title` takes that heading out of the body and hands
its anchor to the header, so links to ``#title`` still land on the title. A heading
with other words than the title stays where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

# the renderer's level-1 heading at the start of a body, after the marker of its line
_LEAD = re.compile(r'(<span class="line" id="L\d+"></span>)?<h1 id="([^"<>]*)">(.*?)'
                   r'<a class="anchor" href="#\2" aria-hidden="true">#</a></h1>\n?', re.S)
_TAG = re.compile(r"<[^<>]*>")


@dataclass(frozen=True, slots=True)
class Folded:
    """A body without its title heading, its contents without it, and the anchor the
    header takes over (None when nothing was folded)."""

    html: str
    toc: list[tuple[int, str, str]]
    anchor: str | None


def _words(text: str) -> str:
    return " ".join(text.split()).casefold()


def fold_title(html: str, toc: list[tuple[int, str, str]], title: str) -> Folded:
    """``html`` (a rendered body) without a first level-1 heading that reads ``title``."""
    m = _LEAD.match(html)
    if m is None or _words(unescape(_TAG.sub("", m.group(3)))) != _words(title):
        return Folded(html, toc, None)
    anchor = unescape(m.group(2))
    rest = (m.group(1) or "") + html[m.end():]  # the line marker stays: #L… still lands
    return Folded(rest, [t for t in toc if t[2] != anchor], anchor)


def lead_heading(html: str) -> tuple[str, str] | None:
    """The text of the level-1 heading ``html`` opens with and ``html`` without it;
    None when it opens with something else. (The home page takes its heading from the
    index page this way, whatever its words.)"""
    m = _LEAD.match(html)
    if m is None:
        return None
    text = " ".join(unescape(_TAG.sub("", m.group(3))).split())
    return (text, (m.group(1) or "") + html[m.end():]) if text else None
