"""GFM tables for the block-level fast path (``fastpath``): the cells markdown-it's
``table`` rule finds, read without it (the index stores each cell's inline text and
line, and whether it is a body cell).

This follows markdown-it-py's rule step by step, with its own helpers (``escapedSplit``,
``headerLineRe``, the cap on filled-in cells), for a table whose header starts at
column 0. Where the rule measures indentation with tabs, the table goes to
markdown-it (``read_table`` answers None). A body row ends the table when it is blank,
indented four columns or more, or starts a block that ends a blockquote's paragraph
in markdown-it (``getRules("blockquote")``: fence, blockquote, thematic break, list
item of any kind, an HTML block that may interrupt, ATX heading).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from markdown_it.common.utils import mdTrim
from markdown_it.rules_block.table import MAX_AUTOCOMPLETED_CELLS, escapedSplit, headerLineRe

from veriwiki.core.markdown.fastlines import fence_open, heading, html_block_end

_ORDERED_MARK = re.compile(r"[0-9]{1,10}[.)](?:[ \t]|$)")


class TableBlock(NamedTuple):
    """A table from line ``start`` to ``end`` (0-based, end excluded): its cells in
    order as (text, 0-based line, is a body cell)."""

    cells: list[tuple[str, int, bool]]
    start: int
    end: int


def _aligns(row: str) -> int | None:
    """How many columns the delimiter row ``row`` declares, or None when it is none."""
    rest = row.lstrip(" ")
    if "\t" in row[:len(row) - len(rest)] or len(row) - len(rest) >= 4 or len(rest) < 2:
        return None
    first, second = rest[0], rest[1]
    if first not in "|-:" or (second not in "|-:" and second not in " \t") or \
            (first == "-" and second in " \t") or rest.strip("|-: \t"):
        return None
    columns = rest.split("|")
    count = 0
    for i, column in enumerate(columns):
        text = mdTrim(column)
        if not text:
            if i in (0, len(columns) - 1):
                continue
            return None
        if not headerLineRe.search(text):
            return None
        count += 1
    return count


def _cells(text: str) -> list[str]:
    """A row's cells as markdown-it splits them (no backslash: a plain split)."""
    columns = escapedSplit(text) if "\\" in text else text.split("|")
    if columns and columns[0] == "":
        columns.pop(0)
    if columns and columns[-1] == "":
        columns.pop()
    return columns


def _ends_table(rest: str) -> bool | None:
    """True when ``rest`` (a row's text after at most three spaces) starts a block that
    ends the table; None when that takes markdown-it to tell."""
    first = rest[0]
    if first == ">":
        return True
    if first in "`~":
        return fence_open(rest) is not None
    if first == "#":
        return heading(rest) is not None
    if first == "<":
        return html_block_end([rest], 0, 1, interrupts=True) is not None
    if first in "*-_+":
        if first != "+" and rest.count(first) >= 3 and not rest.strip(first + " \t"):
            return True  # a thematic break
        return first != "_" and (len(rest) == 1 or rest[1] in " \t")  # a list item
    if "0" <= first <= "9":
        m = _ORDERED_MARK.match(rest)
        if m is None:
            return False
        digits = len(m.group(0).rstrip(" \t")) - 1
        return True if digits <= 9 else None
    return False


def read_table(lines: list[str], start: int, count: int) -> TableBlock | None:
    """The table whose header is line ``start`` (at column 0, holding ``|``), or None
    when markdown-it must read these lines."""
    if start + 2 > count:
        return None
    width = _aligns(lines[start + 1])
    header = mdTrim(lines[start])
    if width is None or not width or "|" not in header:
        return None
    columns = _cells(header)
    if len(columns) != width:
        return None
    cells = [(mdTrim(column), start, False) for column in columns]
    filled = 0
    row = start + 2
    while row < count:
        line = lines[row]
        rest = line.lstrip(" ")
        if not rest.strip(" \t") or len(line) - len(rest) >= 4:
            break
        if rest[0] == "\t":
            return None
        ends = _ends_table(rest)
        if ends is None:
            return None
        if ends:
            break
        columns = _cells(mdTrim(rest))
        filled += width - len(columns)
        if filled > MAX_AUTOCOMPLETED_CELLS:
            break
        cells += ((mdTrim(columns[i]) if i < len(columns) and columns[i] else "", row, True)
                  for i in range(width))
        row += 1
    return TableBlock(cells, start, row)
