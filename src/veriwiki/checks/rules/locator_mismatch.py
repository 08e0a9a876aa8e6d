"""locator-mismatch: a citation's page or section locator is not where the quote is.

``[@paper, p. 9, "…"]`` whose quote is on page 22 names the wrong page; the finding
names the right one. Pages are checked in sources with pages (PDF), sections against
the nearest numbered heading before the quote (:mod:`veriwiki.core.locators`).
"""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("locator-mismatch", Severity.WARNING, "a page or section locator does not match where "
      "the quote is", 86, facet="sources")
def locator_mismatch(ctx: CheckContext) -> Iterator[Finding]:
    """Citations with a locator whose quote was found elsewhere in the source."""
    from veriwiki.core.locators import check_locator
    from veriwiki.core.quotes import find_quote, shown_position

    for page in ctx.pages:
        for claim in page.claims:
            for cite in claim.citations:
                if cite.quote is None or not cite.locator:
                    continue
                text = ctx.source_text(cite.source_id, cite.version)
                if text is None:
                    continue

                def compute(text: str = text.text, quote: str = cite.quote,
                            locator: str = cite.locator) -> list[str] | None:
                    match = find_quote(text, quote)
                    if match is None:
                        return None  # quote-not-found reports it
                    end_page = shown_position(text, max(match.start, match.end - 1))[0]
                    issue = check_locator(locator, text, match.start, match.end,
                                          (match.page, end_page))
                    return None if issue is None else [issue.given, issue.actual]

                got = ctx.cached(("locator", ctx.text_hash(cite.source_id, cite.version),
                                  cite.quote, cite.locator), compute)
                if got is None:
                    continue
                given, actual = got
                yield ctx.finding(
                    page.path, cite.line,
                    f'locator "{given}" does not match the quote in @{cite.key}: it is on '
                    f"{actual}",
                    hint=f"write the right locator ({actual}), or check that the quote is "
                         "the passage you meant", column=cite.column)
