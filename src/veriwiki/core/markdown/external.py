"""Leave external link destinations as written (index speed-up).

markdown-it normalises every link destination (URL parse, punycode, percent-encoding):
a third of the parse of a link-heavy page such as a changelog. The index ignores any
destination with a scheme, so for those it only needs what normalising decides: the
scheme, and whether the link is allowed (``validateLink`` refuses ``javascript:``,
``vbscript:``, ``file:`` and most ``data:``). A destination that starts with a scheme
keeps that scheme when normalised, so one that starts with an allowed scheme is
returned as written; every other destination is normalised as before.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_REFUSED = ("vbscript:", "javascript:", "file:", "data:")
KEEPS_WEB_LINKS = "veriwiki_keeps_web_links"  # set on the normalizeLink below


def external_links_plugin(md: MarkdownIt) -> None:
    """Skip normalising destinations with an allowed scheme (for the index only)."""
    normalize = md.normalizeLink

    def normalize_link(url: str) -> str:
        m = _SCHEME.match(url)
        if m is not None and m.group().lower() not in _REFUSED:
            return url
        return normalize(url)

    setattr(normalize_link, KEEPS_WEB_LINKS, True)
    md.normalizeLink = normalize_link  # type: ignore[method-assign]
