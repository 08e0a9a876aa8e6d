"""Block-level fast path of the index parse: plain blocks without markdown-it.

Most wiki pages are ATX headings, paragraphs and fenced code at the top level. For
those blocks this module finds what ``core.parse`` reads from markdown-it's tokens
(heading level and text, paragraph text and lines, fence info and content, and the
inline tokens of links, wikilinks, embeds, citations, fact references and tags) with
a line scanner; every other block is parsed by markdown-it itself. The result must be
the Page the full parse gives, exactly: ``tests/test_parse_fast*.py`` compares the two
on every corpus of the repository and on generated and hand-written tricky inputs.

What is handled here, and why that is safe:

- A page holding a possible reference or footnote definition (``]:``), an inline
  footnote (``^[``), a carriage return or a NUL is parsed by markdown-it whole: those
  change how other blocks read, or the line structure.
- A *plain line* starts at column 0 with a character that opens no block construct
  (not ``> - + * _ = ` ~ < | :``, space or tab, nor digits followed by ``.`` or ``)``).
  A run of plain lines is a paragraph: none of them can start a list, quote, table
  (its delimiter row starts with ``| - :``), setext underline, thematic break, HTML
  block or indented code, nor interrupt the paragraph.
- An ATX heading or a fence opener at column 0 ends a paragraph, as in CommonMark.
- Anything else starts a *slow region*, from the start of the paragraph it would
  join (or the line itself). It ends before a line that follows a blank line, starts
  at column 0 and could start a fast block; the region is parsed by markdown-it alone
  followed by a sentinel paragraph, and the cut is kept only when that sentinel comes
  out as a paragraph at the top level (nothing open, such as a fence or an HTML block,
  swallows it). Otherwise the region runs to the end of the page.
- Inline content is scanned at the positions where markdown-it's tokenizer would
  stand on a character that starts a rule (``\\ ` # [ { !``). Citations, wikilinks,
  embeds, fact references and tags are read by the dialect's own rule functions;
  links and images whose label is plain text and whose destination is one simple run
  are read here; anything else (``<``, a label holding markup, a title) sends that
  block's inline content to markdown-it's inline parser.

The scanner follows the installed markdown-it-py; ``IS_VERIFIED`` is false for any
other version, and ``core.parse`` then parses every page with markdown-it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import markdown_it
import mdit_py_plugins
from markdown_it import MarkdownIt
from markdown_it.common.utils import mdTrim
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from veriwiki.core.markdown.citations import _citation
from veriwiki.core.markdown.factrefs import _fact_ref
from veriwiki.core.markdown.tags import _tag
from veriwiki.core.markdown.wikilinks import _embed, _wikilink

# The versions this scanner was written against and differentially tested with.
VERIFIED = {"markdown-it-py": "4.3.0", "mdit-py-plugins": "0.7.0"}
IS_VERIFIED = (markdown_it.__version__ == VERIFIED["markdown-it-py"]
               and mdit_py_plugins.__version__ == VERIFIED["mdit-py-plugins"])

_PAGE_SLOW = ("]:", "^[", "\r", "\x00")
_NOT_PLAIN_START = frozenset(">-+*_=`~<|: \t")
_ORDERED = re.compile(r"[0-9]{1,10}[.)]")
_SPECIAL = re.compile(r"[\\`#\[{!<]")
_LABEL_STOP = frozenset("[\\`<{#\n")
_BAD_DEST = frozenset(" \t\n()<>\\&\"'")
_SENTINEL = "veriwikisentinel"
# A destination markdown-it's normalizeLink returns as written (no scheme, no host, only
# characters mdurl keeps, valid escapes) and validateLink accepts (no scheme).
_PLAIN_DEST = re.compile(r"(?!//)(?:[A-Za-z0-9._~/#-]|%[0-9A-Fa-f]{2})+")


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


class SlowTokens(NamedTuple):
    """markdown-it's tokens of a slow region, their maps in page lines."""

    tokens: list[Token]


Block = HeadingBlock | ParagraphBlock | FenceBlock | SlowTokens


def _is_blank(line: str) -> bool:
    return not line.strip(" \t")


def _heading(line: str) -> HeadingBlock | None:
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
    return HeadingBlock(level, mdTrim(line[pos:end]), 0)


