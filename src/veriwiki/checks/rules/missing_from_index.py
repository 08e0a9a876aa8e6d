"""missing-from-index: a page the catalog (wiki/index.md) does not link to."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("missing-from-index", Severity.WARNING, "page absent from the catalog", 70)
def missing_from_index(ctx: CheckContext) -> Iterator[Finding]:
    """Pages no link in the catalog page resolves to."""
    index = next((p for p in ctx.pages if p.path == ctx.index_page), None)
    listed: set[str] = set()
    if index is not None:
        for res in ctx.resolutions(index):
            if res.path:
                listed.add(res.path)
            listed.update(res.candidates)
    for page in ctx.pages:
        if ctx.is_generated(page.path) or page.path in listed:
            continue
        yield ctx.finding(page.path, 1, f"page is not listed in {ctx.index_page}",
                          hint="run 'veriwiki catalog' to regenerate the catalog")
