"""quote-not-found: the quoted words do not occur in the cited source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("quote-not-found", Severity.ERROR, "quote does not occur in the cited source", 81,
      facet="sources")
def quote_not_found(ctx: CheckContext) -> Iterator[Finding]:
    """Each quote must occur in its source after normalisation; say where it nearly does."""
    from veriwiki.checks.rules.stale_claim import stale_version
    from veriwiki.core.quotes import explain_miss, find_quote

    for page in ctx.pages:
        for claim in page.claims:
            for cite in claim.citations:
                if cite.quote is None:
                    continue
                text = ctx.source_text(cite.source_id, cite.version)
                if text is None:
                    continue  # unknown-source reports it
                found = ctx.cached(
                    ("quote-found", ctx.text_hash(cite.source_id, cite.version), cite.quote),
                    partial(_found, find_quote, text.text, cite.quote))
                if found or stale_version(ctx, cite) is not None:
                    continue  # found, or stale-claim reports the source change
                why = explain_miss(text.text, cite.quote)
                yield ctx.finding(
                    page.path, cite.line,
                    f'quote not found in @{cite.key}: "{_short(cite.quote)}"; {why}',
                    hint="copy the exact words from the source (veriwiki source show "
                         f"{cite.key} --text)", column=cite.column)


def _found(find: Callable[[str, str], object], text: str, quote: str) -> bool:
    return find(text, quote) is not None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
