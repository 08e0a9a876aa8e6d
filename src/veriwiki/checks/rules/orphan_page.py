"""orphan-page: a page no other page links to (the catalog and log do not count)."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("orphan-page", Severity.WARNING, "page with no inbound links", 30)
def orphan_page(ctx: CheckContext) -> Iterator[Finding]:
    """Pages that no link from another page (other than index and log) reaches."""
    linked: set[str] = set()
    for path in ctx.paths:
        if ctx.is_generated(path):
            continue
        targets = ctx.link_targets(path)
        linked.update(targets - {path} if path in targets else targets)  # not itself
    for path in ctx.paths:
        if path not in linked and not ctx.is_generated(path):
            name = path.rsplit("/", 1)[-1]
            stem = name[:-3] if name.lower().endswith(".md") else name
            yield ctx.finding(path, 1, "no other page links to this page",
                              hint=f"link it from a related page with [[{stem}]]")
