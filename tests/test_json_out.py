"""The streamed ``--json`` writer gives, byte for byte, what the whole-text one gave:
``json.dumps(data, ensure_ascii=False, indent=2)``, DEL and C1 controls escaped, a
newline."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from veriwiki.cli.json_out import Items, dumps, write_json


def reference(data: Any) -> str:
    """What print_json wrote before it streamed."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return re.sub("[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def plain(data: Any) -> Any:
    """``data`` with every :class:`Items` made a list."""
    if isinstance(data, Items):
        return [plain(v) for v in data.items]
    if isinstance(data, dict):
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [plain(v) for v in data]
    return data


def written(data: Any) -> str:
    out = io.StringIO()
    write_json(data, out)
    return out.getvalue()


# every code point class that matters: ASCII, C0, DEL, C1, line separators, astral,
# lone surrogates
TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                             exclude_categories=()), max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
           | st.floats(allow_nan=True, allow_infinity=True) | TEXT)
KEYS = TEXT | st.integers(-5, 5) | st.booleans() | st.none()


def _wrapped(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (st.lists(children, max_size=4)
            | st.dictionaries(KEYS, children, max_size=4)
            | st.lists(children, max_size=4).map(lambda v: Items(iter(v)))
            | st.lists(children, max_size=4).map(tuple))


JSON = st.recursive(SCALARS, _wrapped, max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_streamed_equals_json_dumps(data: Any) -> None:
    # Items are one-shot iterators: the reference is built from a copy
    expected = reference(plain(_copy(data)))
    assert written(data) == expected


def _copy(data: Any) -> Any:
    if isinstance(data, Items):
        items = list(data.items)
        data.items = iter(items)
        return Items(iter([_copy(v) for v in items]))
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    if isinstance(data, tuple):
        return tuple(_copy(v) for v in data)
    return data


def test_findings_shape_with_hostile_text() -> None:
    findings = [{"rule": "quote-not-found", "severity": "error", "path": "wiki/é ü.md",
                 "line": 3, "message": 'a "quote"\\ \x00\x1b[31m\x7f\x85\x9f\u2028 \U0001f600',
                 "column": 7, "hint": "tab\there\nnewline\r"},
                {"rule": "r", "severity": "info", "path": "p", "line": 0, "message": ""}]
    data = {"findings": Items(iter(findings)),
            "summary": {"pages": 2, "findings": 2, "by_rule": {"r": 1, "é": 1}},
            "llm": {"usage": [1.5, None, True, {"nested": []}]}}
    expected = reference({"findings": findings, "summary": data["summary"],
                          "llm": data["llm"]})
    assert written(data) == expected
    assert "\x1b" not in expected and "\x85" not in expected  # escaped, not raw
    assert dumps({"findings": Items(iter([]))}) + "\n" == reference({"findings": []})


def test_many_items_cross_write_batches() -> None:
    items = [{"n": i, "s": f"x\x90{i}"} for i in range(3000)]
    assert written({"a": Items(iter(items))}) == reference({"a": items})


def test_refused_like_json_dumps() -> None:
    import pytest

    for bad in ({(1, 2): 1}, {"a": Items(iter([object()]))}, {"a": {1j: 1}}):
        with pytest.raises(TypeError):
            written(bad)
