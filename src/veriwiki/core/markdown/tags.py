"""Obsidian ``#tags`` in running text."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

_TAG = re.compile(r"#([\w/\-]+)")


def _tag(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    src = state.src
    if src[pos] != "#":
        return False
    if pos > 0 and not (src[pos - 1].isspace() or src[pos - 1] in "([{,;"):
        return False
    m = _TAG.match(src, pos)
    if not m:
        return False
    name = m.group(1).rstrip("/")
    if not name or name.replace("/", "").replace("-", "").replace("_", "").isdigit():
        return False  # "#123" is an issue number, not a tag
    if not silent:
        token = state.push("tag", "", 0)
        token.content = name
        token.meta = {"pos": pos}
    state.pos = m.end()
    return True


def tags_plugin(md: MarkdownIt) -> None:
    """Register the tag inline rule."""
    md.inline.ruler.after("backticks", "tag", _tag)
