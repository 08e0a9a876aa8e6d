"""unread-citation: a ``[@`` citation the parser could not read, so its claim goes
unverified (core/unread_citations.py says why: a ``|`` in a table cell, a quote left
open, a typo in the form, a place where markdown reads no citation)."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("unread-citation", Severity.ERROR, "a citation the parser could not read", 79,
      facet="page")
def unread_citation(ctx: CheckContext) -> Iterator[Finding]:
    """Each ``[@`` opening that is not a citation the parser read, nor a link."""
    for page in ctx.pages:
        for line, column, why in page.unread_citations:
            yield ctx.finding(
                page.path, line, f"this citation {why}; its claim is not verified",
                hint='write it as [@source-id, "exact quote"], e.g. [@vaswani2017, '
                     '"the Transformer"]', column=column)
