"""The quick frontmatter predicate (core/schema_fast.py) against jsonschema itself."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from veriwiki.core.schema_fast import compile_schema
from veriwiki.services.types import load_types


def _quick(schema: Any) -> Any:
    return compile_schema(schema, FormatChecker().conforms, Draft202012Validator.VALIDATORS)


def _jsonschema_valid(schema: Any, value: Any) -> bool:
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    return not any(True for _ in validator.iter_errors(value))


# --- generated schemas of the handled keywords, and values to try them on ---------------

_NAMES = st.sampled_from(["a", "b", "title", "type", "x y", "1"])
_TYPE_NAMES = st.sampled_from(["string", "integer", "number", "boolean", "null", "array",
                               "object"])
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 1.5, -2.0]),
    st.sampled_from(["", "a", "b", "2024-02-30", "2024-01-31", "90d", "12x", "x y", "é"]),
    st.just(datetime.date(2024, 1, 31)))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(_NAMES, st.just(1)), inner, max_size=3)),
    max_leaves=8)


def _schemas(refs: bool) -> st.SearchStrategy[Any]:
    """Schemas of the handled keywords; with ``refs``, leaves may be ``$ref`` to the
    root's ``#/$defs/d`` (which the test puts there)."""
    leaf = st.one_of(
        st.just({"$ref": "#/$defs/d"}) if refs else st.just({"type": "null"}),
        st.booleans(),
        st.builds(lambda t: {"type": t}, _TYPE_NAMES),
        st.builds(lambda ts: {"type": ts}, st.lists(_TYPE_NAMES, min_size=1, max_size=3)),
        st.builds(lambda v: {"const": v}, st.sampled_from(["a", "b", "model"])),
        st.builds(lambda vs: {"enum": vs}, st.lists(st.sampled_from(["a", "b", ""]),
                                                    min_size=1, max_size=3)),
        st.builds(lambda n: {"minLength": n}, st.integers(0, 2)),
        st.builds(lambda n: {"maxLength": n}, st.integers(0, 2)),
        st.builds(lambda n: {"minimum": n}, st.sampled_from([0, 1, 1.5, -1])),
        st.builds(lambda n: {"maximum": n}, st.sampled_from([0, 1, 1.5, -1])),
        st.builds(lambda n: {"exclusiveMinimum": n}, st.sampled_from([0, 1, 1.5, -1])),
        st.builds(lambda n: {"exclusiveMaximum": n}, st.sampled_from([0, 1, 1.5, -1])),
        st.builds(lambda n: {"minItems": n}, st.integers(0, 2)),
        st.builds(lambda n: {"maxItems": n}, st.integers(0, 2)),
        st.builds(lambda p: {"pattern": p}, st.sampled_from(["^[0-9]+[dwmy]$", "a", "^$"])),
        st.just({"format": "date"}),
        st.just({"type": "string", "format": "date", "description": "a date"}),
    )

    def nest(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        props = st.dictionaries(_NAMES, inner, max_size=3)
        return st.one_of(
            st.builds(lambda p, r, extra: {"type": "object", "properties": p,
                                           "required": r, **extra},
                      props, st.lists(_NAMES, max_size=2, unique=True),
                      st.sampled_from([{}, {"additionalProperties": False},
                                       {"additionalProperties": True}])),
            st.builds(lambda p, a: {"properties": p, "additionalProperties": a}, props, inner),
            st.builds(lambda i: {"type": "array", "items": i}, inner),
            st.builds(lambda i: {"items": i}, inner),
            st.builds(lambda xs: {"anyOf": xs}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda xs: {"allOf": xs}, st.lists(inner, min_size=1, max_size=2)),
            st.builds(lambda i: {"$ref": "#/$defs/d", "allOf": [i]} if refs else i, inner),
        )

    return st.recursive(leaf, nest, max_leaves=6)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_schemas(refs=True), _schemas(refs=False), st.lists(_VALUES, min_size=1, max_size=6))
def test_quick_predicate_agrees_with_jsonschema(body: Any, definition: Any,
                                                values: list[Any]) -> None:
    schema = {"$defs": {"d": definition}, "allOf": [body]}
    quick = _quick(schema)
    assert quick is not None, schema  # every generated keyword is one the module handles
    for value in values:
        assert quick(value) == _jsonschema_valid(schema, value), (schema, value)


# --- hand-written edges ------------------------------------------------------------------

