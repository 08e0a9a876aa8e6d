"""Block-level fast path of the index parse: plain blocks without markdown-it.

Most pages are ATX headings, paragraphs, lists, tables, HTML blocks and fenced code at
the top level. For those blocks this module finds what ``core.parse`` reads from
markdown-it's tokens (heading level and text, paragraph text and lines, table cells,
fence info and content) with a line scanner (lists: ``fastlist``, tables:
``fasttable``, line tests: ``fastlines``), and ``fastinline`` finds their inline
tokens; every other block is parsed by markdown-it itself. The result must be the Page
the full parse gives, exactly: ``tests/test_parse_fast_blocks.py`` and
``tests/test_parse_fast_lists.py`` compare the two on every corpus of the repository,
the real corpus when present, and generated and hand-written tricky inputs.

What is handled here, and why that is safe:

- A page holding a possible footnote definition (``[^`` and ``]:``), an inline
  footnote (``^[``), a carriage return or a NUL is parsed by markdown-it whole: those
  change how other blocks read, or the line structure.
- On a page holding ``]:`` (a possible link reference definition) a paragraph or a
  list item whose first line may start one (``fastlines.may_define``) is a slow region
  (a definition can only start a paragraph, never interrupt one), and no slow region
  ends before such a line. Slow regions are parsed block by block with one shared env,
  so markdown-it collects every definition of the page, the first of a label winning,
  in page order; the inline pass runs only when the whole page has been read (as in
  markdown-it, where the block pass ends before the inline pass starts), with those
  references: ``fastinline`` hands every ``[`` that is no citation or wikilink to
  markdown-it's link rule then.
- A *plain line* starts at column 0 and opens no block construct: it does not start
  with ``>``, ``<``, a space or a tab (quote, HTML block, indentation), nor with a
  marker of a list item (``-``, ``+``, ``*``, or up to 10 digits and ``.`` or ``)``,
  followed by a space, a tab or the line's end), nor with three backticks or tildes
  (a fence), and it holds some character other than ``* - _ = | : +`` and whitespace
  (so it is no thematic break, setext underline or table delimiter row).
  A run of plain lines is a paragraph: none of them can start a list, quote, table,
  setext underline, thematic break, HTML block or indented code, nor interrupt the
  paragraph. A line indented with spaces continues a paragraph when it is indented
  four columns or more (lazy) or its text cannot interrupt one.
- An ATX heading or a fence opener at column 0 ends a paragraph, as in CommonMark.
  A line holding ``|`` over a line that could be a table's delimiter row is read as
  markdown-it's table rule reads it (``fasttable``; markdown-it tries tables first),
  or goes to markdown-it.
- A line at column 0 starting with ``<`` is an HTML block when one of markdown-it's
  own ``html_block`` patterns opens there (it may interrupt a paragraph only when the
  pattern says so); the block runs to the line its pattern closes on, and the index
  reads nothing in it. Any other such line is paragraph text (a JSX tag left open).
- A list item at column 0 to 3 starts a list read by ``fastlist`` (its docstring lists
  the shapes it takes), or goes to markdown-it.
- A thematic break at column 0 outside a paragraph holds nothing the index reads
  (markdown-it's ``hr`` comes before its list rule: ``* * *`` is no item). Right
  after a paragraph line it is a setext underline or interrupts: a slow region.
- A block quote (lines starting with ``>`` at column 0) interrupts a paragraph; its
  lines, the marker and one optional space cut off, are read by a scanner of their own
  when they hold only paragraphs and headings (lists too), no tab in a line's
  indentation, and the quote ends at a blank line, the page's end or after a quoted
  blank line (markdown-it then tries no lazy continuation); else it is a slow region.
- Anything else starts a *slow region*, from the start of the paragraph or list it
  would join (or the line itself). It ends before a line that follows a blank line,
  starts at column 0 and could start a paragraph, heading, fence or HTML block; the
  region is parsed by markdown-it alone followed by a sentinel paragraph, and the cut
  is kept only when that sentinel comes out as a paragraph at the top level (nothing
  open, such as a fence or an HTML block, swallows it). Otherwise the region runs to
  the end of the page.

The scanner follows the installed markdown-it-py; ``IS_VERIFIED`` is false for any
other version, and ``core.parse`` then parses every page with markdown-it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import markdown_it
import mdit_py_plugins
from markdown_it import MarkdownIt
from markdown_it.common.utils import mdTrim
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from veriwiki.core.markdown.fastlines import (
    FenceBlock,
    HeadingBlock,
    HtmlBlock,
    ItemFenceBlock,
    ParagraphBlock,
    closes,
    continues_text,
    fence_open,
    heading,
    html_block_end,
    is_blank,
    is_plain,
    may_be_delimiter_row,
    may_define,
    thematic_break,
)
from veriwiki.core.markdown.fastlist import item_head, read_list
from veriwiki.core.markdown.fasttable import TableBlock, read_table
from veriwiki.core.markdown.selective import FAST_INLINE

# The versions this scanner was written against and differentially tested with.
VERIFIED = {"markdown-it-py": "4.3.0", "mdit-py-plugins": "0.7.0"}
IS_VERIFIED = (markdown_it.__version__ == VERIFIED["markdown-it-py"]
               and mdit_py_plugins.__version__ == VERIFIED["mdit-py-plugins"])

_PAGE_SLOW = ("^[", "\r", "\x00")
_SENTINEL = "veriwikisentinel"


class _NotSimple(Exception):
    """A block quote holds what the scanner leaves to markdown-it."""


class SlowTokens(NamedTuple):
    """markdown-it's tokens of a slow region, their maps in page lines."""

    tokens: list[Token]


