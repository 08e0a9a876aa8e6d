"""Lists for the block-level fast path (``fastpath``): bullet and ordered lists whose
items hold paragraphs and fenced code, read without markdown-it, with the paragraphs
and fences markdown-it finds in them (the index stores nothing of a list but those:
text, lines, code).

A list is read here only when every line is one of these, else it goes to markdown-it
(``read_list`` answers None):

- an *item line*: spaces, a marker (``-``, ``*``, ``+``, or 1-9 digits and ``.`` or
  ``)``), exactly one space, and text that can only start a paragraph (a plain line,
  a ``#`` that is no heading or a ``<`` that opens no HTML block; not a possible link
  reference definition on a page that may define some). Its content column C is the column after that space, so its
  paragraph's lines are the page lines from column C on. It is placed at the marker
  column of an open list (a next item: same marker, else the list ends at the top
  level and the line is handed back, or nothing is read below it), or 0 to 3 columns
  right of the innermost item's C (a nested list; right after a paragraph line it
  interrupts that paragraph, which an ordered item does only when its number is 1,
  as in CommonMark).
- a *continuation line*, right after a line of a paragraph: text that cannot
  interrupt a paragraph (a plain line, no heading, no HTML block that may interrupt
  one) at any indentation (spaces only):
  indented less than the paragraph's item, it continues it lazily, as CommonMark
  says; its text is the line from column C on, or from its first non-space when it
  is indented less (markdown-it's ``getLines``).
- a *fence* opened at exactly the C of an open item (the deeper items end), whose
  lines up to its closing line are blank or indented at least to C, with spaces only
  in the first C columns; its code is those lines from column C on. An unclosed
  fence, a line indented less inside it, or a tab where the closing line's
  indentation is measured: markdown-it.
- after blank lines or a fence, a line indented to the C of an open item starts a
  paragraph in that item (the deeper items end); a line at column 0 that is no item
  ends the list.
- right after a paragraph line, a heading or a fence opener at column 0 ends the list
  (both end a paragraph).

Tabs before a line's text, a ``|`` over a possible table delimiter row, and anything
not listed here send the list to markdown-it. Loose and tight lists differ only in
their paragraphs' ``hidden`` flag, which the index does not read.
"""

from __future__ import annotations

import re

from markdown_it.common.utils import mdTrim

from veriwiki.core.markdown.fastlines import (
    ItemFenceBlock,
    ParagraphBlock,
    closes,
    continues_text,
    ends,
    fence_open,
    may_be_delimiter_row,
    may_define,
    opens_text,
)

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


def read_list(lines: list[str], start: int, count: int, *, interrupts: bool, refs: bool,
              ) -> tuple[list[ParagraphBlock | ItemFenceBlock], int] | None:
    """The paragraphs and fences of the list whose first item is on line ``start`` at
    column 0 to 3, and the line after the list; None when markdown-it must read it.
    ``interrupts``: the line right before is paragraph text; ``refs``: the page may
    define link references."""
    levels: list[_Level] = []
    out: list[ParagraphBlock | ItemFenceBlock] = []
    para = -1  # first line of the open paragraph
    col = 0  # its content column
    gap = False  # blank lines (or a fence) since the last paragraph line
    i = start
    while i < count:
        line = lines[i]
        rest = line.lstrip(" ")
        if not rest.strip(" \t"):
            if para >= 0:
                out.append(_paragraph(lines, para, i, col))
                para = -1
            gap = True
            i += 1
            continue
        indent = len(line) - len(rest)
        if rest[0] == "\t":
            return None
        if "|" in line and i + 1 < count and may_be_delimiter_row(lines[i + 1]):
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
            text = rest[width:]
            if not opens_text(text) or (refs and may_define(text)):
                return None
            if para >= 0:
                out.append(_paragraph(lines, para, i, col))
            para, col, gap = i, indent + width, False
        elif rest[0] in "`~" and (opened := fence_open(rest)) is not None:
            if indent == 0:
                break  # ends a paragraph, and the list
            at = next((k for k, level in enumerate(levels) if level[1] == indent), -1)
            fence = _fence(lines, i, count, indent, *opened) if at >= 0 else None
            if fence is None:
                return None
            if para >= 0:
                out.append(_paragraph(lines, para, i, col))
                para = -1
            del levels[at + 1:]
            out.append(ItemFenceBlock(rest[opened[1]:], fence[0], i))
            i, gap = fence[1], True
            continue
        elif gap:
            at = next((k for k, level in enumerate(levels) if level[1] == indent), -1)
            if indent == 0:
                break
            if at < 0 or not opens_text(rest) or (refs and may_define(rest)):
                return None
            del levels[at + 1:]
            para, col, gap = i, indent, False
        elif indent == 0 and ends(line):
            break
        elif not continues_text(rest):
            return None
        i += 1
    if para >= 0:
        out.append(_paragraph(lines, para, i, col))
    return out, i


def _paragraph(lines: list[str], start: int, end: int, col: int) -> ParagraphBlock:
    """A paragraph as markdown-it gives it: its first line (an item's, whose marker
    counts as indentation, or one indented to ``col``) from column ``col`` on, the
    others from ``col`` or from their first non-space when indented less (lazy)."""
    text = "\n".join([lines[start][col:]] + [
        line[min(col, len(line) - len(line.lstrip(" "))):] for line in lines[start + 1:end]])
    return ParagraphBlock(mdTrim(text), start, end)


def _fence(lines: list[str], start: int, count: int, col: int, marker: str,
           run: int) -> tuple[str, int] | None:
    """The code of the fence opened on line ``start`` at column ``col`` (an item's
    content column) and the line after its closing line; None when markdown-it must
    tell (unclosed, a line indented less than ``col``, a tab in a blank line or where
    a closing line's indentation is measured)."""
    parts: list[str] = []
    for j in range(start + 1, count):
        line = lines[j]
        rest = line.lstrip(" ")
        if not rest.strip(" \t"):
            if "\t" in line:
                return None
            parts.append(line[col:])
            continue
        if len(line) - len(rest) < col:
            return None  # ends the item, and the fence with it
        body = line[col:]
        if body[0] in " \t" and "\t" in body[:len(body) - len(body.lstrip(" \t"))]:
            return None
        if closes(body, marker, run):
            return "".join(part + "\n" for part in parts), j + 1
        parts.append(body)
    return None
