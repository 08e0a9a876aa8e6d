"""quote-not-found: the quoted words do not occur in the cited source."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from functools import partial

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("quote-not-found", Severity.ERROR, "quote does not occur in the cited source", 81,
      facet="sources")
def quote_not_found(ctx: CheckContext) -> Iterator[Finding]:
    """Each quote must occur in its source after normalisation; say where it nearly does."""
    from veriwiki.checks.rules.stale_claim import stale_version
    from veriwiki.core.near_miss import explain_miss
    from veriwiki.core.quotes import find_quote

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
                other = _elsewhere(ctx, cite.source_id, cite.quote)
                if other is not None:
                    sid, where = other
                    yield ctx.finding(
                        page.path, cite.line,
                        f'quote not found in @{cite.key}; it occurs in @{sid} ({where}): '
                        f'"{_short(cite.quote)}"',
                        hint=f"cite @{sid} for this quote, or quote @{cite.key}'s own words",
                        column=cite.column)
                    continue
                why = explain_miss(text.text, cite.quote)
                yield ctx.finding(
                    page.path, cite.line,
                    f'quote not found in @{cite.key}: "{_short(cite.quote)}"; {why}',
                    hint="copy the exact words from the source (veriwiki source show "
                         f"{cite.key} --text)", column=cite.column)


def _elsewhere(ctx: CheckContext, cited: str, quote: str) -> tuple[str, str] | None:
    """The first other source (by id) whose current text holds ``quote``, and where."""
    catalog = ctx.run_memo("source-catalog", lambda: sorted(
        (sid, s.current.version, s.current.sha256) for sid, s in ctx.sources.items()))

    def compute() -> list[str] | None:
        from veriwiki.core.elsewhere import Corpus
        from veriwiki.core.quotes import find_quote, reading_view
        from veriwiki.core.rendered import render

        def texts() -> list[tuple[str, str]]:
            return [(sid, t.text) for sid, _, _ in catalog
                    if (t := ctx.source_text(sid, None)) is not None]

        # one search over all raw texts; the rendered views are built only when needed
        raw = ctx.run_memo("corpus-raw", lambda: Corpus(texts()))
        seen = [raw]
        if not any(sid != cited for sid in raw.holders(quote)):
            seen = [ctx.run_memo("corpus-read", lambda: Corpus(
                (sid, view.text) for sid, text in texts()
                if (view := reading_view(text)) is not None))]
        for corpus in seen:
            for phrase in dict.fromkeys((quote, render(quote).text)):
                for sid in corpus.holders(phrase):
                    text = ctx.source_text(sid, None) if sid != cited else None
                    match = find_quote(text.text, quote) if text is not None else None
                    if match is not None:
                        where = f"p. {match.page}" if match.page else f"line {match.line}"
                        return [sid, where]
        return None

    digest = ctx.run_memo("source-catalog-digest", lambda: hashlib.sha1(
        repr(catalog).encode()).hexdigest())
    found = ctx.cached(("quote-elsewhere", cited, quote, digest), compute)
    return None if found is None else (found[0], found[1])


def _found(find: Callable[[str, str], object], text: str, quote: str) -> bool:
    return find(text, quote) is not None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
