"""broken-link: a link whose target page, heading, block or attachment does not exist."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("broken-link", Severity.ERROR, "link target page, heading, block or file missing", 10,
      facet="links")
def broken_link(ctx: CheckContext) -> Iterator[Finding]:
    """One finding per link that resolves to nothing or to a missing heading or block."""
    for page in ctx.pages:
        for link, res in zip(page.links, ctx.resolutions(page), strict=True):
            if res.status != "broken":
                continue
            if res.path:
                hint = "fix the heading or block id, or link the page without it"
            elif link.kind in ("image",) or (res.problem or "").startswith("no file"):
                hint = "add the file to the vault or fix the path"
            else:
                hint = f'create the page (veriwiki new "{link.target}") or fix the link'
            yield ctx.finding(page.path, link.line, f"link {link.raw}: {res.problem}",
                              hint=hint, column=link.column)
