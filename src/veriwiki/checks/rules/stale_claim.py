"""stale-claim: the cited source changed under the claim (quote in vN-1, gone from vN)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.claims import Citation
from veriwiki.core.model import Finding


def stale_version(ctx: CheckContext, cite: Citation) -> tuple[int, int] | None:
    """(previous, latest) version numbers when ``cite`` lost its quote in the latest version.

    Only citations of the latest version (no ``:vN``) of a source with two or more
    versions can be stale; ``quote-not-found`` skips the citations this returns.
    """
    from veriwiki.core.quotes import find_quote

    source = ctx.sources.get(cite.source_id)
    if cite.version is not None or cite.quote is None or source is None:
        return None
    numbers = sorted(v.version for v in source.versions)
    if len(numbers) < 2:
        return None
    latest = ctx.source_text(cite.source_id, None)
    previous = ctx.source_text(cite.source_id, numbers[-2])
    if latest is None or previous is None:
        return None
    if ctx.run_memo(("quote", cite.source_id, None, cite.quote),
                    partial(find_quote, latest.text, cite.quote)) is not None:
        return None
    if ctx.run_memo(("quote", cite.source_id, numbers[-2], cite.quote),
                    partial(find_quote, previous.text, cite.quote)) is None:
        return None
    return numbers[-2], numbers[-1]


@rule("stale-claim", Severity.ERROR, "the cited source changed under the claim", 80,
      facet="sources")
def stale_claim(ctx: CheckContext) -> Iterator[Finding]:
    """Each citation of a source's latest version whose quote the new version dropped."""
    for page in ctx.pages:
        for claim in page.claims:
            for cite in claim.citations:
                got = stale_version(ctx, cite)
                if got is None:
                    continue
                old, new = got
                quote = cite.quote or ""
                short = quote if len(quote) <= 80 else quote[:79] + "…"
                yield ctx.finding(
                    page.path, cite.line,
                    f"the source changed under this claim: quote present in "
                    f"{cite.source_id}:v{old}, gone from {cite.source_id}:v{new}: \"{short}\"",
                    hint=f"re-check the claim against v{new} (veriwiki source show "
                         f"{cite.source_id} --text) and update it, or pin the old version "
                         f"with [@{cite.source_id}:v{old}, ...]", column=cite.column)
