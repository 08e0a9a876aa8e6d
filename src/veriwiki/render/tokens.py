"""A page's markdown-it tokens as the renderer reads them (the core parser made for
rendering, frontmatter and Obsidian comments blanked so line numbers stay the file's),
and the tokens of one heading's section."""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from veriwiki.core.markdown import make_parser
from veriwiki.render.fastblocks import block_tokens, fast_blocks, fast_tokens, later_rules
from veriwiki.render.inline import fast_children

LAZY = "veriwiki_inline_env"  # an inline token's meta key: its children are made when read

_OBSIDIAN_COMMENT = re.compile(r"%%.*?%%", re.S)
_md: MarkdownIt | None = None


def _parser() -> MarkdownIt:
    global _md
    if _md is None:
        _md = make_parser(for_index=False)
    return _md


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def frontmatter_lines(lines: list[str]) -> int:
    """How many lines the frontmatter takes (``core.frontmatter``'s rule, without YAML)."""
    if not lines or lines[0].rstrip("\r") != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r").rstrip() in ("---", "..."):
            return i + 1
    return 0


def parse_tokens(text: str, *, fast: bool = True, lazy: bool = False) -> list[Token]:
    """Tokens of a page as ``core.parse.parse_page`` reads them (frontmatter blanked).

    With ``fast`` the plain blocks are split by a line scanner instead of markdown-it's
    block parser (``render.fastblocks``; the same tokens, tested differentially);
    ``fast=False`` parses the whole page with markdown-it. With ``lazy`` (a page
    without footnotes, whose inline tokens are then independent of each other) the
    inline tokens' children are left to :func:`inline_children`, which makes them
    when the renderer reads them: a heading's section rendered alone (an embed) reads
    no other inline text."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    skip = frontmatter_lines(lines)
    src = "\n".join([""] * skip + lines[skip:])
    if "%%" in src:
        src = _OBSIDIAN_COMMENT.sub(_blank, src)
    if lazy and "^[" not in src:  # an inline footnote adds a note to the page's env
        env: dict[str, Any] = {}
        blocks = fast_blocks(src, skip, env) if fast else None
        if blocks is None:
            env = {}
            blocks = block_tokens(src, env)
        if "footnotes" in env:
            return later_rules(_parser(), src, env, blocks)
        for tok in blocks:
            if tok.type == "inline":
                tok.children = None
                tok.meta = {LAZY: env}
        return blocks
    if fast:
        got = fast_tokens(src, skip, _parser())
        if got is not None:
            return got
    return _parser().parse(src, {})


def inline_children(tok: Token) -> list[Token]:
    """An inline token's children, made now when :func:`parse_tokens` left them
    (``render.inline``'s scanner, else markdown-it's inline pass and the core rules
    after it, on this token alone)."""
    children = tok.children
    if children is None:
        env = tok.meta.pop(LAZY)
        md = _parser()
        got = fast_children(tok.content, md, env)
        if got is None:
            later_rules(md, "", env, [tok])
            return tok.children or []
        tok.children = got  # type: ignore[assignment]
        return got  # type: ignore[return-value]
    return children


def section_tokens(tokens: list[Token], fragment: str | None) -> list[Token]:
    """The tokens of the section under heading ``fragment`` (all tokens when None)."""
    if not fragment:
        return tokens
    from veriwiki.core.names import normalize_name

    want = normalize_name(fragment.split("#")[-1])
    if want.startswith("^"):
        return tokens  # a block embed shows the whole page
    start = level = None
    for k, tok in enumerate(tokens):
        if tok.type == "heading_open":
            lvl = int(tok.tag[1])
            if start is None and normalize_name(tokens[k + 1].content) == want:
                start, level = k, lvl
            elif start is not None and level is not None and lvl <= level:
                return tokens[start:k]
    return tokens[start:] if start is not None else []


def heading_words(inline: Token) -> str:
    """A heading's words as shown, for the table of contents: the text of its code spans
    and links without the markup (a real README's '#### <a name="opts"></a> `opts`' was
    listed as its source)."""
    parts: list[str] = []
    for child in inline_children(inline):
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "wikilink":
            parts.append(child.meta.get("label") or child.meta.get("target") or "")
    return " ".join("".join(parts).split())
