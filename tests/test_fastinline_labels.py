"""Differential tests of the inline scanner's link reading (core/markdown/fastinline.py)
widened in the fifth session: labels over several lines, destinations with backslash
escapes, a label opening with a link (``[[`abc`](url)] ...``, no link at the outer
bracket) and inline links on pages that define link references. ``parse_page(fast=True)``
must give exactly the Page of ``fast=False`` (markdown-it alone) on hand-written tricky
inputs and hypothesis-made pages; the scanner must also read the common shapes itself,
without running markdown-it's link rule.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veriwiki.core.markdown import fastinline, make_parser
from veriwiki.core.parse import parse_page
from veriwiki.core.records import page_to_json


def assert_same(path: str, text: str) -> None:
    fast = parse_page(path, text, fast=True)
    full = parse_page(path, text, fast=False)
    assert fast == full, path
    assert page_to_json(fast) == page_to_json(full), path


TRICKY = {
    "label over two lines": "[Simple And\nFast](a.md) [x  \ny](b.md) [p \n  q](c.md)\n",
    "label hard breaks": "[a\\\nb](a.md) [a \\\n   b](b.md) [a  \n\t b](c.md) [a\\\n](d.md)\n",
    "label break then markup": "[a \n#tag b](a.md) [a\n`c\nd` e](b.md) [x\\_ \ny](c.md)\n"
                               "[x `a`  \n  y](d.md) [`a` \nb](e.md)\n",
    "label break spaces only": "[ \n ](a.md) [\n](b.md) [a\n\n](c.md)\n",
    "image label break": "![a\nb](a.png) ![a  \nb](b.png) ![a\\\nb](c.png)\n",
    "destination escapes": "[a](b\\.md) [a](https\\://e\\.org/x\\-y) [a](b\\)c.md) "
                           "[a](b\\\\c.md) [a](b\\&c.md) [a](b\\ c.md) [a](x\\#y) "
                           "[a](b\\q.md) [a](\\(x\\)) [a](b\\'c) [a](b\\\"c) [a](b\\<c)\n",
    "image destination escapes": "![a](b\\_c.png) ![a](b\\\\c.png) ![a](\\.\\./x.png)\n",
    "escaped label and destination": "[https\\://github\\.com/a\\-b/c\\.d/pull/1]"
                                     "(https\\://github\\.com/a\\-b/c\\.d/pull/1)\n",
    "escaped scheme destination": "[x](javascript\\:alert) [y](data\\:x) [z](\\/\\/host/p)\n",
    "label opens with a link": "[[`197cbb2`](https://e.org/c/197cbb2)] - **a** x\n"
                               "[[a](b.md)](c.md) [[a](b.md) c](d.md) [[a](b.md)]\n",
    "label opens with no link": "[[a] b](c.md) [[a]](b.md) [[a](b c)](d.md) [[a]b](c.md)\n",
    "label opens with a dialect rule": "[[@x, \"q\"](y.md)] [[[A]]](b.md) [[@s](t.md)]\n"
                                       "[[A]](b.md) [[#t](u.md)] [[{{a.b}}](v.md)]\n",
    "label opens with an image": "[![NPM](https://e.org/b.svg)](https://e.org/p) "
                                 "[[![x](y.png)](z.md)]\n",
    "label opens with a link, references": "[[a](b.md)] [[c][r]] [[r]](d.md)\n\n[r]: /r\n",
    "references, inline links": "[a](b.md) [r](c.md) [r] [R] [ r ] [s] [r][] [r][s] "
                                "[x][r] ![r] ![r](i.png) ![s]\n\n[r]: /ref \"T\"\n",
    "references, failing inline": "[r](b c) [r]( x ) [r](<a b>) [r](\n) [s](b c)\n\n"
                                  "[r]: /ref\n",
    "references, label markup": "[`r`] [`r`](a.md) [\\r] [r\\] ] [#t] [r\nx]\n\n"
                                "[`r`]: /a\n[r x]: /b\n[#t]: /c\n",
    "references, case and space": "[Foo  Bar] [foo\nbar] [FOO BAR][] [ß] [SS]\n\n"
                                  "[foo bar]: /f\n[ẞ]: /s\n",
    "references, unclosed": "[r [a](b.md) [r\n\n[r]: /r\n",
    "web destinations": "[a](https://e.org/a%zz) [b](http://x/é) [c](https://x/a|b) [d](HTTPS://X) "
                        "[e](https://) [f](https://a/~b?c=d#e) [g](https://a/[x]) [h](https://a b) "
                        "[i](https://a/\\_b) [j](https://a/&amp;) ![k](https://i.png) [l](http:/x)\n",
    "references, brackets after": "[r] [x] [r][\n[r]x [r](x.md)[r]\n\n[r]: /r\n[x]: /x\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_fastinline_labels_same_page_on_tricky_input(name: str) -> None:
    text = TRICKY[name]
    assert_same("wiki/tricky.md", text)
    assert_same("wiki/tricky.md", "---\ntitle: t\n---\n" + text)
    assert_same("wiki/tricky.md", "# Before\n\n" + text + "\n\nAfter [[Z]] #z\n")
    assert_same("wiki/tricky.md", "- item\n\n" + text + "\n[zz]: z.md\n")


def _no_link_rule(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Record every markdown-it rule the scanner runs itself."""
    ran: list[tuple[str, ...]] = []
    real = fastinline._real

    def spy(state: Any, md: Any, pos: int, *names: str) -> int:
        ran.append(names)
        return real(state, md, pos, *names)

    monkeypatch.setattr(fastinline, "_real", spy)
    return ran


