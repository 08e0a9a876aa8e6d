"""Link labels found in linear time, so a line of unclosed ``[`` cannot stall a parse.

markdown-it looks for the ``]`` closing a link label by walking forward from each
``[``; with nothing to close them, 60 KB of ``[`` cost a walk to the end of the block
per bracket (minutes). The walk from a bare ``[`` met on the way continues exactly as
the walk from that bracket would, so one walk settles every bracket it opens: a label
closed on the way is recorded and later jumped over, and when the walk fails (end of
the block, or a nested link where none may be) every label still open fails with it.
The result of every call is the one markdown-it's own scanner gives.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

InlineRule = Callable[[StateInline, bool], bool]


def _memo(state: StateInline, nested: bool) -> dict[int, int]:
    """Label ends already known for this inline source, limit and nesting mode."""
    memos: dict[tuple[int, bool], dict[int, int]] | None = state.__dict__.get(
        "_veriwiki_labels")
    if memos is None:
        memos = state.__dict__["_veriwiki_labels"] = {}
    key = (state.posMax, nested)
    memo = memos.get(key)
    if memo is None:
        memo = memos[key] = {}
    return memo


def parse_link_label(state: StateInline, start: int, disableNested: bool = False) -> int:  # noqa: N803
    """Position of the ``]`` closing the label opened at ``start``, or -1.

    Same contract as markdown-it's ``parseLinkLabel``: ``disableNested`` refuses a
    label holding another link.
    """
    memo = _memo(state, disableNested)
    if start in memo:
        return memo[start]
    src, end = state.src, state.posMax
    saved = state.pos
    skip = state.md.inline.skipToken
    state.pos = start + 1
    opened = [start]  # bare brackets whose labels are open, innermost last
    found = -1
    while state.pos < end:
        pos = state.pos
        ch = src[pos]
        if ch == "]":
            memo[opened.pop()] = pos
            if not opened:
                found = pos
                break
        skip(state)
        if ch != "[":
            continue
        if state.pos != pos + 1:  # the bracket starts a token (a link, a wikilink ...)
            if disableNested:
                break
            continue
        known = memo.get(pos)
        if known is None:
            opened.append(pos)
        elif known < 0:
            break
        else:  # that label closes at ``known``: carry on after its "]"
            state.pos = known
            skip(state)
    for pos in opened:
        memo[pos] = -1
    state.pos = saved
    return found


def _closed_first(rule: InlineRule) -> InlineRule:
    """``rule`` (which scans its label its own way) tried only when the label closes."""
    def wrapped(state: StateInline, silent: bool) -> bool:
        pos = state.pos
        if not state.src.startswith("^[", pos) or parse_link_label(state, pos + 1) < 0:
            return False
        return rule(state, silent)

    return wrapped


def bounded_labels_plugin(md: MarkdownIt) -> None:
    """Give this parser (only) the linear label scanner, inline footnotes included."""
    helpers = md.helpers
    md.helpers = SimpleNamespace(  # type: ignore[assignment]
        parseLinkLabel=parse_link_label,
        parseLinkDestination=helpers.parseLinkDestination,
        parseLinkTitle=helpers.parseLinkTitle,
    )
    for rule in md.inline.ruler.__rules__:
        if rule.name == "footnote_inline":
            md.inline.ruler.at("footnote_inline", _closed_first(rule.fn))
