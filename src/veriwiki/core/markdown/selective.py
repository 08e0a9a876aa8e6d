"""Skip the inline pass for blocks that cannot hold a link or a tag (index speed-up).

With :data:`FAST_INLINE` set in the parse's env (``core.parse`` sets it on its fast
path), the blocks that can are read by ``fastinline`` instead of markdown-it's inline
parser (with the page's link references), unless the page defines footnotes or the
block holds an inline footnote, which that scanner does not know; ``tests/test_parse_fast_blocks.py`` compares the result with markdown-it's.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from veriwiki.core.markdown.fastinline import inline_tokens

FAST_INLINE = "veriwiki_fast_inline"


def _selective_inline(state: StateCore) -> None:
    env = state.env
    fast = env.get(FAST_INLINE)
    for token in state.tokens:
        if token.type != "inline":
            continue
        content = token.content
        if ("[" in content or "#" in content) and fast and not env.get("footnotes") \
                and "^[" not in content:  # an inline footnote adds one to the env
            token.children = inline_tokens(content, state.md, env)  # type: ignore[assignment]
        elif "[" in content or "#" in content:
            token.children = []
            state.md.inline.parse(content, state.md, state.env, token.children)
        else:
            text = Token("text", "", 0)
            text.content = content
            token.children = [text]


def selective_inline_plugin(md: MarkdownIt) -> None:
    """Replace the core inline rule with one that parses only promising blocks."""
    md.core.ruler.at("inline", _selective_inline)
