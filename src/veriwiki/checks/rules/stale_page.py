"""stale-page: the page's review is overdue, or an interval applies and it was never reviewed."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding
from veriwiki.settings import FreshnessValues


@rule("stale-page", Severity.WARNING, "review overdue (reviewed + review_every is past)", 90,
      facet="today")
def stale_page(ctx: CheckContext) -> Iterator[Finding]:
    """Compare each page's ``reviewed`` date plus its interval with today."""
    from veriwiki.core.freshness import check_settings, page_freshness

    settings = ctx.inputs.freshness or FreshnessValues(None, {}, {})
    check_settings(settings)
    on = ctx.today()
    for page in ctx.pages:
        if ctx.is_generated(page.path) or page.frontmatter_error is not None:
            continue
        state = page_freshness(page, settings, on, ctx.default_type)
        if state is None or not state.is_stale:
            continue
        hint = f"review the page, then run: veriwiki reviewed \"{page.path}\""
        if state.reviewed is None:
            line = page.field_lines.get("review_every", 1)
            yield ctx.finding(
                page.path, line,
                f"never reviewed: review every {state.interval} ({state.origin}) applies, "
                "but the page has no 'reviewed' date", hint=hint)
            continue
        assert state.due is not None
        yield ctx.finding(
            page.path, page.field_lines.get("reviewed", 1),
            f"review overdue by {state.overdue_days} day(s): reviewed "
            f"{state.reviewed.isoformat()}, every {state.interval} ({state.origin}), "
            f"due {state.due.isoformat()}", hint=hint)
