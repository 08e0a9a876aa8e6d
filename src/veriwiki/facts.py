"""The vault's facts, for ``python check`` blocks: ``from veriwiki import facts``.

Inside the sandbox the runner writes the facts of the vault to a JSON file named by the
``VERIWIKI_FACTS_FILE`` environment variable; this module reads it on first use::

    from veriwiki import facts
    heads = facts.get("Llama 2 70B", "heads")        # 64 (an int)
    kv = facts.fact("Llama 2 70B", "kv_heads")        # .value .unit .source .quote .as_of
    assert heads / kv.value == 8

Names compare loosely (case, spaces, ``_`` and ``-`` are ignored the way the checker
ignores them). Numeric values come back as ``int`` or ``float`` with their scale folded
in (``70B`` → 70000000000, ``4K`` → 4000); other values as the text written. When a
key has several facts, the one with the latest ``as_of`` wins.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Fact", "all", "fact", "get"]

_SEPARATORS = re.compile(r"[\s_\-]+")
_cache: list[Fact] | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact: ``value`` is a number when the vault's value is one, else the text."""

    entity: str
    attribute: str
    value: Any
    unit: str | None
    source: str | None
    quote: str | None
    as_of: str | None
    text: str  # the value as written in the vault


def _key(text: str) -> str:
    return _SEPARATORS.sub(" ", str(text).casefold()).strip()


def _load() -> list[Fact]:
    global _cache
    if _cache is None:
        path = os.environ.get("VERIWIKI_FACTS_FILE")
        rows: list[dict[str, Any]] = []
        if path:
            with open(path, encoding="utf-8") as fh:
                rows = json.load(fh)
        _cache = [Fact(r["entity"], r["attribute"],
                       r["number"] if r.get("number") is not None else r["value"],
                       r.get("unit"), r.get("source"), r.get("quote"), r.get("as_of"),
                       r["value"]) for r in rows]
    return _cache


def all() -> list[Fact]:  # noqa: A001 - the API name the docs promise
    """Every fact of the vault, in the order the vault lists them."""
    return list(_load())


def fact(entity: str, attribute: str) -> Fact:
    """The fact for ``entity`` and ``attribute``; KeyError naming what exists otherwise."""
    want = (_key(entity), _key(attribute))
    facts = _load()
    found = [f for f in facts if (_key(f.entity), _key(f.attribute)) == want]
    if found:
        return max(found, key=lambda f: f.as_of or "")
    same_entity = sorted({f.attribute for f in facts if _key(f.entity) == want[0]})
    if same_entity:
        raise KeyError(f"no fact {entity}.{attribute}; {entity} has: "
                       + ", ".join(same_entity))
    entities = sorted({f.entity for f in facts})
    known = ", ".join(entities[:20]) + (" …" if len(entities) > 20 else "")
    raise KeyError(f"no fact about {entity!r}" + (f"; known entities: {known}" if known
                                                  else "; the vault has no facts"))


def get(entity: str, attribute: str) -> Any:
    """The value of a fact (a number when it is one); KeyError when there is none."""
    return fact(entity, attribute).value
