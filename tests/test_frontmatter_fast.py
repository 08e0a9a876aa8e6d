"""The plain-frontmatter reader gives what the YAML loader gives, or declines.

Blocks are generated from lines of every form the reader takes and many it must
decline (values YAML reads as numbers, booleans or null; quotes, escapes, comments,
nesting, anchors, indicators, odd white space); for each, the reader's mapping must
equal the loader's, and where the loader fails the reader must decline.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veriwiki.core import frontmatter
from veriwiki.core.frontmatter import _SCALARS, _Loader, read_frontmatter
from veriwiki.core.frontmatter_fast import read_simple

_ATOMS = ["abc", "Two words", "yes", "No", "on", "OFF", "true", "null", "~", "", "0",
          "12", "-3", "+4", "0x1F", "0o17", "017", "1_000", "3.5", "1e3", "6.02e+23",
          ".inf", "-.Inf", ".NaN", "1:30", "2024-01-01", "2024-13-01 10:00", "http://x.org/a",
          "C#", "a #b", "a: b", "a:", ":a", "a,b", "[x]", "{y}", "it's", 'say "hi"',
          "-", "- x", "?", "!tag", "&anc", "*ali", "|", ">", "%p", "@x", "`c`", "=", "<<",
          "é", "日本", "emoji 🙂", "\\n", "a\\tb", " lead", "trail ", "\u2028", "\x85",
          "\ufeff", "\t", "\r", "\x07", "y", "n", "Y", "a[b", "a]b", "a{b", "a}b", "x:y",
          "a, b", "#", "a #", "'", '"', "a'", 'a"']
_KEYS = ["title", "type", "tags", "aliases", "summary", "k-2", "_x", "yes", "null", "on",
         "Title", "1", "a b", "\"q\"", "title"]


def _value() -> st.SearchStrategy[str]:
    atom = st.sampled_from(_ATOMS)
    quoted = atom.map(lambda a: f'"{a}"') | atom.map(lambda a: f"'{a}'")
    flow = st.lists(atom | quoted, max_size=4).map(
        lambda xs: "[" + ", ".join(xs) + "]")
    odd = st.sampled_from(["[a, ]", "[a,,b]", "[ ]", "[]", "[a] b", "\"a\" b", "'a''b'",
                           "\"a\\\"b\"", "[a, [b]]", "{a: 1}", "| \n  x", "a # c"])
    return atom | quoted | flow | odd


@st.composite
def _block(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(_KEYS))
        form = draw(st.integers(0, 5))
        if form == 0:
            lines.append(f"{key}:")
            indent = " " * draw(st.sampled_from([0, 2, 4]))
            for _ in range(draw(st.integers(0, 3))):
                item = draw(st.sampled_from(_ATOMS) | st.sampled_from(_ATOMS).map(
                    lambda a: f'"{a}"'))
                lines.append(f"{indent}- {item}")
            if draw(st.booleans()):
                lines.append(draw(st.sampled_from(["", "  ", "  nested: 1", "# c", "-"])))
        else:
            sep = draw(st.sampled_from([" ", "  ", "", " \t"]))
            lines.append(f"{key}:{sep}{draw(_value())}" + draw(st.sampled_from(["", " "])))
    return "\n".join(lines)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _check(block: str) -> None:
    got = read_simple(block, _SCALARS)
    if got is None:
        return
    try:
        want = yaml.load(block, Loader=_Loader) if block.strip() else {}
    except yaml.YAMLError:
        pytest.fail(f"the reader took a block YAML refuses: {block!r} -> {got!r}")
    assert _same(got, want if want is not None else {}), (block, got, want)


@pytest.mark.parametrize("form", ["k: {}", "k: \"{}\"", "k: '{}'", "k: [{}]", "k: [{}, b]",
                                  "k:\n  - {}", "k:\n- {}", "{}: v", "k: {} ", "k:  {}"])
def test_each_value_alone_in_each_form(form: str) -> None:
    for atom in _ATOMS:
        _check(form.format(atom))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_block())
def test_reader_equals_the_yaml_loader_or_declines(block: str) -> None:
    _check(block)


def test_reader_takes_the_usual_forms() -> None:
    block = ("title: \"Hierarchical Method 1\"\ntype: synthesis\naliases: []\n"
             "tags: [architecture, alignment]\nsummary: 'A short one'\nreviewed: 2024-05-01\n"
             "layers: 48\nopen: yes\nsource: https://arxiv.org/abs/1706.03762\nauthors:\n"
             "  - Ada\n  - \"Grace H\"\nnote:\n")
    assert read_simple(block, _SCALARS) == {
        "title": "Hierarchical Method 1", "type": "synthesis", "aliases": [],
        "tags": ["architecture", "alignment"], "summary": "A short one",
        "reviewed": "2024-05-01", "layers": 48, "open": True,
        "source": "https://arxiv.org/abs/1706.03762", "authors": ["Ada", "Grace H"],
        "note": None}


@pytest.mark.parametrize("block", [
    "a: 1\n  b: 2", "a: b # c", "# c\na: 1", "a: &x 1\nb: *x", "a: \"\\t\"", "a:\n  b: 1",
    "a: 1\na: 2", "yes: 1", "a:\tb", "a: [b, c", "a: |\n  x", "a: - b", "a: b\n c",
    "\"a\": 1", "a: 'b''c'", "a:\n  - b\n    - c", "a:\n- b\n  - c"])
def test_reader_declines_what_it_does_not_read(block: str) -> None:
    assert read_simple(block, _SCALARS) is None


def test_frontmatter_of_every_fixture_page_is_read_the_same_either_way(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pages = sorted((Path(__file__).parent / "fixtures").rglob("*.md"))
    pages += sorted((Path(__file__).parent.parent / "examples").rglob("*.md"))
    assert len(pages) > 50
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in pages]
    fast = [read_frontmatter(t) for t in texts]
    monkeypatch.setattr(frontmatter, "read_simple", lambda block, scalars: None)
    slow = [read_frontmatter(t) for t in texts]
    assert fast == slow
    taken = sum(1 for t in texts if t.startswith("---\n") and read_simple(
        t.split("\n---", 1)[0][4:], _SCALARS) is not None)
    assert taken > len(pages) // 3  # the reader does serve most pages
