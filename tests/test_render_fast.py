"""Differential tests of the renderer's fast paths: blocks (render/fastblocks.py) and
the sanitizer pass a body of the renderer's own markup skips (render_tokens).

``parse_tokens(text)`` splits plain blocks with the index's line scanner and builds
their block tokens itself; ``parse_tokens(text, fast=False)`` parses the whole page
with markdown-it. The two must give the same tokens (every field the renderer or
markdown-it sets, children included) and the same HTML, on every markdown file of the
repository's corpora, on a generated bench vault, on hand-written tricky inputs
(the index's and the renderer's own), on hypothesis-made pages and on the real corpus
when it is on this machine. Every body rendered must also be what nh3 returns for it
(``clean_fragment(html) == html``): for a body that skipped nh3 that is the proof
that skipping changed no byte (for one that did not, nh3 is idempotent).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it.token import Token

from helpers_gen import generated_pages
from veriwiki.render import fastblocks
from veriwiki.render.markdown import render_tokens
from veriwiki.render.sanitize import clean_fragment
from veriwiki.render.tokens import parse_tokens

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_corpus import corpus_files, read_utf8
from test_parse_fast_blocks import TRICKY, _page  # noqa: E402
from test_render import Ctx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("VERIWIKI_REAL_CORPUS", "/tmp/s3real/cache/vault"))


def _fields(tok: Token) -> tuple[Any, ...]:
    kids = None if tok.children is None else [_fields(c) for c in tok.children]
    return (tok.type, tok.tag, tok.nesting, tok.map, tok.level, tok.content, tok.markup,
            tok.info, tok.hidden, tok.block, dict(tok.attrs), repr(tok.meta), kids)


def assert_same(text: str, where: str = "") -> None:
    full = parse_tokens(text, fast=False)
    fast = parse_tokens(text)
    assert [_fields(t) for t in fast] == [_fields(t) for t in full], where
    html = render_tokens(fast, Ctx()).html
    assert html == render_tokens(full, Ctx()).html, where
    assert clean_fragment(html) == html, where


# ---------------------------------------------------------------- the fast path is taken

def test_render_fast_plain_page_is_scanned() -> None:
    text = "# T\n\nText [[A]] #t.\n\n- one\n- two\n\n```py\nx = 1\n```\n"
    assert fastblocks.fast_tokens(text, 0, fastblocks.make_parser()) is not None
    assert_same(text)


def test_render_fast_loose_and_split_lists() -> None:
    # one loose list across a blank line; a marker change starts another list
    text = "- a\n\n- b\n- c\n* d\n+ e\n\n+ f\n\npara\n"
    tokens = parse_tokens(text)
    assert [t.type for t in tokens].count("bullet_list_open") == 3
    assert not tokens[3].hidden  # the first list is loose: its paragraphs show
    assert_same(text)


def test_render_fast_list_then_slow_list() -> None:
    # the second item may open a slow region (its indented fence); markdown-it reads
    # both items as one list, which the pieces cannot give: the page goes to markdown-it
    assert_same("- a\n\n- b\n\n  ```\n  x\n  ```\n\nend\n")
    assert_same("- a\n- b\n\n* c\n\n  > q\n")


def test_render_fast_lists_it_does_not_rebuild_go_to_markdown_it() -> None:
    for text in ("- a\n  - b\n", "1. a\n2. b\n", "- a\n  more\n", "- a\n\n  para\n"):
        assert_same(text)


RENDER_TRICKY = {
    "fence ends page": "# H\n\n```js\nx\n\ny",
    "fence unclosed blank end": "text\n\n~~~\n\n\n",
    "fence closed at end": "```\n```",
    "fence empty lines": "```\n\n\n```\nafter\n",
    "heading levels": "# a\n## b\n### c\n#### d\n##### e\n###### f\n",
    "items with links": "- [[A]] #t\n- [l](x.md) ^id\n- `code` *em*\n\n* x\n",
    "item then heading": "- a\n# H\n- b\n```\nc\n```\n- d",
    "list at end with blanks": "- a\n- b\n\n\n",
    "callout": "> [!note] T\n> body [[A]]\n\n- a\n",
    "embed and citation": "Claim [@s, \"q\"]. ![[Known]]\n\n- item [@t]\n",
    "blank frontmatter": "---\ntitle: x\n---\n\n- a\n\n- b\n",
    "fences in items": "- a\n  ```\n  x\n  ```\n- b\n\n1. c\n\n   ~~~\n   y\n   ~~~\n\nend\n",
    "heading in item": "- a\n\n  # h\n\n- # g\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY) + sorted(RENDER_TRICKY))
def test_render_fast_same_on_tricky_input(name: str) -> None:
    text = TRICKY[name] if name in TRICKY else RENDER_TRICKY[name]
    assert_same(text, name)
    assert_same("---\ntitle: t\n---\n" + text, name)
    assert_same("# Before\n\n- x\n\n" + text + "\n\nAfter [[Z]] #z\n", name)


HTML_TRICKY = {
    "quotes and nbsp": "It's \"quoted\" & <b>\u00a0x [[Nope's \"page\"]] #tag\u00a0y\n",
    "code quotes": "```py\nx = 'a' + \"b\" & c < d\u00a0\n```\n\n`'q' \"r\"`\n",
    "fence lang quote": "```a\"b\nx\n```\n",
    "links in labels": "[see [[Known]]](x.md) [#tag](y.md) [![i](fig.png)](z.md) [^n]\n",
    "external": "[x](http://[bad) [y](https://e.org/a'b) ![i](http://e.org/i.png) <http://a.b>\n",
    "callouts": "> [!tip]+ Open\n> body\n\n> [!note]- Shut\n> b\n\n> [!x] T'\"<\n",
    "headings": "# It's \"x\" <y>\n## It's \"x\" <y>\n",
    "block ids and facts": "para ^a-1\n\n{{Llama 2.layers}} {{No'pe.x}}\n",
    "tables": "| a' | \"b\" |\n|:-|-:|\n| <x> | &amp; |\n",
    "control chars": "a\x0cb\x01c\u2028d\ufeffe\U0001F600\n",
    "anchors": "# <a name=\"x\"></a> Title\n\ntext <a id='y'/> more </a>\n",
}


@pytest.mark.parametrize("name", sorted(HTML_TRICKY))
def test_render_fast_skipping_nh3_changes_no_byte(name: str) -> None:
    assert_same(HTML_TRICKY[name], name)
    assert_same("- " + HTML_TRICKY[name].replace("\n", " ") + "\n", name)


def test_render_fast_own_markup_skips_nh3_and_raw_html_does_not(monkeypatch: Any) -> None:
    calls: list[str] = []
    real = clean_fragment

    def counting(html: str) -> str:
        calls.append(html)
        return real(html)

    import veriwiki.render.markdown as rm
    monkeypatch.setattr(rm, "clean_fragment", counting)
    render_tokens(parse_tokens("# T\n\nText [[Known]] #t `c` *e*.\n\n- a\n"), Ctx())
    assert calls == []
    for raw in ("<b>x</b>\n", "<div>\nx\n</div>\n", "[@s, \"q\"]\n", "![[Known]]\n",
                "[x](https://e.org)\n", "[see #tag](x.md)\n"):
        render_tokens(parse_tokens(raw), Ctx())
        assert calls, raw
        calls.clear()


# ---------------------------------------------------------------- corpora

def test_render_fast_same_on_every_corpus() -> None:
    files = corpus_files(ROOT / "tests" / "fixtures", ROOT / "examples",
                   ROOT / "src" / "veriwiki" / "templates", ROOT / "docs")
    files.append(ROOT / "README.md")
    checked = 0
    for f in files:
        text = read_utf8(f)
        if text is not None:
            assert_same(text, str(f))
            checked += 1
    assert checked > 100


def test_render_fast_same_on_a_generated_vault(tmp_path: Path) -> None:
    pages = generated_pages(tmp_path, 300, 7)
    for f in pages:
        assert_same(f.read_text("utf-8"), str(f))


@pytest.mark.skipif(not (REAL / "wiki").is_dir(),
                    reason=f"the real corpus is not on this machine ({REAL}/wiki); "
                           "set VERIWIKI_REAL_CORPUS to a vault to run it")
def test_render_fast_same_on_the_real_corpus() -> None:
    checked = 0
    for f in corpus_files(REAL / "wiki"):
        text = read_utf8(f)
        if text is not None:
            assert_same(text, str(f))
            checked += 1
    assert checked > 1000


# ---------------------------------------------------------------- generated pages

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_page, st.booleans())
def test_render_fast_same_on_generated_markdown(text: str, final_newline: bool) -> None:
    assert_same(text + ("\n" if final_newline else ""))
