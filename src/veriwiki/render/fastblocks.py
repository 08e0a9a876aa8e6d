"""The renderer's tokens with markdown-it's block parser skipped for plain blocks.

``core.markdown.fastpath.scan_blocks`` (the index parse's line scanner) splits a page
into ATX headings, paragraphs of plain lines, one-line bullet items and fences at the
top level, and *slow regions* it hands to markdown-it. For the renderer those blocks
are turned back into the block tokens markdown-it's block rules would push for them
(same types, tags, markup, maps, levels, hidden flags of tight lists), the slow
regions are parsed by a copy of the render parser whose core chain stops after the
block rules, and then the render parser's remaining core rules (inline, the dialect's
rules, footnotes, text join) run once over the whole token list, as ``parse`` would.
So every inline token still comes from markdown-it's inline parser; only the block
split is found by the scanner.

What this module adds to the scanner is the list structure, which the index does not
read: consecutive one-line items with the same marker and only blank lines between
them are one list (loose when a blank line separates two of its items, as
markdown-it's ``list`` rule decides), an item ends at the next non-blank line. Any
other paragraph that does not start at column 0 with a line that can only start a
paragraph (an item of a nested or ordered list, a continuation, a paragraph inside an
item), and any block kind this module does not know, sends the whole page to
markdown-it: the scanner may read more than this module can rebuild.

The result must equal ``parse_tokens`` token for token: ``tests/test_render_fast.py``
compares the two (and the HTML rendered from them) on every corpus of the repository,
generated vaults, hand-written tricky inputs, hypothesis-made pages and the real
corpus when present. With another markdown-it-py version (``fastpath.IS_VERIFIED``
false) the caller parses the whole page with markdown-it.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from veriwiki.core.markdown import make_parser
from veriwiki.core.markdown.fastlines import thematic_break
from veriwiki.core.markdown.fastpath import (
    IS_VERIFIED,
    FenceBlock,
    HeadingBlock,
    ParagraphBlock,
    SlowTokens,
    scan_blocks,
)
from veriwiki.core.markdown.selective import FAST_INLINE

__all__ = ["IS_VERIFIED", "block_tokens", "fast_blocks", "fast_tokens", "later_rules"]

_ITEM_MARKS = ("- ", "* ", "+ ")
_NOT_PARAGRAPH_START = frozenset(">-+*_=`~<|: \t")
_ORDERED = re.compile(r"[0-9]{1,10}[.)]")
_block_md: MarkdownIt | None = None


def _block_parser() -> MarkdownIt:
    """The render parser with only the ``normalize`` and ``block`` core rules on."""
    global _block_md
    if _block_md is None:
        md = make_parser(for_index=False)
        later = [r.name for r in md.core.ruler.__rules__
                 if r.enabled and r.name not in ("normalize", "block")]
        md.core.ruler.disable(later)
        _block_md = md
    return _block_md


_LATER: dict[int, tuple[MarkdownIt, list[object]]] = {}


def _later_rules(md: MarkdownIt) -> list[object]:
    """The core rules ``md`` runs after ``block``, in order."""
    got = _LATER.get(id(md))
    if got is None or got[0] is not md:
        got = _LATER[id(md)] = (md, [r.fn for r in md.core.ruler.__rules__
                                     if r.enabled and r.name not in ("normalize", "block")])
    return got[1]


def _tok(kind: str, tag: str, nesting: Literal[-1, 0, 1], level: int, markup: str = "",
         line_map: list[int] | None = None) -> Token:
    return Token(kind, tag, nesting, map=line_map, level=level, markup=markup, block=True)


def _leaf(out: list[Token], kind: str, tag: str, level: int, content: str,
          line_map: list[int], markup: str = "", hidden: bool = False) -> None:
    """A heading or paragraph: open, inline (children filled later), close."""
    opener = _tok(f"{kind}_open", tag, 1, level, markup, list(line_map))
    opener.hidden = hidden
    inline = _tok("inline", "", 0, level + 1, "", list(line_map))
    inline.content = content
    inline.children = []
    closer = _tok(f"{kind}_close", tag, -1, level, markup)
    closer.hidden = hidden
    out += (opener, inline, closer)


def _next_filled(lines: list[str], start: int, count: int) -> int:
    """The first line from ``start`` on holding more than spaces and tabs (or ``count``)."""
    i = start
    while i < count and not lines[i].strip(" \t"):
        i += 1
    return i


def _list(out: list[Token], items: list[ParagraphBlock], mark: str, lines: list[str],
          count: int) -> None:
    """One bullet list of one-line items (``items`` in order, same marker)."""
    ends = [_next_filled(lines, it.end, count) for it in items]
    loose = any(end > it.end for it, end in zip(items[:-1], ends[:-1], strict=True))
    opener = _tok("bullet_list_open", "ul", 1, 0, mark, [items[0].start, ends[-1]])
    out.append(opener)
    for it, end in zip(items, ends, strict=True):
        out.append(_tok("list_item_open", "li", 1, 1, mark, [it.start, end]))
        _leaf(out, "paragraph", "p", 2, it.content, [it.start, it.end], hidden=not loose)
        out.append(_tok("list_item_close", "li", -1, 1, mark))
    out.append(_tok("bullet_list_close", "ul", -1, 0, mark))


def _is_simple_item(line: str) -> bool:
    """``- text`` (or ``*``, ``+``) at column 0, one space, text on the same line."""
    return line[:2] in _ITEM_MARKS and len(line) > 2 and line[2] not in " \t"


def _starts_paragraph(line: str) -> bool:
    """A line that starts a paragraph at the top level (not in a list or a quote)."""
    first = line[:1]
    return bool(first) and first not in _NOT_PARAGRAPH_START \
        and not ("0" <= first <= "9" and _ORDERED.match(line))


def _count(src: str, lines: list[str]) -> int:
    """How many lines markdown-it reads (as ``scan_blocks`` counts them)."""
    count = len(lines)
    if count > 1 and lines[-1] == "":
        return count - 1
    if count and not lines[-1].strip(" \t"):
        return count - 1
    return count


def fast_tokens(src: str, start: int, md: MarkdownIt) -> list[Token] | None:
    """``md.parse(src, {})`` for a page whose lines before ``start`` are blank, or None
    when the scanner cannot read it (the caller then parses it whole). ``md`` is the
    render parser (``make_parser(for_index=False)``)."""
    env: dict[str, Any] = {}  # gets the page's link references, read from its slow regions
    tokens = fast_blocks(src, start, env)
    if tokens is None:
        return None
    return later_rules(md, src, env, tokens)


def later_rules(md: MarkdownIt, src: str, env: dict[str, Any],
                tokens: list[Token]) -> list[Token]:
    """``tokens`` (block tokens) after ``md``'s core rules that follow ``block`` (the
    inline pass, the dialect's, footnotes, text join), as ``md.parse`` runs them."""
    state = StateCore(src, md, env)
    state.tokens = tokens
    for rule in _later_rules(md):
        rule(state)  # type: ignore[operator]
    return state.tokens