@pytest.mark.parametrize(("schema", "value", "valid"), [
    ({"type": "integer"}, 1.0, True),  # a float with no fraction is an integer
    ({"type": "integer"}, True, False),  # a bool is not
    ({"type": "number"}, False, False),
    ({"minimum": 1}, "0", True),  # minimum ignores what is not a number
    ({"minLength": 1}, 5, True),
    ({"const": "a"}, ["a"], False),
    ({"enum": ["1"]}, 1, False),
    ({"format": "date"}, "2024-02-30", False),
    ({"format": "date"}, 20240101, True),  # formats check strings only
    ({"type": "string", "format": "date"}, datetime.date(2024, 1, 1), False),
    ({"additionalProperties": False, "properties": {"a": True}}, {"a": 1, 1: 2}, False),
    ({"items": False}, [], True),
    ({"type": "string", "MoE": None, "x-note": 1}, "s", True),  # keys jsonschema ignores
    ({"items": False}, [1], False),
    ({"$defs": {"n": {"type": "integer", "minimum": 1}}, "properties":
      {"k": {"$ref": "#/$defs/n"}}}, {"k": 0}, False),
])
def test_quick_predicate_edges(schema: dict[str, Any], value: Any, valid: bool) -> None:
    quick = _quick(schema)
    assert quick is not None
    assert quick(value) is valid
    assert _jsonschema_valid(schema, value) is valid


@pytest.mark.parametrize("schema", [
    {"oneOf": [{"type": "string"}]},  # a keyword the module does not handle
    {"not": {"type": "string"}},
    {"patternProperties": {"^a": {"type": "string"}}},
    {"properties": {"a": True}, "patternProperties": {"^a": True},
     "additionalProperties": False},
    {"$id": "https://example.org/s", "type": "object"},
    {"$defs": {"t": {"items": {"$ref": "#/$defs/t"}}}, "$ref": "#/$defs/t"},  # recursive
    {"$ref": "other.json#/x"},
    {"$ref": "#/$defs/missing"},
    {"type": "strnig"},
    {"properties": {"a": {"$anchor": "a", "type": "string"}}},
    {"const": 1},  # only string constants compare with plain ==
    {"enum": ["a", None]},
    {"items": {"type": "string"}, "prefixItems": [{"type": "integer"}]},
    {"properties": {"a": {"unevaluatedProperties": False}}},
    "not a schema",
])
def test_quick_predicate_declines_what_it_does_not_handle(schema: Any) -> None:
    assert _quick(schema) is None


def test_every_builtin_type_has_a_quick_predicate() -> None:
    """The point of the module: no built-in schema falls back to jsonschema per page."""
    types = load_types(None)
    assert types.base_quick is not None
    assert types.types
    for name, ptype in types.types.items():
        assert ptype.quick is not None, name


_ANNOTATIONS = {"$schema", "$defs", "title", "description", "default", "examples",
                "$comment"}


def _schema_keys(node: Any) -> set[str]:
    """Every key used where a schema is expected, below and at ``node``."""
    if not isinstance(node, dict):
        return set()
    keys = set(node)
    for key, value in node.items():
        if key in ("properties", "$defs"):
            for sub in value.values():
                keys |= _schema_keys(sub)
        elif key in ("items", "additionalProperties"):
            keys |= _schema_keys(value)
        elif key in ("anyOf", "allOf"):
            for sub in value:
                keys |= _schema_keys(sub)
    return keys


def test_builtin_schemas_use_only_keywords_jsonschema_knows() -> None:
    """A stray key is ignored by jsonschema (and the predicate): in a built-in schema it
    is a mistake, like a YAML description cut at its comma into a key of its own."""
    types = load_types(None)
    known = set(Draft202012Validator.VALIDATORS) | _ANNOTATIONS
    for name, ptype in types.types.items():
        assert _schema_keys(ptype.schema) <= known, name
    assert _schema_keys(types.base.schema) <= known


def test_quick_predicate_on_builtin_types_agrees_with_jsonschema() -> None:
    types = load_types(None)
    samples: list[dict[str, Any]] = [
        {"title": "T"}, {"title": ""}, {"title": "T", "reviewed": "2024-13-01"},
        {"title": "T", "reviewed": datetime.date(2024, 1, 1)},
        {"title": "T", "review_every": "90d", "tags": ["a", 1, 2.5]},
        {"title": "T", "tags": [None]}, {"title": "T", "aliases": "x"},
        {"title": "T", "sources": "s"}, {"title": "T", "architecture": {"layers": 0}},
        {"title": "T", "architecture": {"layers": 2, "width": 1.0}, "parameters": "7B"},
        {"title": "T", "architecture": {"depth": 2}}, {"title": "T", "training": {"tokens": []}},
    ]
    for ptype in [*types.types.values()]:
        for sample in samples:
            data = dict(sample, type=ptype.name)
            assert ptype.quick is not None
            assert ptype.quick(data) == (not any(True for _ in ptype.validator.iter_errors(
                data))), (ptype.name, data)
