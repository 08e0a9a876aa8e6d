"""table-spec: a ``<!-- facts-table … -->`` spec that does not parse, or a block that is
not closed; the finding names the line and what to write instead."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("table-spec", Severity.ERROR, "a facts-table spec does not parse", 93, facet="page")
def table_spec(ctx: CheckContext) -> Iterator[Finding]:
    """Every facts-table block whose spec or markers are wrong."""
    from veriwiki.checks.rules.table_stale import table_text
    from veriwiki.core.facts_table import find_tables

    for page in ctx.pages:
        text = table_text(ctx, page)
        if text is None:
            continue
        for block in find_tables(text):
            if block.error is not None:
                yield ctx.finding(page.path, block.error_line or block.line,
                                  f"facts-table: {block.error}",
                                  hint="see docs/facts.md, 'Generated tables', for the spec")
