"""Skip the inline pass for blocks that cannot hold a link or a tag (index speed-up)."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token


def _selective_inline(state: StateCore) -> None:
    for token in state.tokens:
        if token.type != "inline":
            continue
        content = token.content
        if "[" in content or "#" in content:
            token.children = []
            state.md.inline.parse(content, state.md, state.env, token.children)
        else:
            text = Token("text", "", 0)
            text.content = content
            token.children = [text]


def selective_inline_plugin(md: MarkdownIt) -> None:
    """Replace the core inline rule with one that parses only promising blocks."""
    md.core.ruler.at("inline", _selective_inline)
