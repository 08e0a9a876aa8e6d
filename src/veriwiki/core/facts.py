"""Facts: typed records (entity, attribute, value, unit, citation, as-of date).

Facts live in ``data/*.csv|yaml`` tables and in typed frontmatter (``model`` cards).
Keys compare loosely: case is ignored and spaces, underscores and hyphens are the same
(``Context length`` = ``context_length``). Values compare by number when both sides are
numbers (``8K`` = ``8192``, ``2T`` = ``2 trillion``, see :mod:`veriwiki.core.numbers`),
else as text after case and white-space folding. Prose refers to a fact with
``{{entity.attribute}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from veriwiki.core.numbers import Quantity, is_same_value, parse_value

_SEPARATORS = re.compile(r"[\s_\-]+")
FACT_REF = re.compile(r"\{\{\s*([^{}\n]+?)\.([A-Za-z0-9_\- ]+?)\s*\}\}")

# Words prose uses for an attribute, besides its own name (keys are normalised).
# Generic names ("tokens") are replaced by their phrases, not extended by them.
ATTRIBUTE_PHRASES: dict[str, tuple[str, ...]] = {
    "context length": ("context length", "context window", "context"),
    "layers": ("layers", "depth"),
    "width": ("width", "hidden size", "model dimension", "hidden dimension", "d_model"),
    "heads": ("heads", "attention heads"),
    "kv heads": ("kv heads", "key-value heads", "key/value heads"),
    "vocab": ("vocab", "vocabulary"),
    "tokens": ("training tokens", "trained on", "pretrained on", "pre-trained on"),
}


def norm_key(text: str) -> str:
    """An entity or attribute name folded for comparison (``Context_Length`` → ``context length``)."""
    return _SEPARATORS.sub(" ", text.casefold()).strip()


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact and where it was written.

    ``value`` is the text as written (``"4096"``, ``"2T"``); ``source_id`` is ``id`` or
    ``id:vN``; ``origin`` the vault path of the table or page; ``line`` 1-based.
    """

    entity: str
    attribute: str
    value: str
    unit: str | None
    source_id: str | None
    quote: str | None
    as_of: str | None
    origin: str
    line: int

    @property
    def key(self) -> tuple[str, str]:
        """The normalised (entity, attribute) pair."""
        return norm_key(self.entity), norm_key(self.attribute)

    @property
    def ref(self) -> str:
        """``entity.attribute`` as a reference would write it."""
        return f"{self.entity}.{self.attribute}"

    @property
    def where(self) -> str:
        """``origin:line``."""
        return f"{self.origin}:{self.line}"

    @property
    def display(self) -> str:
        """The value with its unit (``4096 tokens``)."""
        return f"{self.value} {self.unit}" if self.unit else self.value

    @property
    def quantity(self) -> Quantity | None:
        """The value read as a number (unit included), or None when it is not one."""
        return fact_quantity(self.value, self.unit)


def fact_quantity(value: str, unit: str | None) -> Quantity | None:
    """``value`` (with ``unit``) as a number, or None when it is text such as ``RoPE``."""
    bare = parse_value(value.strip())
    if bare is None or bare.start != 0:
        return None  # text such as "RoPE" or "cosine to 10% of peak"
    return parse_value(f"{value.strip()} {unit}" if unit else value.strip())


def is_same_number(a: Quantity, b: Quantity) -> bool:
    """Whether two numbers state one value (either may round the other); units must agree."""
    if a.unit is not None and b.unit is not None and a.unit != b.unit:
        return False
    return is_same_value(a, b) or is_same_value(b, a)


def _norm_text(value: str) -> str:
    return " ".join(value.casefold().split())


def same_value(a: Fact, b: Fact) -> bool:
    """Whether two facts state the same value (by number when both are numbers)."""
    qa, qb = a.quantity, b.quantity
    if qa is not None and qb is not None:
        return is_same_number(qa, qb)
    return _norm_text(a.display) == _norm_text(b.display) or _norm_text(a.value) == _norm_text(
        b.value)


def parse_ref(inner: str) -> tuple[str, str] | None:
    """``entity.attribute`` split at the last dot (entities may hold dots: ``Qwen2.5``)."""
    entity, dot, attribute = inner.strip().rpartition(".")
    if not dot or not entity.strip() or not attribute.strip():
        return None
    return entity.strip(), attribute.strip()


def index_facts(facts: Iterable[Fact]) -> dict[tuple[str, str], list[Fact]]:
    """Facts grouped by normalised (entity, attribute), in the given order."""
    out: dict[tuple[str, str], list[Fact]] = {}
    for fact in facts:
        out.setdefault(fact.key, []).append(fact)
    return out


def render_fact_refs(text: str, facts: Iterable[Fact]) -> str:
    """``text`` with each ``{{entity.attribute}}`` replaced by ``value unit [source]``.

    A reference that names no fact is left as written. With several facts for one key
    the latest ``as_of`` wins (undated facts count as oldest).
    """
    by_key = index_facts(facts)

    def replace(m: re.Match[str]) -> str:
        got = by_key.get((norm_key(m.group(1)), norm_key(m.group(2))))
        if not got:
            return m.group(0)
        fact = max(got, key=lambda f: f.as_of or "")
        return fact.display + (f" [@{fact.source_id}]" if fact.source_id else "")

    return FACT_REF.sub(replace, text)


def attribute_phrases(attribute: str) -> tuple[str, ...]:
    """How prose may name an attribute: its name with spaces, or a built-in alias."""
    key = norm_key(attribute)
    return ATTRIBUTE_PHRASES.get(key, (key,))


def _name_regex(name: str) -> str:
    return r"[\s_\-]+".join(re.escape(p) for p in _SEPARATORS.split(name.strip()) if p)


def name_pattern(name: str, *, raw: bool = False) -> re.Pattern[str]:
    """A case-insensitive whole-word pattern for a name, with separators interchangeable.

    With ``raw``, ``name`` is ``|``-joined normalised names (longest first), matched as
    alternatives, so a longer name wins over one it contains.
    """
    body = "|".join(_name_regex(n) for n in name.split("|")) if raw else _name_regex(name)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.IGNORECASE)


def outermost(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The spans not inside a longer one (``Llama 2`` inside ``Llama 2 70B`` drops)."""
    spans = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[int, int, str]] = []
    for span in spans:
        if any(o[0] <= span[0] and span[1] <= o[1] and o != span for o in out):
            continue
        out.append(span)
    return out


__all__ = ["ATTRIBUTE_PHRASES", "FACT_REF", "Fact", "attribute_phrases", "fact_quantity",
           "index_facts", "is_same_number", "name_pattern", "norm_key", "outermost",
           "parse_ref", "render_fact_refs", "same_value"]
