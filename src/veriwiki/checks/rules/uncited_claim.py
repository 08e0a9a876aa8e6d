"""uncited-claim: a sentence stating a number, without a citation, in a page that needs them."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("uncited-claim", Severity.WARNING, "a number stated without a citation", 84,
      facet="page")
def uncited_claim(ctx: CheckContext) -> Iterator[Finding]:
    """Sentences with a quantity (not a year or a label) in pages whose type requires citations."""
    from veriwiki.core.numbers import extract_quantities

    for page in ctx.pages:
        ptype = ctx.types.types.get(page.type or ctx.default_type or "")
        if ptype is None or not ptype.requires_citations:
            continue
        for line, text in page.uncited:
            quantities = [q for q in extract_quantities(text) if q.kind == "quantity"]
            if quantities:
                yield ctx.finding(
                    page.path, line, f'"{quantities[0].raw}" is stated without a citation: '
                    f'"{text[:100]}"',
                    hint='cite the source: [@source-id, "exact words"]')
