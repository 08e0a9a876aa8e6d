"""A page's summary: one sentence of plain text for listings, backlinks and search.

The summary is the frontmatter's ``summary`` (or ``description``), else the first
sentence of the body's first paragraph. Either way it is reduced to what a reader
should see of it as text: links become their labels, citations and footnote markers
are dropped, emphasis markers and HTML tags are taken off; code spans are kept as they
are written. Everything that shows a summary escapes it, so this is about legibility,
not safety.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

from veriwiki.core.markdown.citations import strip_citations

SUMMARY_CHARS = 200
# the summary is one sentence of at most 200 characters: a longer paragraph prefix only
# costs time (the link patterns below are quadratic on a long unclosed line)
_SCAN = 4000
_QUICK = 800

_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")
_WIKILINK = re.compile(r"!?\[\[([^\[\]|#]*)(#[^\[\]|]*)?(?:\|([^\[\]]*))?\]\]")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")
_FOOTNOTE_REF = re.compile(r"\[\^[^\[\]\s]+\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
# an emphasis marker: a run of one to three * or _, or ~~ or ==
_MARKER = re.compile(r"\*{1,3}|_{1,3}|~~|==")
_CODE = re.compile(r"(`+)(.+?)\1")
# blocks of one line: a paragraph may follow on the next line
_ONE_LINE = re.compile(r"#|(?:[-*_]\s*){3,}$|\[[^\]^][^\]]*\]:")
_SETEXT = re.compile(r"=+|-+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([.,;:!?)])(?=\s|$)")
# lines that open something other than a paragraph (after their indentation)
_NOT_PROSE = re.compile(
    r"#|\||>|<|!\[|\[!\[|\^|\[\^[^\]]*\]:|\[[^\]]+\]:|[-*+](?:\s|$)|\d{1,9}[.)](?:\s|$)"
    r"|(?:[-*_]\s*){3,}$|\$\$|%%|\{\{<")


def summary_text(text: str) -> str:
    """``text`` (one paragraph of markdown) as a reader would read it, on one line.
    (Unlike :func:`veriwiki.core.claims.plain_text`, which flattens a claim's sentence
    for matching and drops every ``*``, ``_`` and backtick, this keeps code spans and
    snake_case as written and drops citations, footnote markers and HTML tags.)"""
    if "[@" in text:  # first: a quote may hold backticks
        text = strip_citations(text)
    if "`" in text:
        parts = _CODE.split(text)
        out: list[str] = []
        # _CODE.split gives [prose, ticks, code, prose, ticks, code, ..., prose]
        for i in range(0, len(parts), 3):
            out.append(_plain_prose(parts[i]))
            if i + 2 < len(parts):
                out.append(f"{parts[i + 1]}{parts[i + 2]}{parts[i + 1]}")
        text = "".join(out)
    else:
        text = _plain_prose(text)
    text = " ".join(text.split())
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text) if " " in text else text


def _plain_prose(text: str) -> str:
    if "[" in text:
        if "[[" in text:
            text = _WIKILINK.sub(_wikilink_text, text)
        if "[^" in text:
            text = _FOOTNOTE_REF.sub("", text)
        for _ in range(3):  # an image inside a link: [![alt](img)](url)
            text, found = _LINK.subn(r"\1", text)
            if not found:
                break
    if "<" in text:
        text = _TAG.sub("", _drop_comments(_AUTOLINK.sub(r"\1", text)))
    if "*" in text or "_" in text or "~~" in text or "==" in text:
        text = _MARKER.sub(lambda m: _unmark(m, text), text)
    return text


def _wikilink_text(m: re.Match[str]) -> str:
    """A wikilink's label (its alias, else its target); nothing for an ikiwiki
    directive (``[[!meta title="…"]]``), which is markup, not text."""
    return "" if m.group(1).startswith("!") else m.group(3) or m.group(1)


def _drop_comments(text: str) -> str:
    """``text`` without its HTML comments (an unclosed one runs to the end)."""
    out: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        out.append(text[pos:start])
        end = text.find("-->", start + 4)
        pos = len(text) if end < 0 else end + 3
    out.append(text[pos:])
    return "".join(out)


def _unmark(m: re.Match[str], text: str) -> str:
    """Drop an emphasis marker that opens or closes a word: space on one side only
    (``**bold**``, ``value.**``), or a letter or digit on one side only (``(**b**)``);
    keep it between two letters (``snake_case``, ``2*3``) or two spaces (``2 * 3``).
    Unpaired, so linear on any input."""
    start, end = m.start(), m.end()
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isspace() != after.isspace():
        return ""
    return "" if before.isalnum() != after.isalnum() else m.group(0)


def paragraphs(body_lines: list[str]) -> Iterator[str]:
    """The paragraphs of prose in ``body_lines`` (outside code fences, headings, lists,
    quotes, tables, HTML blocks and definitions), each on one line, cut at
    :data:`_SCAN` characters."""
    fence = ""
    skipping = False  # inside a block other than a paragraph, up to a blank line
    taken: list[str] = []
    size = 0
    for line in body_lines:
        s = line.strip()
        if fence:
            if s.startswith(fence) and not s[len(fence):].strip(fence[0]).strip():
                fence = ""
            continue
        if taken and _SETEXT.fullmatch(s):
            taken, size = [], 0  # the lines so far were a heading
            continue
        starts = bool(s) and _NOT_PROSE.match(s) is not None
        if taken and (not s or s.startswith(("```", "~~~")) or size >= _SCAN or (
                starts and not s.startswith(("<", "![", "[^")))):
            yield " ".join(taken)[:_SCAN]
            taken, size = [], 0
        if s.startswith(("```", "~~~")):
            fence, skipping = s[:3], False
        elif not s:
            skipping = False
        elif taken:
            taken.append(s)
            size += len(s) + 1
        elif starts:
            skipping = _ONE_LINE.match(s) is None
        elif not skipping and not line.startswith(("    ", "\t")):
            taken.append(s)
            size += len(s) + 1
    if taken:
        yield " ".join(taken)[:_SCAN]


def page_summary(fm: dict[str, Any], body_lines: list[str]) -> str:
    """The summary of a page with frontmatter ``fm`` and body ``body_lines``: the
    first sentence of the first of its first eight paragraphs that has any text."""
    for key in ("summary", "description"):
        value = fm.get(key)
        if isinstance(value, str) and value.strip():
            return summary_text(value[:_SCAN])
    for para in islice(paragraphs(body_lines), 8):
        # the first sentence is nearly always in the first few hundred characters
        text = summary_text(para[:_QUICK])
        m = _SENTENCE.match(text)
        if m is None and len(para) > _QUICK and len(text) < SUMMARY_CHARS:
            text = summary_text(para)  # markup (a long quote, a URL) took the room
            m = _SENTENCE.match(text)
        if text:
            return _shorten(m.group(1) if m else text)
    return ""


def _shorten(text: str) -> str:
    """``text`` cut to :data:`SUMMARY_CHARS` at a word's end, with an ellipsis."""
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = text[:SUMMARY_CHARS - 1]
    space = cut.rfind(" ")
    if space >= SUMMARY_CHARS // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—(") + "…"