def _fence_open(line: str) -> tuple[str, int] | None:
    """(marker, run length) when ``line`` opens a fence at column 0."""
    marker = line[0]
    n = len(line)
    run = 1
    while run < n and line[run] == marker:
        run += 1
    if run < 3 or (marker == "`" and "`" in line[run:]):
        return None
    return marker, run


def _closes(line: str, marker: str, run: int) -> bool:
    """True when ``line`` closes a fence opened at column 0 with ``run`` markers."""
    cols = i = 0
    n = len(line)
    while i < n and line[i] in " \t":
        cols += 4 - cols % 4 if line[i] == "\t" else 1
        i += 1
    if cols >= 4 or i >= n or line[i] != marker:
        return False
    j = i
    while j < n and line[j] == marker:
        j += 1
    return j - i >= run and not line[j:].strip(" \t")


def _is_item(line: str) -> bool:
    """A one-line bullet item whose text can only be a paragraph: ``- text`` with one
    space after ``-``, ``*`` or ``+`` and text that is a plain line or a ``#`` that
    is no heading."""
    if len(line) < 3 or line[0] not in "-*+" or line[1] != " ":
        return False
    text = line[2:]
    if text[0] == "#":
        return _heading(text) is None
    return _is_plain(text)


def _is_plain(line: str) -> bool:
    """A line that can only be paragraph text at the top level (or continue one)."""
    first = line[0]
    if first in _NOT_PLAIN_START:
        return False
    return not ("0" <= first <= "9" and _ORDERED.match(line))


class _Scanner:
    """One page's lines, split into fast blocks and slow regions."""

    def __init__(self, lines: list[str], count: int, has_final_newline: bool,
                 md: MarkdownIt) -> None:
        self.lines = lines
        self.count = count  # lines as markdown-it counts them
        self.final_nl = has_final_newline
        self.md = md
        self.out: list[Block] = []

    def _text(self, start: int, end: int) -> str:
        """Lines ``start``..``end`` as markdown-it's ``getLines(..., keepLastLF=True)``."""
        if start >= end:
            return ""
        text = "\n".join(self.lines[start:end])
        return text + "\n" if end < self.count or self.final_nl else text

    def run(self, start: int) -> list[Block]:
        lines, count = self.lines, self.count
        para = -1  # first line of the open paragraph
        items: list[Block] = []  # the items of the list being read, not yet emitted
        listed = -1  # first line of that list
        gap = False  # a blank line since the list's last item
        i = start
        while i < count:
            line = lines[i]
            if not line.strip(" \t"):
                if para >= 0:
                    self._paragraph(para, i)
                    para = -1
                gap = listed >= 0
                i += 1
                continue
            # markdown-it tries a table before any other block: a line with a pipe
            # over a possible delimiter row goes to it (the row is no plain line)
            table = "|" in line and self._table_below(i)
            if listed >= 0 and (gap or table or not _is_item(line)):
                # an indented line after a gap may belong to the last item, and a line
                # right after an item continues it unless it is a heading or a fence:
                # then markdown-it reads the list
                if table:
                    ends = False
                elif gap:
                    ends = line[0] not in " \t"
                elif line[0] == "#":
                    ends = _heading(line) is not None
                else:
                    ends = line[0] in "`~" and _fence_open(line) is not None
                if not ends:
                    i = self._slow(listed)
                    items, listed, gap = [], -1, False
                    continue
                self.out += items
                items, listed, gap = [], -1, False
            first = line[0]
            if table:
                i = self._slow(para if para >= 0 else i)
                para = -1
                continue
            if first == "#":
                head = _heading(line)
                if head is not None:
                    if para >= 0:
                        self._paragraph(para, i)
                        para = -1
                    self.out.append(HeadingBlock(head.level, head.content, i))
                    i += 1
                    continue
            elif first in "`~":
                opened = _fence_open(line)
                if opened is not None:
                    if para >= 0:
                        self._paragraph(para, i)
                        para = -1
                    i = self._fence(i, *opened)
                    continue
            elif first in "-*+" and _is_item(line):
                if para >= 0:
                    self._paragraph(para, i)
                    para = -1
                if listed < 0:
                    listed = i
                items.append(ParagraphBlock(mdTrim(line[2:]), i, i + 1))
                i += 1
                continue
            if _is_plain(line):
                if para < 0:
                    para = i
                i += 1
                continue
            i = self._slow(para if para >= 0 else i)
            para = -1
        if para >= 0:
            self._paragraph(para, count)
        self.out += items
        return self.out

    def _table_below(self, i: int) -> bool:
        """True when line ``i + 1`` could be a table's delimiter row (line ``i`` then
        its header)."""
        if i + 1 >= self.count:
            return False
        below = self.lines[i + 1].lstrip(" \t")
        return bool(below) and below[0] in "|-:"

    def _paragraph(self, start: int, end: int) -> None:
        self.out.append(ParagraphBlock(mdTrim("\n".join(self.lines[start:end])), start, end))

    def _fence(self, start: int, marker: str, run: int) -> int:
        line = self.lines[start]
        end = start + 1
        while end < self.count and not _closes(self.lines[end], marker, run):
            end += 1
        self.out.append(FenceBlock(line[run:], self._text(start + 1, end), start))
        return end + 1 if end < self.count else end

    def _can_resume(self, j: int) -> bool:
        line = self.lines[j]
        if _is_blank(line) or not _is_blank(self.lines[j - 1]):
            return False
        first = line[0]
        if first in "`~":
            return _fence_open(line) is not None
        return _is_plain(line)

    def _slow(self, start: int) -> int:
        """Parse the slow region starting at ``start``; the line to go on from."""
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
        part = self.lines[start:end]
        if sentinel:
            part.append(_SENTINEL)
        elif end == self.count and self.final_nl:
            part.append("")
        tokens = self.md.parse("\n".join(part), {})
        if sentinel:
            last = end - start
            if (len(tokens) < 3 or tokens[-3].type != "paragraph_open"
                    or tokens[-3].level != 0 or tokens[-3].map != [last, last + 1]
                    or tokens[-2].content != _SENTINEL):
                return None
            del tokens[-3:]
        for tok in tokens:
            if tok.map:
                tok.map = [tok.map[0] + start, tok.map[1] + start]
        return tokens