def block_tokens(src: str, env: dict[str, Any]) -> list[Token]:
    """The block tokens markdown-it's block rules make of ``src`` (inline tokens not
    yet parsed), ``env`` filled as ``md.parse`` fills it before its inline pass."""
    return _block_parser().parse(src, env)


def fast_blocks(src: str, start: int, env: dict[str, Any]) -> list[Token] | None:
    """:func:`block_tokens` found by the line scanner, or None when it cannot read the
    page (see the module's notes)."""
    if not IS_VERIFIED:
        return None
    blocks = scan_blocks(src, start, _block_parser(), env)
    if blocks is None:
        return None
    lines = src.split("\n")
    count = _count(src, lines)
    if any(line[:1] == ">" or (line[:1] in "-*_" and thematic_break(line))
           for line in lines[start:count]):
        # the scanner reads thematic breaks and block quotes for the index: no block for
        # a break or a quote's own markup, which the renderer needs (markdown-it does it)
        return None
    tokens: list[Token] = []
    items: list[ParagraphBlock] = []
    mark = ""
    for block in blocks:
        if isinstance(block, ParagraphBlock):
            first = lines[block.start]
            if _is_simple_item(first) and block.end == block.start + 1:
                if items and first[0] != mark:
                    _list(tokens, items, mark, lines, count)
                    items = []
                items.append(block)
                mark = first[0]
                continue
            if not _starts_paragraph(first):
                return None  # a paragraph inside a list this module does not rebuild
        if items:
            if isinstance(block, SlowTokens) and block.tokens \
                    and block.tokens[0].type == "bullet_list_open":
                # after a blank line, markdown-it reads the region's list as more items
                # of this one (the index does not care; the renderer does): whole page
                return None
            _list(tokens, items, mark, lines, count)
            items = []
        if isinstance(block, ParagraphBlock):
            _leaf(tokens, "paragraph", "p", 0, block.content, [block.start, block.end])
        elif isinstance(block, HeadingBlock):
            if not lines[block.line].startswith("#"):
                return None  # not at column 0: in a list item
            _leaf(tokens, "heading", f"h{block.level}", 0, block.content,
                  [block.line, block.line + 1], markup="#" * block.level)
        elif isinstance(block, FenceBlock):
            if lines[block.line][:1] not in ("`", "~"):
                return None  # not at column 0: in a list item
            _fence(tokens, block, lines, count)
        elif isinstance(block, SlowTokens):
            tokens += block.tokens
        else:
            return None  # a kind of block this module does not know
    if items:
        _list(tokens, items, mark, lines, count)
    env.pop(FAST_INLINE, None)
    return tokens


def _fence(out: list[Token], block: FenceBlock, lines: list[str], count: int) -> None:
    """A fence opened at column 0 on ``block.line``: its content holds the lines up to
    the closing line, which the fence's map takes in (up to the end of the page when
    it is never closed, ``scan_blocks``' rule)."""
    opener = lines[block.line]
    content = block.content
    inside = content.count("\n") + (0 if content.endswith("\n") else 1) if content else 0
    end = block.line + 1 + inside  # the closing line, or ``count`` when there is none
    tok = _tok("fence", "code", 0, 0, opener[:len(opener) - len(block.info)],
               [block.line, end + 1 if end < count else count])
    tok.info = block.info
    tok.content = content
    out.append(tok)
