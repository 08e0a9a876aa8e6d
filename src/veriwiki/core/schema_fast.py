"""A quick yes to "is this frontmatter valid?" for the plain schemas page types use.

``schema-violation`` validates every page's frontmatter with jsonschema, which builds an
error object, a path and an evolved validator for each keyword it descends into: most
of a cold check's time at 10k pages, for pages that are nearly all valid. ``compile_schema``
turns a schema made only of the keywords below into one predicate; the rule asks
jsonschema for the messages only when the predicate says no. A schema with any other
keyword (or a ``$ref`` it cannot follow within the schema) gets no predicate, so the
rule keeps asking jsonschema for every page: the predicate may decline, never guess.

Each keyword follows jsonschema's own Draft 2020-12 rule (``jsonschema._keywords`` and
its default type checker); ``tests/test_schema_fast.py`` compares the two on generated
schemas and values.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

Check = Callable[[Any], bool]
Conforms = Callable[[Any, str], bool]  # a format checker's ``conforms(instance, format)``

# keys that change where a reference below them leads
_BASES = frozenset({"$id", "$anchor", "$dynamicAnchor"})
_TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": lambda x: isinstance(x, numbers.Number) and not isinstance(x, bool),
    "integer": lambda x: not isinstance(x, bool) and (
        isinstance(x, int) or (isinstance(x, float) and x.is_integer())),
}


class _Decline(Exception):
    """The schema uses something the predicate does not do."""


def compile_schema(schema: Any, conforms: Conforms | None,
                   keywords: Collection[str]) -> Check | None:
    """A predicate true exactly when jsonschema finds no error in a value, or None when
    ``schema`` has a keyword this module does not handle. ``conforms`` is the format
    checker jsonschema validates with (None: formats are not asserted); ``keywords``
    are the ones the validator applies (``VALIDATORS``): it ignores any other key, and so
    does the predicate."""
    try:
        return _Compiler(schema, conforms, keywords).compile(schema, ())
    except (_Decline, RecursionError, TypeError, ValueError, re.error):
        return None


class _Compiler:
    def __init__(self, root: Any, conforms: Conforms | None, keywords: Collection[str]
                 ) -> None:
        self.root = root
        self.conforms = conforms
        self.keywords = keywords

    def compile(self, schema: Any, refs: tuple[str, ...]) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, Mapping):
            raise _Decline
        checks: list[Check] = []
        for key, value in schema.items():
            if key in _BASES:
                raise _Decline  # a new base for the references below it
            if key not in self.keywords:
                continue  # an annotation, or a key the validator does not know
            make = _KEYWORDS.get(key)
            if make is None:
                raise _Decline
            checks.append(make(self, value, schema, refs))
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]
        return lambda x: all(c(x) for c in checks)

    def follow(self, ref: Any, refs: tuple[str, ...]) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in refs:
            raise _Decline  # another document, an anchor, or a schema that refers to itself
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node or "%" in part:
                raise _Decline
            node = node[part]
        return self.compile(node, (*refs, ref))


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def _type(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise _Decline
    tests = [_TYPES[n] if isinstance(n, str) and n in _TYPES else _decline() for n in names]
    if len(tests) == 1:
        return tests[0]
    return lambda x: any(t(x) for t in tests)


def _decline() -> Check:
    raise _Decline


def _str_values(value: Any) -> tuple[str, ...]:
    """The values of a ``const`` or ``enum`` when all are strings (then jsonschema's
    equality is plain ``==``); anything else declines."""
    values = value if isinstance(value, list) else None
    if values is None or not all(isinstance(v, str) for v in values):
        raise _Decline
    return tuple(values)


def _const(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    (want,) = _str_values([value])
    return lambda x: isinstance(x, str) and x == want


def _enum(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    allowed = frozenset(_str_values(value))
    return lambda x: isinstance(x, str) and x in allowed


def _properties(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    if not isinstance(value, Mapping):
        raise _Decline
    subs = [(k, c.compile(v, refs)) for k, v in value.items()]
    return lambda x: not isinstance(x, dict) or all(
        k not in x or sub(x[k]) for k, sub in subs)


def _additional(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    if "patternProperties" in schema:
        raise _Decline
    known = schema.get("properties", {})
    if not isinstance(known, Mapping):
        raise _Decline
    sub = c.compile(value, refs)
    return lambda x: not isinstance(x, dict) or all(
        k in known or sub(v) for k, v in x.items())


def _required(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    if not isinstance(value, list):
        raise _Decline
    names = tuple(value)
    return lambda x: not isinstance(x, dict) or all(n in x for n in names)


def _items(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    if "prefixItems" in schema:
        raise _Decline
    sub = c.compile(value, refs)
    return lambda x: not isinstance(x, list) or all(sub(v) for v in x)


def _any_of(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    if not isinstance(value, list) or not value:
        raise _Decline
    subs = [c.compile(v, refs) for v in value]
    return lambda x: any(s(x) for s in subs)


def _all_of(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    if not isinstance(value, list) or not value:
        raise _Decline
    subs = [c.compile(v, refs) for v in value]
    return lambda x: all(s(x) for s in subs)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Decline
    return value


_Maker = Callable[["_Compiler", Any, Any, tuple[str, ...]], Check]


def _bound(of: Callable[[Any], Any], applies: Check, keep: Callable[[Any, Any], bool]
           ) -> _Maker:
    """A keyword comparing ``of(x)`` with its number, for values ``applies`` accepts
    (jsonschema ignores the rest): minimum and maximum on numbers, the lengths on
    strings, the item counts on arrays."""
    def make(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
        limit = _number(value)
        return lambda x: not applies(x) or keep(of(x), limit)
    return make


def _same(x: Any) -> Any:
    return x


_NUMBER, _STRING, _ARRAY = _TYPES["number"], _TYPES["string"], _TYPES["array"]
_minimum = _bound(_same, _NUMBER, lambda v, n: not v < n)
_maximum = _bound(_same, _NUMBER, lambda v, n: not v > n)
_exclusive_minimum = _bound(_same, _NUMBER, lambda v, n: not v <= n)
_exclusive_maximum = _bound(_same, _NUMBER, lambda v, n: not v >= n)
_min_items = _bound(len, _ARRAY, lambda v, n: v >= n)
_max_items = _bound(len, _ARRAY, lambda v, n: v <= n)
_min_length = _bound(len, _STRING, lambda v, n: v >= n)
_max_length = _bound(len, _STRING, lambda v, n: v <= n)


def _pattern(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    if not isinstance(value, str):
        raise _Decline
    search = re.compile(value).search  # jsonschema runs re.search with the same text
    return lambda x: not isinstance(x, str) or search(x) is not None


def _format(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    conforms = c.conforms
    if conforms is None:
        return _always
    if not isinstance(value, str):
        raise _Decline
    return lambda x: conforms(x, value)


def _ref(c: _Compiler, value: Any, schema: Any, refs: tuple[str, ...]) -> Check:
    return c.follow(value, refs)


_KEYWORDS: dict[str, _Maker] = {
    "type": _type, "const": _const, "enum": _enum, "properties": _properties,
    "additionalProperties": _additional, "required": _required, "items": _items,
    "anyOf": _any_of, "allOf": _all_of, "minimum": _minimum, "maximum": _maximum,
    "exclusiveMinimum": _exclusive_minimum, "exclusiveMaximum": _exclusive_maximum,
    "minItems": _min_items, "maxItems": _max_items,
    "minLength": _min_length, "maxLength": _max_length, "pattern": _pattern,
    "format": _format, "$ref": _ref,
}
