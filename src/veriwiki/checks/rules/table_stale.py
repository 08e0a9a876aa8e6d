"""table-stale: a generated ``facts-table`` whose rows differ from what the facts give.

The table between ``<!-- facts-table … -->`` and ``<!-- /facts-table -->`` is rendered
from the facts (:mod:`veriwiki.core.facts_table`); the finding, on the table's first
line, names each cell that differs (entity, attribute, table value, fact value).
``veriwiki fix`` rewrites the table.
"""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding, Page

_SHOWN = 6


def page_text(ctx: CheckContext, page: Page) -> str:
    """The page file's text ('' when it cannot be read: unreadable-file reports it)."""
    read = ctx.inputs.read_text
    return page.body if read is None else read(page.path)


def table_text(ctx: CheckContext, page: Page) -> str | None:
    """The page's text when it may hold a facts table, else None. table-spec and
    table-stale both ask; a page read once without one is not read again in the run
    (nearly every page: without this each page file is read twice)."""
    from veriwiki.core.facts_table import has_tables

    without: set[str] = ctx.run_memo("no-facts-table", set)
    if page.path in without:
        return None
    text = page_text(ctx, page)
    if has_tables(text):
        return text
    without.add(page.path)
    return None


def table_facts(ctx: CheckContext) -> object:
    """The facts and every page's names and type, as tables read them."""
    from veriwiki.core.facts_table import EntityPage, TableFacts

    read_types = ctx.inputs.page_types
    types = read_types() if read_types is not None else {p.path: p.type for p in ctx.pages}
    pages = [EntityPage(n.path, n.title, n.aliases, types.get(n.path))
             for n in ctx.page_names()]
    return TableFacts(ctx.facts, pages)


@rule("table-stale", Severity.ERROR, "a generated facts table differs from the facts", 93,
      facet="facts")
def table_stale(ctx: CheckContext) -> Iterator[Finding]:
    """Each facts table whose rendered rows differ from the table in the page."""
    from veriwiki.core.facts_table import TableFacts, find_tables, table_diff

    data: TableFacts | None = None
    for page in ctx.pages:
        text = table_text(ctx, page)
        if text is None:
            continue
        for block in find_tables(text):
            if block.spec is None:
                continue  # table-spec reports it
            if data is None:
                # over every page when the run gives the page types, else per context
                memo = ctx.run_memo if ctx.inputs.page_types is not None else ctx.memo
                got = memo("facts-table-data", lambda: table_facts(ctx))
                assert isinstance(got, TableFacts)
                data = got
            cells, other = table_diff(block, block.spec, data)
            if not cells and not other:
                continue
            parts = [f"{c.entity} {c.attribute}: table "
                     + ("(no cell)" if c.table is None else repr(c.table))
                     + f", facts {c.facts!r}" for c in cells[:_SHOWN]]
            if len(cells) > _SHOWN:
                parts.append(f"and {len(cells) - _SHOWN} more cell(s)")
            parts += other
            yield ctx.finding(page.path, block.table_line,
                              f"facts table is stale ({len(cells)} cell(s) differ): "
                              + "; ".join(parts),
                              hint=f"run 'veriwiki fix {page.path}' to regenerate it from "
                                   "the facts (or fix the facts if the table was right)")
