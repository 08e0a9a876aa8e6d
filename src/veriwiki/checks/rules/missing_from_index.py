"""missing-from-index: a page the catalog (wiki/index.md) does not link to."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("missing-from-index", Severity.WARNING, "page absent from the catalog", 70)
def missing_from_index(ctx: CheckContext) -> Iterator[Finding]:
    """Pages no link in the catalog page resolves to."""
    listed = ctx.link_targets(ctx.index_page) if ctx.index_page in ctx.paths else frozenset()
    for path in ctx.paths:
        if ctx.is_generated(path) or path in listed:
            continue
        yield ctx.finding(path, 1, f"page is not listed in {ctx.index_page}",
                          hint="run 'veriwiki catalog' to regenerate the catalog")