def scan_blocks(src: str, start: int, md: MarkdownIt) -> list[Block] | None:
    """The blocks of ``src`` from 0-based line ``start`` on (earlier lines are blank),
    or None when the page must be parsed by markdown-it whole. ``md`` is the index
    parser (``make_parser(for_index=True)``)."""
    if any(probe in src for probe in _PAGE_SLOW):
        return None
    lines = src.split("\n")
    count = len(lines)
    final_nl = False
    if count > 1 and lines[-1] == "":
        count -= 1  # text after the last line break: none
        final_nl = True
    elif count and _is_blank(lines[-1]):
        count -= 1  # markdown-it drops a last line of spaces without a line break
        final_nl = True
    return _Scanner(lines, count, final_nl, md).run(start)


class InlineToken:
    """The fields of a markdown-it inline token that ``core.parse`` reads."""

    __slots__ = ("type", "tag", "nesting", "content", "meta", "attrs")

    def __init__(self, ttype: str, tag: str, nesting: int) -> None:
        self.type = ttype
        self.tag = tag
        self.nesting = nesting
        self.content = ""
        self.meta: dict[Any, Any] = {}
        self.attrs: dict[str, Any] = {}


class _Inline:
    """The part of markdown-it's ``StateInline`` the dialect's inline rules use."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0
        self.posMax = len(src)  # noqa: N815 - markdown-it's name
        self.tokens: list[InlineToken | Token] = []
        self.link_end = -2  # where the next "](" is (-1: none), found once per stretch
        self.last_runs: dict[int, int] | None = None  # backtick run length -> last start

    def push(self, ttype: str, tag: str, nesting: int) -> InlineToken:
        token = InlineToken(ttype, tag, nesting)
        self.tokens.append(token)
        return token


Rule = Callable[[StateInline, bool], bool]
_AT_BRACKET: tuple[Rule, ...] = (_citation, _wikilink)


def inline_tokens(content: str, md: MarkdownIt) -> list[InlineToken | Token]:
    """The inline tokens ``core.parse`` reads from ``content`` (a heading's or a
    paragraph's text); text tokens outside link labels are left out."""
    if "[" not in content and "#" not in content and "{{" not in content:
        return []
    got = _scan_inline(content, md)
    if got is None:
        tokens: list[Token] = []
        md.inline.parse(content, md, {}, tokens)
        return list(tokens)
    return got


def _scan_inline(src: str, md: MarkdownIt) -> list[InlineToken | Token] | None:
    state = _Inline(src)
    as_state = cast(StateInline, state)
    n = len(src)
    search = _SPECIAL.search
    pos = 0
    while True:
        m = search(src, pos)
        if m is None:
            return state.tokens
        pos = m.start()
        ch = src[pos]
        state.pos = pos
        if ch == "\\":
            pos += _escape_width(src, pos)
        elif ch == "`":
            pos = _code_span_end(state, pos)
        elif ch == "#":
            pos = state.pos if _tag(as_state, False) else pos + 1
        elif ch == "{":
            pos = state.pos if _fact_ref(as_state, False) else pos + 1
        elif ch == "[":
            if _citation(as_state, False) or _wikilink(as_state, False):
                pos = state.pos
                continue
            after = _link(state, md, pos, image=False)
            if after < 0:
                return None
            pos = after
        elif ch == "!":
            if _embed(as_state, False):
                pos = state.pos
                continue
            if pos + 1 >= n or src[pos + 1] != "[":
                pos += 1
                continue
            after = _link(state, md, pos, image=True)
            if after < 0:
                return None
            pos = after
        else:  # "<": an autolink or inline HTML may start here
            return None


def _escape_width(src: str, pos: int) -> int:
    """How many characters markdown-it's escape rule consumes at ``pos``."""
    if pos + 1 >= len(src):
        return 1  # a last backslash is text
    code = ord(src[pos + 1])
    if 0xD800 <= code <= 0xDBFF and pos + 2 < len(src) and \
            0xDC00 <= ord(src[pos + 2]) <= 0xDFFF:
        return 3
    return 2


def _code_span_end(state: _Inline, start: int) -> int:
    """Where the tokenizer goes on after the backtick run at ``start``: past the closing
    run of the same length, or past the opening run when there is none."""
    src = state.src
    n = len(src)
    pos = start + 1
    while pos < n and src[pos] == "`":
        pos += 1
    length = pos - start
    if state.last_runs is None:  # as markdown-it: no later run of this length, no scan
        state.last_runs = {}
        at = 0
        while (found := src.find("`", at)) >= 0:
            at = found + 1
            while at < n and src[at] == "`":
                at += 1
            state.last_runs[at - found] = found
    if state.last_runs.get(length, -1) < pos:
        return pos
    at = pos
    while True:
        found = src.find("`", at)
        if found < 0:
            return pos
        end = found + 1
        while end < n and src[end] == "`":
            end += 1
        if end - found == length:
            return end
        at = end


def _link(state: _Inline, md: MarkdownIt, pos: int, *, image: bool) -> int:
    """Read ``[label](dest)`` (``![...]`` with ``image``) at ``pos``: the position after
    it, ``pos + 1`` when markdown-it reads no link there, -1 when it takes markdown-it
    to tell."""
    src = state.src
    open_at = pos + 1 if image else pos
    if state.link_end < open_at and state.link_end != -1:
        state.link_end = src.find("](", open_at)
    if state.link_end < 0:
        return pos + 1  # no inline link can close here, and there are no references
    close = src.find("]", open_at + 1)
    label = src[open_at + 1:close]
    if not _LABEL_STOP.isdisjoint(label):
        return -1
    if close + 1 >= len(src) or src[close + 1] != "(":
        return pos + 1
    end = src.find(")", close + 2)
    dest = src[close + 2:end]
    if end < 0 or not dest or not dest.isprintable() or not _BAD_DEST.isdisjoint(dest):
        return -1
    if _PLAIN_DEST.fullmatch(dest):
        href = dest
    else:
        href = md.normalizeLink(dest)
        if not md.validateLink(href):
            return -1
    if image:
        token = state.push("image", "img", 0)
        token.attrs = {"src": href, "alt": ""}
        token.content = label
        token.meta = {"pos": pos}
    else:
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": href}
        token.meta = {"pos": pos}
        if label:
            state.push("text", "", 0).content = label
        state.push("link_close", "a", -1)
    return end + 1
