"""Lists for the block-level fast path (``fastpath``): bullet and ordered lists whose
items hold only paragraphs, read without markdown-it, with the paragraphs markdown-it
finds in them (the index stores nothing of a list but its paragraphs: text, lines).

A list is read here only when every line is one of these, else it goes to markdown-it
(``read_list`` answers None):

- an *item line*: spaces, a marker (``-``, ``*``, ``+``, or 1-9 digits and ``.`` or
  ``)``), exactly one space, and text that can only start a paragraph (a plain line,
  or a ``#`` that is no heading; not ``[`` on a page that may define references). Its
  content column C is the column after that space, so its paragraph's lines are the
  page lines from column C on. It is placed at the marker column of an open list (a
  next item: same marker, else the list ends at the top level and the line is handed
  back, or nothing is read below it), or 0 to 3 columns right of the innermost item's
  C (a nested list; right after a paragraph line it interrupts that paragraph, which
  an ordered item does only when its number is 1, as in CommonMark).
- a *continuation line*: exactly C spaces of the innermost item, then text that cannot
  interrupt a paragraph (a plain line, no heading), right after a line of the same
  paragraph. Anything indented otherwise would be a lazy continuation or indented
  code.
- after blank lines, a line indented to the C of an open item starts a paragraph in
  that item (the deeper items end); a line at column 0 that is no item ends the list.
- right after a paragraph line, a heading or a fence opener at column 0 ends the list
  (both end a paragraph); any other line at column 0 would continue the paragraph
  lazily: not read here.

Tabs before the text, a ``|`` over a possible table delimiter row, and anything not
listed here send the list to markdown-it. Loose and tight lists differ only in their
paragraphs' ``hidden`` flag, which the index does not read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it.common.utils import mdTrim

_ITEM = re.compile(r"(?:[-*+]|([0-9]{1,9})[.)]) (?=[^ \t])")

# one open list: [marker column, content column of its current item, marker key]
_Level = list[int | str]


def item_head(rest: str) -> tuple[str, int, bool] | None:
    """For text after a line's indentation: (marker key, marker width with its space,
    may it interrupt a paragraph) when it is an item with one space after its marker."""
    m = _ITEM.match(rest)
    if m is None:
        return None
    width = m.end()
    number = m.group(1)
    return rest[width - 2], width, number is None or int(number) == 1


def read_list(lines: list[str], start: int, count: int, *, interrupts: bool,
              continues: Callable[[str], bool], opens: Callable[[str], bool],
              ends: Callable[[str], bool],
              ) -> tuple[list[tuple[str, int, int]], int] | None:
    """The paragraphs (content, first line, end line) of the list whose first item is
    on line ``start`` at column 0, and the line after the list; None when markdown-it
    must read it. ``interrupts``: the line right before is paragraph text.
    ``continues(text)``: the text may continue a paragraph; ``opens(text)``: it may
    open one; ``ends(line)``: the line at column 0 ends a paragraph (heading, fence)."""
    levels: list[_Level] = []
    out: list[tuple[str, int, int]] = []
    para = -1  # first line of the open paragraph
    col = 0  # its content column
    gap = False  # blank lines since the last line read
    i = start
    while i < count:
        line = lines[i]
        rest = line.lstrip(" ")
        if not rest.strip(" \t"):
            if para >= 0:
                out.append((_content(lines, para, i, col), para, i))
                para = -1
            gap = True
            i += 1
            continue
        indent = len(line) - len(rest)
        if rest[0] == "\t":
            return None
        if "|" in line and i + 1 < count:
            below = lines[i + 1].lstrip(" \t")
            if below and below[0] in "|-:":
                return None  # a table's header, maybe
        head = item_head(rest)
        if head is not None:
            key, width, may_interrupt = head
            at = next((k for k, level in enumerate(levels) if level[0] == indent), -1)
            if at >= 0:
                if levels[at][2] != key:
                    if at == 0:
                        break  # another list starts here
                    return None
                del levels[at + 1:]
                levels[at][1] = indent + width
            elif not levels:
                if interrupts and not may_interrupt:
                    return None
                levels.append([indent, indent + width, key])
            elif int(levels[-1][1]) <= indent <= int(levels[-1][1]) + 3:
                if not gap and not may_interrupt:
                    return None
                levels.append([indent, indent + width, key])
            else:
                return None
            if not opens(rest[width:]):
                return None
            if para >= 0:
                out.append((_content(lines, para, i, col), para, i))
            para, col, gap = i, indent + width, False
        elif indent == 0:
            if gap or ends(line):
                break
            return None
        elif gap:
            at = next((k for k, level in enumerate(levels) if level[1] == indent), -1)
            if at < 0 or not opens(rest):
                return None
            del levels[at + 1:]
            para, col, gap = i, indent, False
        elif para < 0 or indent != levels[-1][1] or not continues(rest):
            return None
        i += 1
    if para >= 0:
        out.append((_content(lines, para, i, col), para, i))
    return out, i


def _content(lines: list[str], start: int, end: int, col: int) -> str:
    """A paragraph's text as markdown-it gives it: its lines from column ``col`` on."""
    return mdTrim("\n".join(line[col:] for line in lines[start:end]))
