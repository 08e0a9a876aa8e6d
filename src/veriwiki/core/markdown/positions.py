"""Record where in the inline source each markdown link and image starts.

markdown-it does not keep positions of inline tokens; link checks need a line and
column, so this wraps the ``link`` and ``image`` rules and stores the start offset in
the opening token's ``meta``.
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.image import image
from markdown_it.rules_inline.link import link


def _with_position(rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    def wrapped(state: StateInline, silent: bool) -> bool:
        start = state.pos
        count = len(state.tokens)
        ok = rule(state, silent)
        if ok and not silent:
            # push() may first flush pending text into a token of its own
            for token in state.tokens[count:]:
                if token.type in ("link_open", "image", "footnote_ref"):
                    token.meta = {**(token.meta or {}), "pos": start}
                    break
        return ok

    return wrapped


def positions_plugin(md: MarkdownIt) -> None:
    """Replace the link and image rules with position-recording versions."""
    md.inline.ruler.at("link", _with_position(link))
    md.inline.ruler.at("image", _with_position(image))
    for rule in md.inline.ruler.__rules__:
        if rule.name == "footnote_ref":
            md.inline.ruler.at("footnote_ref", _with_position(rule.fn))