@pytest.mark.parametrize("text", [
    "[Regular Expression Matching Can Be Simple And\nFast](https://e.org/regexp1.html)",
    "[x `a`  \n  y](d.md) and [a\\\nb](a.md)",
    "[https\\://github\\.com/a\\-b/c\\.d/pull/1](https\\://github\\.com/a\\-b/c\\.d/pull/1)",
    "[[`197cbb2`](https://e.org/c/197cbb2)] - **gyp** fix",
    "[Label](https://e.org/x) and [other](b.md) [`meta` params] x",
])
def test_fastinline_labels_read_without_the_link_rule(text: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _no_link_rule(monkeypatch)
    md = make_parser(for_index=True)
    tokens = fastinline.inline_tokens(text, md, {"references": {"OTHER": {}}})
    assert [t for t in tokens if t.type == "link_open"]
    assert ran == []


def test_fastinline_labels_references_still_go_to_markdown_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _no_link_rule(monkeypatch)
    md = make_parser(for_index=True)
    env = {"references": {"R": {"href": "/r", "title": ""}}}
    tokens = fastinline.inline_tokens("see [r] and [x]", md, env)
    assert ran == [("link",)]  # [r] names a reference; [x] names none: no link
    assert [t.attrs["href"] for t in tokens if t.type == "link_open"] == ["/r"]


# ---------------------------------------------------------------- generated pages

_PIECES = ["a", "b c", " ", "  ", "\n", "  \n", "\\\n", " \n  ", "\\_", "\\]", "\\\\", "`c`",
           "`c\nd`", "`", "#t", " #t", "[", "]", "[a](b.md)", "![i](j.png)", "[x]", "r",
           "R", "<b>", "*", "é", "{{a.b}}", "[[A]]", "@s", "!"]
_DESTS = ["b.md", "b\\.md", "b\\)c", "b\\\\c", "https\\://e\\.org/x\\-y", "x\\#y", "b\\q",
          "\\/\\/h", "b c", "<a b>", "javascript\\:x", "b.md \"t\"", "", "b(c)d", "%20x",
          "b\\&c", "\\(x\\)"]

_label = st.lists(st.sampled_from(_PIECES), max_size=5).map("".join)
_link = st.builds(
    lambda bang, label, tail: bang + "[" + label + "]" + tail,
    st.sampled_from(["", "", "!", "["]), _label,
    st.one_of(st.builds(lambda d: "(" + d + ")", st.sampled_from(_DESTS)),
              st.sampled_from(["", "[]", "[r]", "[x]", "]", "](b.md)", " ", "x"])))
_text = st.lists(st.one_of(_link, st.sampled_from(_PIECES)), max_size=8).map("".join)
_page = st.builds(
    lambda paras, refs: "\n\n".join(paras) + refs,
    st.lists(_text, min_size=1, max_size=4),
    st.sampled_from(["", "", "\n\n[r]: /r\n", "\n\n[R]: /r \"t\"\n[x]: <x y>\n",
                     "\n\n[a]: /a\n"]))


@settings(max_examples=int(os.environ.get("VERIWIKI_FUZZ", "600")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_page)
def test_fastinline_labels_same_page_on_generated_links(text: str) -> None:
    assert_same("wiki/gen.md", text)


@settings(max_examples=int(os.environ.get("VERIWIKI_FUZZ", "600")), deadline=None)
@given(st.sampled_from(["https://", "http://"]),
       st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=20))
def test_fastinline_labels_web_destinations_read_as_written(scheme: str, rest: str) -> None:
    """What the scanner takes as written is what markdown-it's destination parser reads
    whole, the index parser's normalizeLink returns unchanged and validateLink allows."""
    dest = scheme + rest
    md = make_parser(for_index=True)
    assert fastinline.keeps_web_links(md)
    assert not fastinline.keeps_web_links(make_parser(for_index=False))
    if fastinline._WEB_DEST.fullmatch(dest):
        got = md.helpers.parseLinkDestination(dest + ")", 0, len(dest) + 1)
        assert got.ok and got.pos == len(dest) and got.str == dest
        assert md.normalizeLink(dest) == dest
        assert md.validateLink(dest)
