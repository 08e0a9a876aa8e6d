"""unknown-fact: a ``{{entity.attribute}}`` reference that names no fact."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.facts import norm_key
from veriwiki.core.model import Finding


@rule("unknown-fact", Severity.ERROR, "a {{entity.attribute}} reference names no fact", 91,
      facet="facts")
def unknown_fact(ctx: CheckContext) -> Iterator[Finding]:
    """References whose entity (or a page alias of it) and attribute match no fact."""
    if not any(page.fact_refs for page in ctx.pages):
        return
    attributes: dict[str, dict[str, str]] = {}
    for fact in ctx.facts:
        attributes.setdefault(norm_key(fact.entity), {}).setdefault(norm_key(fact.attribute),
                                                                   fact.attribute)
    aliases: dict[str, str] = {}
    for other in ctx.pages_named(attributes):  # any page of the vault, not only those examined
        title = norm_key(other.title)
        if title in attributes:
            for alias in other.aliases:
                aliases.setdefault(norm_key(alias), title)
    known = {(norm_key(f.entity), norm_key(f.attribute)) for f in ctx.facts}
    for page in ctx.pages:
        for entity, attribute, line, column in page.fact_refs:
            ekey = norm_key(entity)
            ekey = ekey if ekey in attributes else aliases.get(ekey, ekey)
            if (ekey, norm_key(attribute)) in known:
                continue
            ref = "{{" + f"{entity}.{attribute}" + "}}"
            if ekey in attributes:
                names = ", ".join(sorted(attributes[ekey].values()))
                message = f"{ref}: '{entity}' has no fact '{attribute}'"
                hint = f"use one of its attributes ({names}) or add the fact under data/"
            else:
                message = f"{ref}: no fact about '{entity}'"
                hint = "add the fact to a table in data/ (or a model page), or fix the name"
            yield ctx.finding(page.path, line, message, hint=hint, column=column)
