"""Variant qualifiers: words that scope a sentence to one member of a model family.

A ``model`` page about a family holds the flagship's fields; a sentence about another
member ("the smallest GPT-2 has 117M parameters", "the 7B model uses …") states that
member's value, not the flagship's. :func:`variant_qualifiers` finds such qualifiers:

- a size label naming a member: before ``model``, ``variant``, ``version``,
  ``checkpoint`` or ``size`` ("the 7B model"), or right after the family's name
  ("GPT-2 124M has …"); ``7B parameters`` is a value, not a qualifier;
- ``smallest``, ``largest``, ``biggest``, ``base``, ``instruct``, ``chat``, ``distilled``,
  ``quantized``, ``mini``, ``tiny``; ``small``, ``medium``, ``large``, ``XL`` only
  before ``model``, ``version``, ``variant`` or ``size`` ("a large vocabulary" is not one).

The fact-contradiction rule pairs a sentence with a fact only when every qualifier of
the sentence (outside the entity's own name, as in "Mistral 7B") also appears in the
fact's quote, i.e. the fact is about that variant.
"""

from __future__ import annotations

import re

_SIZE = re.compile(r"(?<![\w.])(?:[0-9]+x)?[0-9]+(?:\.[0-9]+)?\s?[BMKT](?![\w])")
_MEMBER = re.compile(r"[\s-]+(?:model|models|variant|version|checkpoint|one|size)\b")
_WORDS = re.compile(
    r"(?i)\b(?:smallest|largest|biggest|base|instruct|instruction-tuned|chat|distilled|"
    r"quantized|mini|tiny|(?:small|medium|large|xl)(?=[-\s]+(?:model|version|variant|size)))\b")


def variant_qualifiers(text: str, skip: list[tuple[int, int]] | None = None) -> set[str]:
    """The variant qualifiers of ``text`` (lower-cased), ignoring the ``skip`` spans."""
    spans = skip or []
    found: set[str] = set()
    for m in _SIZE.finditer(text):
        after_name = any(b <= m.start() <= b + 1 for _, b in spans)
        if (after_name or _MEMBER.match(text, m.end())) and \
                not any(a <= m.start() < b for a, b in spans):
            found.add(m.group().replace(" ", "").lower())
    for m in _WORDS.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            found.add(m.group().lower())
    return found


def is_about_variant(qualifiers: set[str], fact_text: str) -> bool:
    """Whether every qualifier also appears in ``fact_text`` (the fact's own variant)."""
    have = variant_qualifiers(fact_text)
    return qualifiers <= have
