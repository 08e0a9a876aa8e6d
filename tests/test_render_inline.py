"""Differential tests of the renderer's inline scanner (render/inline.py) and of the
lazy inline pass (``parse_tokens(text, lazy=True)``, children made when read).

Wherever ``fast_children`` returns tokens they must be markdown-it's (the render
parser's inline pass and the core rules after it, on the same text and env): type,
tag, nesting, content, attributes and meta. A lazily parsed page must render to the
same HTML as the page parsed whole by markdown-it, whether its inline tokens come from
the scanner or from markdown-it's fallback. Checked on hand-written inputs, every
corpus of the repository, a generated bench vault, the real corpus when present and
hypothesis-made text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it.token import Token

from helpers_gen import generated_pages
from veriwiki.render import tokens as render_tokens_mod
from veriwiki.render.fastblocks import later_rules
from veriwiki.render.inline import fast_children
from veriwiki.render.markdown import render_tokens
from veriwiki.render.sanitize import clean_fragment
from veriwiki.render.tokens import LAZY, parse_tokens

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_corpus import corpus_files, read_utf8
from test_parse_fast_blocks import _page  # noqa: E402
from test_render import Ctx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("VERIWIKI_REAL_CORPUS", "/tmp/s3real/cache/vault"))
MD = render_tokens_mod._parser()


def _fields(tok: Any) -> tuple[Any, ...]:
    return (tok.type, tok.tag, tok.nesting, tok.content, dict(tok.attrs or {}),
            repr(tok.meta or {}))


def markdown_it_children(src: str, env: MutableMapping[str, Any]) -> list[Token]:
    """What markdown-it makes of one inline text: its inline pass and later core rules."""
    tok = Token("inline", "", 0)
    tok.content = src
    tok.children = None
    later_rules(MD, "", dict(env), [tok])
    return tok.children or []


def check_inline(src: str, env: MutableMapping[str, Any] | None = None) -> bool:
    """Assert the scanner agrees with markdown-it on ``src``; True when it read it."""
    env = {} if env is None else env
    got = fast_children(src, MD, dict(env))
    if got is None:
        return False
    assert [_fields(t) for t in got] == [_fields(t) for t in markdown_it_children(src, env)], \
        repr(src)
    return True


def assert_same_page(text: str, where: str = "") -> tuple[int, int]:
    """The lazy page renders as the page parsed whole; (inline tokens, read by the
    scanner)."""
    full = parse_tokens(text, fast=False)
    lazy = parse_tokens(text, lazy=True)
    assert [(t.type, t.map, t.content) for t in lazy] == \
        [(t.type, t.map, t.content) for t in full], where
    seen = read = 0
    for tok, whole in zip(lazy, full, strict=True):
        if tok.type != "inline" or tok.children is not None:
            continue
        seen += 1
        got = fast_children(tok.content, MD, dict(tok.meta[LAZY]))
        if got is not None:
            read += 1
            assert [_fields(t) for t in got] == [_fields(t) for t in whole.children or []], \
                (where, tok.content)
    html = render_tokens(parse_tokens(text, lazy=True), Ctx()).html
    assert html == render_tokens(full, Ctx()).html, where
    assert clean_fragment(html) == html, where
    return seen, read


INLINE = [
    "plain words only", "a  \nb", "a \nb", "a\t \nb", "a   \n   b", "a\\\nb", "a\\ \nb",
    "a \\\n  b", "trailing\\", "esc \\* \\_ \\[x\\] \\a \\\\ \\`", "x\u00a0\ny",
    "`code` and ``co`de`` and ` spaced ` and `  ` and ```", "`open only", "`a\nb`",
    "``x` y", "snake_case and file_name_here", "2 * 3 * 4", "*em* here", "a *b",
    "_a_", "__strong__ text", "x_y_z", "*", "**", "a ** b", "word* *word", "(*x*)",
    "R&D and &amp; and &#35; and &nope and &x;", "a < b > c", "a < b", "1 <2",
    "tags #tag #a/b #123 x#y (#p) #", "see [[A]] and [[A#H|label]] and [[ ]] and [[a\nb]]",
    "embed ![[A]] and ![img](x.png) and ! alone and ![ x", "fact {{A.b}} {{nope}} { x }",
    "cite [@src, \"q\"] and [@a; @b] and [@x](y.md) and [@bad id]",
    "link [l](x.md) [l](../a%20b.md#h) [l](http://e.org/a?b=c) [](x) [l](javascript:x)",
    "link [l](x.md \"title\") [l](<x y>) [l]( x.md) [l](x(1).md) [a b!^@](c)",
    "[x] and [y][z] and [^1] and ^[n] and a^b", "[l](x.md)trailing [l](é.md) [l](a\u00a0b)",
    "[label with `code`](x.md) [lab #t](y) [*em*](z) [l\nm](x)", "[[[x]]] [[x]](y)",
    "text ^b84", "ends with block id\n^b1", "#tag^b1", "\\#x #y", "a\\\n\\\nb",
]


@pytest.mark.parametrize("src", INLINE)
def test_inline_scanner_agrees_with_markdown_it(src: str) -> None:
    check_inline(src)
    check_inline(src, {"references": {"Y": {"href": "y.md", "title": ""},
                                      "X": {"href": "x.md", "title": ""}}})


def test_inline_scanner_reads_the_common_cases() -> None:
    for src in ("plain words only", "a  \nb", "see [[A]] and #tag and `code`",
                "link [l](x.md) [l](../a%20b.md#h) [l](http://e.org/a?b=c)",
                "snake_case and 2 * 3", "R&D a < b", "[x] alone", "fact {{A.b}}",
                "cite [@src, \"q\"]", "embed ![[A]]", "esc \\* and \\\nbreak"):
        assert check_inline(src), src
    for src in ("*em* here", "a <b>x</b>", "&amp;", "![i](x.png)", "[^1]", "^[n]",
                "[l](x.md \"t\")", "[*e*](x)"):
        assert fast_children(src, MD, {}) is None, src


@pytest.mark.parametrize("src", INLINE)
def test_lazy_page_renders_as_the_whole_parse(src: str) -> None:
    assert_same_page(f"# {src}\n\n{src}\n\n- {src}\n\n> [!note] {src}\n> {src}\n", src)
    assert_same_page(f"{src}\n\n[X]: x.md\n", src)


def test_lazy_page_with_the_fallback_only_renders_the_same(monkeypatch: Any) -> None:
    monkeypatch.setattr(render_tokens_mod, "fast_children", lambda *a: None)
    for src in INLINE:
        assert_same_page(f"# {src}\n\n{src}\n", src)


def test_lazy_page_with_footnotes_is_parsed_whole() -> None:
    for text in ("a[^1]\n\n[^1]: n [[A]]\n", "inline^[note] [[A]]\n"):
        tokens = parse_tokens(text, lazy=True)
        assert all(t.children is not None for t in tokens if t.type == "inline")
        assert_same_page(text)


def test_lazy_pages_same_on_every_corpus() -> None:
    files = corpus_files(ROOT / "tests" / "fixtures", ROOT / "examples",
                   ROOT / "src" / "veriwiki" / "templates", ROOT / "docs")
    seen = read = 0
    for f in files:
        text = read_utf8(f)
        if text is not None:
            s, r = assert_same_page(text, str(f))
            seen, read = seen + s, read + r
    assert seen > 1000 and read > seen // 2


def test_lazy_pages_same_on_a_generated_vault(tmp_path: Path) -> None:
    seen = read = 0
    for f in generated_pages(tmp_path, 300, 7):
        s, r = assert_same_page(f.read_text("utf-8"), str(f))
        seen, read = seen + s, read + r
    assert read > seen * 0.95  # the bench pages' text is what the scanner is for


@pytest.mark.skipif(not (REAL / "wiki").is_dir(),
                    reason=f"the real corpus is not on this machine ({REAL}/wiki); "
                           "set VERIWIKI_REAL_CORPUS to a vault to run it")
def test_lazy_pages_same_on_the_real_corpus() -> None:
    checked = seen = read = 0
    for f in corpus_files(REAL / "wiki"):
        text = read_utf8(f)
        if text is not None:
            s, r = assert_same_page(text, str(f))
            seen, read, checked = seen + s, read + r, checked + 1
    assert checked > 1000 and read > seen // 2


_PIECES = st.sampled_from([
    "a", "word", " ", "  ", "\n", "\t", "*", "_", "**", "`", "``", "\\", "[", "]", "(",
    ")", "[[", "]]", "#", "#tag", "{{", "}}", "{{A.b}}", "!", "^", "<", ">", "&", "&amp;",
    "@", "x.md", "http://e.org/p", "|", "é", "\u00a0", "[@s, \"q\"]", "[l](x.md)",
    "[[A|b]]", "![[A]]", ".", ",", "-", "~", "%20", ":", "\"", "'", "^b1", "\\\n",
])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, min_size=1, max_size=30), st.booleans())
def test_inline_scanner_agrees_on_generated_text(pieces: list[str], refs: bool) -> None:
    src = "".join(pieces).strip(" \t\n")
    if not src:
        return
    check_inline(src, {"references": {"L": {"href": "l.md", "title": ""}}} if refs else {})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_page)
def test_lazy_page_same_on_generated_markdown(text: str) -> None:
    assert_same_page(text + "\n")
