"""Fact references ``{{entity.attribute}}`` as a markdown-it inline rule.

The reference stays on one line; the attribute is the part after the last dot, so
entities may hold dots (``{{Qwen2.5.layers}}``). Code spans and code blocks are never
read. The index parser skips the inline pass of blocks without ``[`` or ``#``; a core
rule re-parses those that hold ``{{`` so references there are still found.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline

from veriwiki.core.facts import parse_ref

_STOP = re.compile(r"[{}\n]")


def _fact_ref(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if not src.startswith("{{", pos):
        return False
    # The reference holds no brace or line break, so the first of those decides (a search
    # for "}}" alone walks to the end of the block from every "{{": quadratic).
    stop = _STOP.search(src, pos + 2, state.posMax)
    if stop is None or not src.startswith("}}", stop.start()) or stop.start() + 2 > state.posMax:
        return False
    close = stop.start()
    inner = src[pos + 2 : close]
    ref = parse_ref(inner)
    if ref is None:
        return False
    if not silent:
        token = state.push("fact_ref", "", 0)
        token.content = src[pos : close + 2]
        token.meta = {"pos": pos, "entity": ref[0], "attribute": ref[1]}
    state.pos = close + 2
    return True


def _reparse_skipped(state: StateCore) -> None:
    for token in state.tokens:
        if token.type != "inline" or "{{" not in token.content:
            continue
        children = token.children or []
        if len(children) == 1 and children[0].type == "text" \
                and children[0].content == token.content:
            token.children = []
            state.md.inline.parse(token.content, state.md, state.env, token.children)


def factrefs_plugin(md: MarkdownIt) -> None:
    """Register the ``{{entity.attribute}}`` rule (and the re-parse for skipped blocks)."""
    md.inline.ruler.before("wikilink", "fact_ref", _fact_ref)
    md.core.ruler.after("inline", "fact_ref_reparse", _reparse_skipped)
