"""quote-too-short: a quote of one or two words is no evidence for a sentence.

``"128"`` or ``"grouped"`` occurs in almost any paper, so finding it proves nothing. A
number with its unit (``"80 layers"``) is exempt: the number checks compare it.
"""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding

MIN_WORDS = 3


def is_too_short(quote: str) -> bool:
    """Whether ``quote`` has fewer than three words and is not a number with its unit."""
    from veriwiki.core.numbers import QUANTITY, extract_quantities
    from veriwiki.core.quotes import normalize

    if len(quote.split()) > MIN_WORDS:
        return False  # normalisation never splits words, and two may only join at a hyphen
    words = [w for w in normalize(quote).text.split() if any(c.isalnum() for c in w)]
    if len(words) >= MIN_WORDS:
        return False
    numbers = [q for q in extract_quantities(quote) if q.kind == QUANTITY]
    return not (len(numbers) == 1 and numbers[0].unit is not None
                and numbers[0].raw.strip() == quote.strip())


@rule("quote-too-short", Severity.WARNING, "a quote of one or two words supports nothing", 85,
      facet="sources")
def quote_too_short(ctx: CheckContext) -> Iterator[Finding]:
    """Quotes with fewer than three words (a number with its unit excepted)."""
    for page in ctx.pages:
        for claim in page.claims:
            for cite in claim.citations:
                if cite.quote is None or not is_too_short(cite.quote) \
                        or ctx.source_text(cite.source_id, cite.version) is None:
                    continue  # an unknown source is reported by unknown-source
                yield ctx.finding(
                    page.path, cite.line,
                    f'the quote "{cite.quote}" from @{cite.key} is too short to support the '
                    "sentence (fewer than three words)",
                    hint="quote the whole phrase that states the claim, e.g. the sentence "
                         "around it", column=cite.column)
