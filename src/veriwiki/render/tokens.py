"""A page's markdown-it tokens as the renderer reads them (the core parser made for
rendering, frontmatter and Obsidian comments blanked so line numbers stay the file's),
and the tokens of one heading's section."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from veriwiki.core.markdown import make_parser
from veriwiki.render.fastblocks import fast_tokens

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


def parse_tokens(text: str, *, fast: bool = True) -> list[Token]:
    """Tokens of a page as ``core.parse.parse_page`` reads them (frontmatter blanked).

    With ``fast`` the plain blocks are split by a line scanner instead of markdown-it's
    block parser (``render.fastblocks``; the same tokens, tested differentially);
    ``fast=False`` parses the whole page with markdown-it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    skip = frontmatter_lines(lines)
    src = "\n".join([""] * skip + lines[skip:])
    if "%%" in src:
        src = _OBSIDIAN_COMMENT.sub(_blank, src)
    if fast:
        got = fast_tokens(src, skip, _parser())
        if got is not None:
            return got
    return _parser().parse(src, {})


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
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "wikilink":
            parts.append(child.meta.get("label") or child.meta.get("target") or "")
    return " ".join("".join(parts).split())
