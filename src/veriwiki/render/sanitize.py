"""Allow-lists for HTML: what a page's raw HTML may keep, and what the site emits.

Raw HTML written in a page is untrusted. A raw HTML block is cleaned by nh3 to a small
set of tags without ``class``, ``id``, ``style`` or ``data-`` attributes (so a page
cannot forge a citation chip or a verdict); an inline tag is kept only when it is a
bare formatting tag. The whole rendered body then passes nh3 once more with the
site's own allow-list, which also balances any tag left open.
"""

from __future__ import annotations

import re
from html import escape

import nh3

from veriwiki.core.resolve import ANCHOR_ATTR

_SCHEMES = {"http", "https", "mailto"}
_TEXT_TAGS = {"b", "i", "em", "strong", "sub", "sup", "kbd", "code", "mark", "br", "u", "s",
              "small", "del", "ins", "abbr", "q", "cite", "var", "samp", "span", "wbr"}
_USER_TAGS = _TEXT_TAGS | {
    "p", "div", "blockquote", "pre", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead",
    "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col", "hr", "h1", "h2",
    "h3", "h4", "h5", "h6", "details", "summary", "figure", "figcaption", "a", "img",
    "center", "section", "article", "aside", "header", "footer"}
_USER_ATTRS = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align"},
    "abbr": {"title"}, "details": {"open"}, "ol": {"start"}, "*": {"title"},
}
_SITE_TAGS = _USER_TAGS | {"section", "nav", "span", "a", "img"}
_SITE_ATTRS = {
    "*": {"class", "id", "title", "tabindex", "role", "aria-hidden", "aria-label", "lang"},
    "a": {"href", "rel", "title"}, "img": {"src", "alt", "loading", "width", "height"},
    "ol": {"start"}, "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align"},
    "details": {"open"},
}
_SAFE_SCHEME = re.compile(r"^(?:https?:|mailto:|#)", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # a URL that names its scheme
_BARE_TAG = re.compile(r"^<(/?)([a-zA-Z][a-zA-Z0-9]*)\s*(/?)>$")
# <a name="x"> / <a id='x'>: an anchor that shows nothing (READMEs put it in headings)
_ANCHOR_ONLY = re.compile(
    r"""^<a(?:\s+(?:name|id)\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=`]+))+\s*/?>$""", re.I)


def safe_href(href: str) -> str | None:
    """``href`` when it is a link a reader may follow (http, https, mailto, relative)."""
    href = href.strip()
    if _SAFE_SCHEME.match(href):
        return href
    if SCHEME.match(href) or href.startswith("//") or "\\" in href:
        return None
    return href


def clean_html_block(html: str) -> str:
    """A raw HTML block of a page, reduced to the user allow-list."""
    return nh3.clean(html, tags=_USER_TAGS, attributes=_USER_ATTRS, url_schemes=_SCHEMES,
                     link_rel="noopener nofollow", strip_comments=True) + "\n"


def inline_tag(html: str) -> str:
    """An inline raw HTML tag: kept when it is a bare formatting tag, else shown as text."""
    m = _BARE_TAG.match(html.strip())
    if m and m.group(2).lower() in _TEXT_TAGS:
        return f"<{m.group(1)}{m.group(2).lower()}{' /' if m.group(3) else ''}>"
    if html.startswith("<!--"):
        return ""
    return escape(html, quote=False)


def is_anchor_only(html: str) -> bool:
    """True for an inline ``<a>`` tag with a name or id and nothing else (no link)."""
    return _ANCHOR_ONLY.match(html.strip()) is not None


def clean_fragment(html: str) -> str:
    """A rendered body, reduced to the site's allow-list (balances unclosed tags)."""
    return nh3.clean(html, tags=_SITE_TAGS, attributes=_SITE_ATTRS, url_schemes=_SCHEMES,
                     generic_attribute_prefixes={"data-"}, link_rel=None,
                     strip_comments=True)


# The serialised form nh3 gives (html5ever's): text escapes & < > and U+00A0; a
# double-quoted attribute value escapes & < > " and U+00A0. Writing both this way makes
# the renderer's own markup exactly what clean_fragment would return for it, so a body
# made only of it can skip that pass (see ``render.markdown.render_tokens``).
def text_html(text: str) -> str:
    """``text`` as HTML text, escaped as nh3 writes it."""
    out = escape(text, quote=False)
    return out.replace("\xa0", "&nbsp;") if "\xa0" in out else out


def attr_html(value: str) -> str:
    """``value`` as a double-quoted attribute value, escaped as nh3 writes it."""
    out = escape(value, quote=False).replace('"', "&quot;")
    return out.replace("\xa0", "&nbsp;") if "\xa0" in out else out


_ANCHOR_BLOCK = re.compile(r"(?:<a\s[^<>]*>|</a>|\s)+", re.I)


def anchor_spans(tag: str) -> str:
    """An ``<a name="x">``/``<a id="x">`` tag that only marks a place, as empty spans
    carrying its ids: a link to ``#x`` lands there, as on GitHub (the check takes the
    same ids as link targets: ``Page.anchors``)."""
    return "".join(f'<span id="{attr_html(name)}"></span>' for name in ANCHOR_ATTR.findall(tag))


def anchor_block(html: str) -> str | None:
    """An HTML block made only of anchor tags (``<a id="x"></a>`` above a heading), as
    its spans; None for any other block (it goes to the sanitizer)."""
    if _ANCHOR_BLOCK.fullmatch(html) is None:
        return None
    tags = re.findall(r"<a\s[^<>]*>", html, re.I)
    if not tags or not all(is_anchor_only(t) for t in tags):
        return None
    return "".join(anchor_spans(t) for t in tags) + "\n"


_VOID = {"br", "wbr"}


def track_bare(html: str, open_tags: list[str]) -> str:
    """``html`` (what :func:`inline_tag` gave), noting in ``open_tags`` the bare tags it
    opens or closes, so the caller can close them at the end of the paragraph: an
    unclosed ``<b>`` would otherwise carry into every later paragraph (the HTML parser
    reopens it after each ``</p>``)."""
    m = _BARE_TAG.match(html)
    if m and m.group(2) not in _VOID and not m.group(3):
        if not m.group(1):
            open_tags.append(m.group(2))
        elif m.group(2) in open_tags:
            del open_tags[len(open_tags) - 1 - open_tags[::-1].index(m.group(2))]
    return html


def close_bare(open_tags: list[str]) -> str:
    """The closing tags of ``open_tags``, innermost first; empties the list."""
    out = "".join(f"</{t}>" for t in reversed(open_tags))
    open_tags.clear()
    return out