Block = (HeadingBlock | ParagraphBlock | FenceBlock | ItemFenceBlock | HtmlBlock | TableBlock
         | SlowTokens)


class _Scanner:
    """One page's lines, split into fast blocks and slow regions."""

    def __init__(self, lines: list[str], count: int, has_final_newline: bool,
                 md: MarkdownIt, env: dict[str, Any]) -> None:
        self.lines = lines
        self.count = count  # lines as markdown-it counts them
        self.final_nl = has_final_newline
        self.md = md
        self.env = env  # the page's env: the references of the slow regions read so far
        self.refs = False  # the page may define link references
        self.nested = False  # reading a block quote's lines (no slow region)
        self.out: list[Block] = []

    def _text(self, start: int, end: int) -> str:
        """Lines ``start``..``end`` as markdown-it's ``getLines(..., keepLastLF=True)``."""
        if start >= end:
            return ""
        text = "\n".join(self.lines[start:end])
        return text + "\n" if end < self.count or self.final_nl else text

    def run(self, start: int) -> list[Block]:
        """The page's blocks from line ``start`` on, in order."""
        lines, count = self.lines, self.count
        para = -1  # first line of the open paragraph
        i = start
        while i < count:
            line = lines[i]
            if not line.strip(" \t"):
                if para >= 0:
                    self._paragraph(para, i)
                    para = -1
                i += 1
                continue
            first = line[0]
            # markdown-it tries a table before any other block: a line with a pipe
            # over a possible delimiter row goes to it (the row is no plain line)
            if "|" in line and self._table_below(i):
                table = read_table(lines, i, count) if first not in " \t" else None
                if table is not None:
                    if para >= 0:
                        self._paragraph(para, i)
                        para = -1
                    self.out.append(table)
                    i = table.end
                    continue
                i = self._slow(para if para >= 0 else i)
                para = -1
                continue
            if first == "#":
                head = heading(line)
                if head is not None:
                    if para >= 0:
                        self._paragraph(para, i)
                        para = -1
                    self.out.append(HeadingBlock(head[0], head[1], i))
                    i += 1
                    continue
            elif first in "`~":
                opened = fence_open(line)
                if opened is not None:
                    if para >= 0:
                        self._paragraph(para, i)
                        para = -1
                    i = self._fence(i, *opened)
                    continue
            elif first == "<":
                end = html_block_end(lines, i, count, interrupts=para >= 0)
                if end is not None:
                    if para >= 0:
                        self._paragraph(para, i)
                        para = -1
                    self.out.append(HtmlBlock(i, end))
                    i = end
                    continue
                if para < 0:  # no HTML block: paragraph text, like a JSX tag left open
                    para = i
                i += 1
                continue
            elif first == " " and para >= 0 and _continues_indented(line):
                i += 1
                continue
            elif first == ">":
                quote = self._quote(i)
                if quote is not None:
                    if para >= 0:  # a block quote interrupts a paragraph
                        self._paragraph(para, i)
                        para = -1
                    self.out += quote[0]
                    i = quote[1]
                    continue
            if para < 0 and first in "-*_" and thematic_break(line):
                i += 1  # a thematic break: nothing the index reads
                continue
            elif (first in "-*+ " or "0" <= first <= "9") and _item_start(line):
                got = read_list(lines, i, count, interrupts=para >= 0, refs=self.refs)
                if got is not None:
                    if para >= 0:
                        self._paragraph(para, i)
                        para = -1
                    self.out += got[0]
                    i = got[1]
                    continue
            if is_plain(line) and not (para < 0 and self.refs and may_define(line)):
                if para < 0:
                    para = i
                i += 1
                continue
            i = self._slow(para if para >= 0 else i)
            para = -1
        if para >= 0:
            self._paragraph(para, count)
        return self.out

    def _quote(self, start: int) -> tuple[list[Block], int] | None:
        """The paragraphs and headings of the block quote at ``start`` and the line
        after it, or None when it takes markdown-it to read: the quote is the run of
        lines starting with ``>`` (the marker, an optional space, then the quoted line),
        followed by a blank line, the page's end or anything after a quoted blank line
        (no lazy continuation); its lines are read by a scanner of their own, which
        must find nothing but paragraphs and headings in them (no tab in a line's
        indentation)."""
        if self.nested:
            return None  # a quote in a quote: markdown-it (which also bounds the nesting)
        lines, count = self.lines, self.count
        inner: list[str] = []
        end = start
        while end < count and lines[end][:1] == ">":
            line = lines[end]
            rest = line[2:] if line[1:2] == " " else line[1:]
            text = rest.lstrip(" ")
            if text[:1] == "\t":
                return None
            inner.append(rest)
            end += 1
        if end < count and not is_blank(lines[end]) and inner[-1].strip(" "):
            return None  # the next line may continue the quote lazily
        scanner = _Scanner(inner, len(inner), False, self.md, self.env)
        scanner.refs = self.refs
        scanner.nested = True
        try:
            blocks = scanner.run(0)
        except _NotSimple:
            return None
        out: list[Block] = []
        for block in blocks:
            if isinstance(block, ParagraphBlock):
                out.append(ParagraphBlock(block.content, block.start + start,
                                          block.end + start))
            elif isinstance(block, HeadingBlock):
                out.append(HeadingBlock(block.level, block.content, block.line + start))
            else:
                return None
        return out, end

    def _table_below(self, i: int) -> bool:
        """True when line ``i + 1`` could be a table's delimiter row (line ``i`` then
        its header)."""
        if i + 1 >= self.count:
            return False
        return may_be_delimiter_row(self.lines[i + 1])

    def _paragraph(self, start: int, end: int) -> None:
        self.out.append(ParagraphBlock(mdTrim("\n".join(self.lines[start:end])), start, end))

    def _fence(self, start: int, marker: str, run: int) -> int:
        lines, count = self.lines, self.count
        line = lines[start]
        probe = marker * run  # a line without it cannot close the fence
        end = start + 1
        while end < count:
            text = lines[end]
            if probe in text and closes(text, marker, run):
                break
            end += 1
        self.out.append(FenceBlock(line[run:], self._text(start + 1, end), start))
        return end + 1 if end < self.count else end

    def _can_resume(self, j: int) -> bool:
        """True when a slow region may end before line ``j``: a blank line before it
        and a paragraph, heading, fence or HTML block starting on it at column 0 (no
        list item)."""
        line = self.lines[j]
        if is_blank(line) or not is_blank(self.lines[j - 1]):
            return False
        first = line[0]
        if first in "`~":
            return fence_open(line) is not None
        if first == "<":
            return True  # an HTML block or a paragraph
        return is_plain(line) and not (self.refs and may_define(line))

    def _slow(self, start: int) -> int:
        """Parse the slow region starting at ``start``; the line to go on from."""
        if self.nested:
            raise _NotSimple  # in a block quote: markdown-it reads the whole quote
        for j in range(start + 1, self.count):
            if self._can_resume(j):
                tokens = self._parse(start, j, sentinel=True)
                if tokens is not None:
                    self.out.append(SlowTokens(tokens))
                    return j
                break  # something stays open: markdown-it reads the rest
        tokens = self._parse(start, self.count, sentinel=False)
        assert tokens is not None
        self.out.append(SlowTokens(tokens))
        return self.count

    def _parse(self, start: int, end: int, *, sentinel: bool) -> list[Token] | None:
        """markdown-it's tokens of lines ``start``..``end``; with ``sentinel``, None when
        a paragraph after them would not start at the top level."""
        part = self.lines[start:end]
        if sentinel:
            part.append(_SENTINEL)
        elif end == self.count and self.final_nl:
            part.append("")
        env = dict(self.env)
        if "references" in env:
            env["references"] = dict(env["references"])
        state = StateCore("\n".join(part), self.md, env)
        for rule in _core_rules(self.md)[0]:
            rule(state)
        tokens = state.tokens
        if sentinel:
            last = end - start
            if (len(tokens) < 3 or tokens[-3].type != "paragraph_open"
                    or tokens[-3].level != 0 or tokens[-3].map != [last, last + 1]
                    or tokens[-2].content != _SENTINEL):
                return None
            del tokens[-3:]
        self.env.update(env)
        for tok in tokens:
            if tok.map:
                tok.map = [tok.map[0] + start, tok.map[1] + start]
        return tokens


