"""uncited-claim: a sentence stating a number, without a citation, in a page that needs them."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding, Page


@rule("uncited-claim", Severity.WARNING, "a number stated without a citation", 84,
      facet="page")
def uncited_claim(ctx: CheckContext) -> Iterator[Finding]:
    """Sentences with a quantity (not a year or a label) in pages whose type requires
    citations (the generated catalog and log are not statements). The rows of a generated facts table are not sentences of the page: each
    value there carries its citation in the fact store (``fact-citation`` checks it)."""
    from veriwiki.core.numbers import extract_quantities

    for page in ctx.pages:
        if ctx.is_generated(page.path):
            continue  # the catalog's and the log's lines list pages and operations
        ptype = ctx.types.types.get(page.type or ctx.default_type or "")
        if ptype is None or not ptype.requires_citations or not page.uncited:
            continue
        generated = _generated_lines(ctx, page)
        for line, text in page.uncited:
            if line in generated:
                continue
            quantities = [q for q in extract_quantities(text) if q.kind == "quantity"]
            if quantities:
                yield ctx.finding(
                    page.path, line, f'"{quantities[0].raw}" is stated without a citation: '
                    f'"{text[:100]}"',
                    hint='cite the source: [@source-id, "exact words"]')


def _generated_lines(ctx: CheckContext, page: Page) -> set[int]:
    """The lines of the page's generated facts tables (their spec and rows)."""
    from veriwiki.core.facts_table import find_tables, has_tables

    read = ctx.inputs.read_text
    text = read(page.path) if read is not None else page.body
    if not has_tables(text):
        return set()
    return {n for block in find_tables(text)
            for n in range(block.line, (block.end or block.body_start + len(block.table)) + 1)}
