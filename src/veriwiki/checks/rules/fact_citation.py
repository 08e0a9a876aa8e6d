"""fact-citation: a fact's own citation, verified like a claim's.

The source must exist, the quote must occur in it (as for ``quote-not-found``) and the
fact's value must appear in the quote (as for ``number-mismatch``/``unit-mismatch``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding
from veriwiki.errors import VeriwikiError


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@rule("fact-citation", Severity.ERROR, "a fact's source, quote or value does not verify", 92)
def fact_citation(ctx: CheckContext) -> Iterator[Finding]:
    """Unknown source, quote not in the source, or value not in the quote, per fact."""
    from veriwiki.core.facts import Fact
    from veriwiki.core.near_miss import explain_miss
    from veriwiki.core.numbers import compare
    from veriwiki.core.quotes import find_quote
    from veriwiki.core.sources import parse_ref

    for fact in ctx.facts:
        if not isinstance(fact, Fact) or not fact.source_id:
            continue
        try:
            sid, version = parse_ref(fact.source_id)
        except VeriwikiError:
            yield ctx.finding(fact.origin, fact.line, f"{fact.ref}: source "
                              f"'{fact.source_id}' is not a source id",
                              hint="write the source id, or id:vN for version N")
            continue
        source = ctx.sources.get(sid)
        if source is None or (version is not None and source.version(version) is None):
            what = f"no source with id '{sid}'" if source is None else \
                f"source '{sid}' has no version {version}"
            yield ctx.finding(fact.origin, fact.line, f"{fact.ref}: cites @{fact.source_id}: "
                              f"{what} in raw/",
                              hint=f"add it with 'veriwiki add FILE --id {sid}', or fix the id")
            continue
        if not fact.quote:
            continue
        text = ctx.source_text(sid, version)
        if text is None:
            continue  # unreadable-file reports a source that cannot be read
        found = ctx.memo(("quote", sid, version, fact.quote),
                         partial(find_quote, text.text, fact.quote))
        if found is None:
            yield ctx.finding(
                fact.origin, fact.line, f'{fact.ref}: quote not found in @{fact.source_id}: '
                f'"{_short(fact.quote)}"; {explain_miss(text.text, fact.quote)}',
                hint=f"copy the exact words from the source (veriwiki source show "
                     f"{fact.source_id} --text)")
            continue
        if fact.quantity is None:
            continue  # a text value (RoPE, SwiGLU) is not compared with its quote
        for issue in compare(fact.display, fact.quote):
            yield ctx.finding(
                fact.origin, fact.line, f"{fact.ref}: {issue.kind}: "
                + issue.message.replace(" in the page", " in the fact", 1),
                hint="state the value the quote gives, or quote the passage that gives yours")
