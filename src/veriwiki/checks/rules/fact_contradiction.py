"""fact-contradiction: a cited sentence states another value than a known fact.

A claim is compared with a fact only when it can be paired without guessing: the
sentence names exactly one known entity (its name or one of its page's aliases; on the
entity's own page the sentence may leave it implicit) and exactly one of that entity's
attributes (its name with spaces, or a built-in phrase such as "context window" for
``context_length``), and states at least one number in a compatible unit. It is flagged
when none of its numbers equals the fact's value. A sentence about one variant of a
family ("the smallest GPT-2 …", "the 7B model …") is paired only with facts whose quote
names that variant (:mod:`veriwiki.core.variants`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.facts import (
    Fact,
    attribute_phrases,
    index_facts,
    is_same_number,
    name_pattern,
    norm_key,
    outermost,
)
from veriwiki.core.model import Finding, Page
from veriwiki.core.numbers import QUANTITY, Quantity, extract_quantities
from veriwiki.core.resolve import PageNames
from veriwiki.core.variants import is_about_variant, variant_qualifiers


class _Entities:
    """Known entities: their name patterns, attributes and the pages about them."""

    def __init__(self, facts: list[Fact],
                 pages_named: Callable[[Iterable[str]], Sequence[PageNames]]) -> None:
        self.by_key = index_facts(facts)
        self.attributes: dict[str, dict[str, list[Fact]]] = {}
        names: dict[str, set[str]] = {}
        for (entity, attribute), group in self.by_key.items():
            if any(f.quantity is not None for f in group):
                self.attributes.setdefault(entity, {})[attribute] = group
                names.setdefault(entity, set()).add(group[0].entity)
        self.page_entity: dict[str, str] = {}
        for page in pages_named(list(names)):  # the pages with one of those names
            for name in (page.title, *page.aliases):
                key = norm_key(name)
                if key in names:
                    self.page_entity.setdefault(page.path, key)
                    names[key].update((page.title, *page.aliases))
                    break
        self.name_of = {norm_key(n): key for key, ns in names.items() for n in ns
                        if n.strip() and "|" not in n}
        alternatives = sorted(self.name_of, key=len, reverse=True)
        self.names = name_pattern("|".join(alternatives), raw=True) if alternatives else None
        self.phrases = {a: [name_pattern(p) for p in attribute_phrases(a)]
                        for attrs in self.attributes.values() for a in attrs}

    def mentioned(self, text: str, page: Page) -> str | None:
        """The one entity the sentence is about, or None when none or several."""
        keys = {self.name_of.get(norm_key(m.group()), "") for m in self.names.finditer(text)
                } - {""} if self.names else set()
        if len(keys) == 1:
            return keys.pop()
        if not keys:
            return self.page_entity.get(page.path)
        return None

    def attribute(self, text: str, entity: str) -> tuple[str, int] | None:
        """The one attribute of ``entity`` the sentence names, and where; else None."""
        spans = [(m.start(), m.end(), attr) for attr in self.attributes[entity]
                 for pattern in self.phrases[attr] for m in pattern.finditer(text)]
        found = outermost(spans)
        if len({s[2] for s in found}) != 1:
            return None
        return found[0][2], found[0][0]


def _compatible(q: Quantity, fact_q: Quantity) -> bool:
    return q.unit is None or fact_q.unit is None or q.unit == fact_q.unit


def _contradictions(ctx: CheckContext) -> Iterator[tuple[Page, Any, Quantity, Fact]]:
    if not ctx.pages:
        return
    known = _Entities([f for f in ctx.facts if isinstance(f, Fact)], ctx.pages_named)
    if not known.attributes:
        return
    for page in ctx.pages:
        for claim in page.claims:
            text = re.sub(r"\{\{[^{}\n]*\}\}", lambda m: " " * len(m.group()), claim.text)
            entity = known.mentioned(text, page)
            if entity is None or entity not in known.attributes:
                continue
            hit = known.attribute(text, entity)
            if hit is None:
                continue
            attribute, at = hit
            facts = [f for f in known.attributes[entity][attribute] if f.quantity is not None]
            names = [m.span() for m in known.names.finditer(text)] if known.names else []
            qualifiers = variant_qualifiers(text, names)
            if qualifiers:  # about one member of the family: pair only with its own facts
                facts = [f for f in facts if is_about_variant(qualifiers, f.quote or "")]
                if not facts:
                    continue
            numbers = [q for q in extract_quantities(text) if q.kind == QUANTITY]
            numbers = [q for q in numbers
                       if any(_compatible(q, f.quantity) for f in facts if f.quantity)]
            if not numbers:
                continue
            if any(f.quantity is not None and is_same_number(q, f.quantity)
                   for q in numbers for f in facts):
                continue
            nearest = min(numbers, key=lambda q: min(abs(q.start - at), abs(q.end - at)))
            yield page, claim, nearest, facts[0]


@rule("fact-contradiction", Severity.ERROR, "a cited sentence contradicts a known fact", 93,
      facet="facts")
def fact_contradiction(ctx: CheckContext) -> Iterator[Finding]:
    """Claims naming one entity and one attribute whose numbers all differ from the fact."""
    for page, claim, number, fact in _contradictions(ctx):
        yield ctx.finding(
            page.path, claim.line,
            f'"{number.raw}" contradicts the fact {fact.ref} = {fact.display} ({fact.where})',
            hint="correct the sentence, or the fact if the source says otherwise (and run "
                 "check again: the citation must still verify)")
