"""ambiguous-link: a link whose target matches several pages."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("ambiguous-link", Severity.ERROR, "link target matches several pages", 20,
      facet="links")
def ambiguous_link(ctx: CheckContext) -> Iterator[Finding]:
    """One finding per link that matches more than one page; lists the candidates."""
    for page in ctx.pages:
        for link, res in zip(page.links, ctx.resolutions(page), strict=True):
            if res.status == "ambiguous":
                first = res.candidates[0]
                first = first[:-3] if first.lower().endswith(".md") else first
                yield ctx.finding(page.path, link.line, f"link {link.raw}: {res.problem}",
                                  hint=f"link a path instead, e.g. [[{first}]]",
                                  column=link.column)
