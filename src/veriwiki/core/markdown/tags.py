"""Obsidian ``#tags`` in running text."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

from veriwiki.core.names import tag_at


def _tag(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    src = state.src
    if src[pos] != "#":
        return False
    found = tag_at(src, pos)
    if found is None:
        return False
    name, end = found
    if not silent:
        token = state.push("tag", "", 0)
        token.content = name
        token.meta = {"pos": pos}
    state.pos = end
    return True


def tags_plugin(md: MarkdownIt) -> None:
    """Register the tag inline rule."""
    md.inline.ruler.after("backticks", "tag", _tag)
