"""orphan-page: a page no other page links to (the catalog and log do not count)."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("orphan-page", Severity.WARNING, "page with no inbound links", 30)
def orphan_page(ctx: CheckContext) -> Iterator[Finding]:
    """Pages that no link from another page (other than index and log) reaches."""
    linked: set[str] = set()
    for page in ctx.pages:
        if ctx.is_generated(page.path):
            continue
        for res in ctx.resolutions(page):
            if res.path and res.path != page.path:
                linked.add(res.path)
            for cand in res.candidates:
                if cand != page.path:
                    linked.add(cand)
    for page in ctx.pages:
        if page.path not in linked and not ctx.is_generated(page.path):
            yield ctx.finding(page.path, 1, "no other page links to this page",
                              hint=f"link it from a related page with [[{page.stem}]]")
