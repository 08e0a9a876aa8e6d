"""fact-conflict: two facts give different values for one entity and attribute."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.facts import Fact, index_facts, same_value
from veriwiki.core.model import Finding


@rule("fact-conflict", Severity.ERROR, "two facts disagree on one entity and attribute", 90)
def fact_conflict(ctx: CheckContext) -> Iterator[Finding]:
    """Each fact that disagrees with an earlier one of the same key and ``as_of`` date.

    Facts are ordered by file and line; a fact dated differently (``as_of``) states
    another moment, not a conflict.
    """
    facts: list[Fact] = sorted(ctx.facts, key=lambda f: (f.origin, f.line))
    for group in index_facts(facts).values():
        for i, fact in enumerate(group):
            other = next((g for g in group[:i]
                          if g.as_of == fact.as_of and not same_value(g, fact)), None)
            if other is None:
                continue
            dated = f" (as of {fact.as_of})" if fact.as_of else ""
            yield ctx.finding(
                fact.origin, fact.line,
                f"{fact.ref} is {fact.display} here but {other.display} in {other.where}"
                f"{dated}",
                hint="keep one value (check the sources), or give each an as_of date when "
                     "the value changed over time")