def _item_start(line: str) -> bool:
    """``line`` starts a list item at column 0 to 3 (more is indented code)."""
    rest = line.lstrip(" ") if line[0] == " " else line
    return len(line) - len(rest) < 4 and bool(rest) and item_head(rest) is not None


def _continues_indented(line: str) -> bool:
    """``line`` (indented with spaces) continues the paragraph before it: indented four
    columns or more (lazy, whatever it holds), or its text cannot interrupt one."""
    rest = line.lstrip(" ")
    if not rest or rest[0] == "\t":
        return False
    if len(line) - len(rest) >= 4:
        return True
    return continues_text(rest)


def _core_rules(md: MarkdownIt) -> tuple[list[Any], list[Any]]:
    """``md``'s core rules up to its block pass, and those after it (the inline pass)."""
    rules = [r for r in md.core.ruler.__rules__ if r.enabled]
    cut = next(i for i, r in enumerate(rules) if r.name == "block") + 1
    return [r.fn for r in rules[:cut]], [r.fn for r in rules[cut:]]


def scan_blocks(src: str, start: int, md: MarkdownIt, env: dict[str, Any] | None = None,
                *, lines: list[str] | None = None) -> list[Block] | None:
    """The blocks of ``src`` from 0-based line ``start`` on (earlier lines are blank),
    or None when the page must be parsed by markdown-it whole. ``md`` is the index
    parser (``make_parser(for_index=True)``); ``env`` receives the page's link
    references, for ``fastinline`` to read the fast blocks' inline text with; ``lines``
    is ``src.split("\\n")`` when the caller has it (it is not changed). The slow
    regions' tokens come with their inline pass done."""
    if any(probe in src for probe in _PAGE_SLOW) or ("[^" in src and "]:" in src):
        return None
    if lines is None:
        lines = src.split("\n")
    count = len(lines)
    final_nl = False
    if count > 1 and lines[-1] == "":
        count -= 1  # text after the last line break: none
        final_nl = True
    elif count and is_blank(lines[-1]):
        count -= 1  # markdown-it drops a last line of spaces without a line break
        final_nl = True
    if env is None:
        env = {}
    env[FAST_INLINE] = True
    scanner = _Scanner(lines, count, final_nl, md, env)
    scanner.refs = "]:" in src
    blocks = scanner.run(start)
    after_block = _core_rules(md)[1]
    for block in blocks:
        if isinstance(block, SlowTokens):
            state = StateCore("", md, env, block.tokens)
            for rule in after_block:
                rule(state)
    return blocks
