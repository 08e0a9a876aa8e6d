"""Wikilinks ``[[Target#Fragment|label]]`` and embeds ``![[...]]``."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

_STOP = re.compile(r"[\[\]\n]")


def _scan(state: StateInline, start: int, embed: bool, silent: bool) -> bool:
    src = state.src
    open_at = start + (1 if embed else 0)
    if not src.startswith("[[", open_at):
        return False
    # The inner text holds no bracket or line break, so the first of those decides: a
    # search for "]]" alone would walk to the end of the block from every "[[" (quadratic).
    stop = _STOP.search(src, open_at + 2)
    if stop is None or not src.startswith("]]", stop.start()):
        return False
    close = stop.start()
    inner = src[open_at + 2 : close]
    if not inner.strip():
        return False
    if not silent:
        target_part, _, label = inner.partition("|")
        target_part = target_part.rstrip("\\")  # `\|` escapes the pipe inside tables
        target, hash_, fragment = target_part.partition("#")
        token = state.push("embed" if embed else "wikilink", "", 0)
        token.content = label or target_part
        token.meta = {
            "target": target.strip(),
            "fragment": fragment.strip() if hash_ else None,
            "label": label.strip() if label else None,
            "raw": src[start : close + 2],
            "pos": start,
        }
    state.pos = close + 2
    return True


def _wikilink(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] != "[":
        return False
    return _scan(state, state.pos, False, silent)


def _embed(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] != "!":
        return False
    return _scan(state, state.pos, True, silent)


def wikilinks_plugin(md: MarkdownIt) -> None:
    """Register the wikilink and embed inline rules ahead of ordinary links."""
    md.inline.ruler.before("link", "wikilink", _wikilink)
    md.inline.ruler.before("image", "embed", _embed)
