"""number-mismatch and unit-mismatch: numbers in a claim that its quotes do not state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding, Page


def _compare(compare: Callable[[str, str], list[Any]], claim: str, quote: str
             ) -> list[list[str]]:
    return [[i.kind, i.message] for i in compare(claim, quote)]


def _issues(ctx: CheckContext) -> list[tuple[Page, Any, Any]]:
    from veriwiki.core.numbers import compare

    def compute() -> list[tuple[Page, Any, Any]]:
        out = []
        for page in ctx.pages:
            for claim in page.claims:
                quotes = [c.quote for c in claim.citations if c.quote]
                if not quotes:
                    continue
                joined = " … ".join(quotes)
                issues = ctx.cached(("numbers", claim.text, joined),
                                    partial(_compare, compare, claim.text, joined))
                for kind, message in issues:
                    out.append((page, claim, SimpleNamespace(kind=kind, message=message)))
        return out

    return list(ctx.memo("number-issues", compute))


def _findings(ctx: CheckContext, kind: str) -> Iterator[Finding]:
    for page, claim, issue in _issues(ctx):
        if issue.kind != kind:
            continue
        cite = claim.citations[0]
        hint = ("state the number the source gives, or cite the passage that gives yours"
                if kind == "number-mismatch" else
                "use the source's unit, or cite a passage in the unit you state")
        yield ctx.finding(page.path, cite.line, issue.message, hint=hint, column=cite.column)


@rule("number-mismatch", Severity.ERROR, "a number in the claim is not in its quote", 82,
      facet="page")
def number_mismatch(ctx: CheckContext) -> Iterator[Finding]:
    """Numbers of a cited sentence must appear, by value, in one of its quotes."""
    yield from _findings(ctx, "number-mismatch")


@rule("unit-mismatch", Severity.ERROR, "the claim's number has another unit than the quote's", 83,
      facet="page")
def unit_mismatch(ctx: CheckContext) -> Iterator[Finding]:
    """Same value as the quote, different unit (40B tokens vs 40GB of text)."""
    yield from _findings(ctx, "unit-mismatch")
