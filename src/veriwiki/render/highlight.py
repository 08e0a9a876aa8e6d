"""Code blocks highlighted by Pygments (server-side; no client script)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from veriwiki.render.sanitize import attr_html, text_html

if TYPE_CHECKING:  # Pygments is imported when a block is first highlighted
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer

_MAX_HIGHLIGHT = 200_000  # larger blocks are shown plain (Pygments is slow on huge input)


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


@lru_cache(maxsize=64)
def _lexer(name: str) -> Lexer | None:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def highlight_code(code: str, info: str) -> str:
    """A ``<pre>`` block for ``code``; ``info`` is the fence's info string (a pure
    function of both: blocks up to 4,096 characters are remembered, since pages made
    from one template repeat their examples)."""
    if len(code) <= 4096:
        return _remembered(code, info)
    return _highlight(code, info)


@lru_cache(maxsize=1024)
def _remembered(code: str, info: str) -> str:
    return _highlight(code, info)


def _highlight(code: str, info: str) -> str:
    words = info.split()
    lang = words[0].lower() if words else ""
    lexer = _lexer(lang) if lang and len(lang) < 40 else None
    label = f' data-lang="{attr_html(lang)}"' if lang else ""
    check = " check-block" if words[1:2] == ["check"] else ""
    if lexer is None or len(code) > _MAX_HIGHLIGHT:
        body = text_html(code)
    else:
        # Pygments escapes & < > " ' in text; written as nh3 writes it (quotes plain,
        # U+00A0 as &nbsp;), the block needs no sanitizer pass (render_tokens)
        from pygments import highlight

        body = highlight(code, lexer, _formatter()).replace("&quot;", '"').replace("&#39;", "'")
        if "\xa0" in body:
            body = body.replace("\xa0", "&nbsp;")
    return f'<pre class="highlight{check}"{label}><code>{body}</code></pre>\n'


def highlight_css() -> str:
    """The stylesheet for highlighted code."""
    from pygments.formatters import HtmlFormatter

    return str(HtmlFormatter(style="friendly").get_style_defs(".highlight"))
