"""Line tests of the block-level fast path (``fastpath``, ``fastlist``), what a line
can start or end in CommonMark as markdown-it-py reads it, and the blocks they find."""

from __future__ import annotations

import re
from typing import NamedTuple

from markdown_it.common.utils import mdTrim
from markdown_it.rules_block.html_block import HTML_SEQUENCES

_NOT_PLAIN_START = frozenset("> \t<")
_ORDERED = re.compile(r"[0-9]{1,10}[.)](?:[ \t]|$)")
_MARKS_ONLY = re.compile(r"[\s*\-_=|:+]*")
_THEMATIC = re.compile(r"(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,}")


class HeadingBlock(NamedTuple):
    """An ATX heading found by the scanner (line is 0-based)."""

    level: int
    content: str
    line: int


class ParagraphBlock(NamedTuple):
    """A paragraph of plain lines ``start`` to ``end`` (0-based, end excluded)."""

    content: str
    start: int
    end: int


class FenceBlock(NamedTuple):
    """A fenced code block opened on 0-based ``line``."""

    info: str
    content: str
    line: int


class HtmlBlock(NamedTuple):
    """An HTML block at the top level, lines ``start`` to ``end`` (the index reads
    nothing in it)."""

    start: int
    end: int


class ItemFenceBlock(NamedTuple):
    """A fenced code block in a list item, opened on 0-based ``line``."""

    info: str
    content: str
    line: int


def is_blank(line: str) -> bool:
    """A line of spaces and tabs only."""
    return not line.strip(" \t")


def heading(line: str) -> tuple[int, str] | None:
    """The ATX heading on ``line`` (which starts with ``#``), as markdown-it reads it."""
    n = len(line)
    pos = 1
    while pos < n and line[pos] == "#":
        pos += 1
    level = pos
    if level > 6 or (pos < n and line[pos] not in " \t"):
        return None
    end = n
    while end > pos and line[end - 1] in " \t":
        end -= 1
    cut = end
    while cut > pos and line[cut - 1] == "#":
        cut -= 1
    if cut > pos and line[cut - 1] in " \t":
        end = cut
    return level, mdTrim(line[pos:end])


def fence_open(line: str) -> tuple[str, int] | None:
    """(marker, run length) when ``line`` opens a fence at column 0."""
    marker = line[0]
    n = len(line)
    run = 1
    while run < n and line[run] == marker:
        run += 1
    if run < 3 or (marker == "`" and "`" in line[run:]):
        return None
    return marker, run


def closes(line: str, marker: str, run: int) -> bool:
    """True when ``line`` closes a fence opened at column 0 with ``run`` markers (a
    line of code is turned down by one ``startswith``, however it is indented)."""
    body = line.lstrip(" \t")
    if not body.startswith(marker * run):
        return False
    cols = 0
    for ch in line[:len(line) - len(body)]:
        cols += 4 - cols % 4 if ch == "\t" else 1
    return cols < 4 and not body.lstrip(marker).strip(" \t")


def continues(text: str) -> bool:
    """``text`` (after a line's indentation) can only be paragraph text: a plain line
    or a ``#`` that is no heading."""
    if text[0] == "#":
        return heading(text) is None
    return is_plain(text)


def ends(line: str) -> bool:
    """A line at column 0 that ends a paragraph: a heading or a fence opener."""
    if line[0] == "#":
        return heading(line) is not None
    return line[0] in "`~" and fence_open(line) is not None


def is_plain(line: str) -> bool:
    """A line that can only be paragraph text at the top level (or continue one)."""
    first = line[0]
    if first in _NOT_PLAIN_START:
        return False
    if first in "-+*":
        if len(line) == 1 or line[1] in " \t":
            return False  # a list item
    elif first in "`~":
        if line.startswith(first * 3):
            return False  # a fence
    elif "0" <= first <= "9":
        return _ORDERED.match(line) is None
    return not (first in "*-_=|:+" and _MARKS_ONLY.fullmatch(line))


def thematic_break(line: str) -> bool:
    """``line`` (at column 0) is a thematic break as markdown-it's ``hr`` rule reads one:
    three or more of one of ``* - _`` and nothing else but spaces and tabs."""
    return _THEMATIC.fullmatch(line) is not None


def may_define(text: str) -> bool:
    """``text`` (a paragraph's first line) may start a link reference definition: it
    starts with ``[`` and the label closes with ``]:`` on this line, or may close on a
    later one (no ``]`` yet, or an escape that may hide one)."""
    return text[0] == "[" and ("]:" in text or "]" not in text or "\\" in text)


def html_block_end(lines: list[str], start: int, count: int, *, interrupts: bool) -> int | None:
    """The line after the HTML block markdown-it's ``html_block`` rule reads from line
    ``start`` (at the top level, starting with ``<``) with its own patterns, or None
    when it reads none there (``interrupts``: right after a paragraph line)."""
    line = lines[start]
    seq = next((seq for seq in HTML_SEQUENCES if seq[0].search(line)), None)
    if seq is None:
        return None
    _, closes_block, may_interrupt = seq
    if interrupts and not may_interrupt:
        return None
    if closes_block.search(line):
        return start + 1
    for j in range(start + 1, count):
        text = lines[j].lstrip(" \t")
        if closes_block.search(text):
            return j + 1 if text else j
    return count


def may_be_delimiter_row(line: str) -> bool:
    """``line`` could be a table's delimiter row (only ``| - :``, spaces and tabs)."""
    text = line.strip(" \t")
    return bool(text) and text[0] in "|-:" and not text.strip("|-: \t")


def opens_text(text: str) -> bool:
    """``text`` (after a line's indentation, not interrupting anything) can only open
    a paragraph: a plain line, a ``#`` that is no heading, or a ``<`` that opens no
    HTML block."""
    if text[0] == "<":
        return html_block_end([text], 0, 1, interrupts=False) is None
    return continues(text)


def continues_text(text: str) -> bool:
    """``text`` (after a line's indentation of at most three columns past the
    paragraph's) continues the paragraph before it: nothing in it can interrupt one."""
    if text[0] == "<":
        return html_block_end([text], 0, 1, interrupts=True) is None
    return continues(text)
