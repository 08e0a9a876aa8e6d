"""Differential tests of the fast path's lists (core/markdown/fastlist.py), HTML blocks,
reference links (fastinline with the page's references) and markdown-it's own inline
rules run where the inline scanner cannot read: ``parse_page(fast=True)`` must give exactly the
Page of ``fast=False`` (markdown-it alone) on hand-written tricky inputs, on
hypothesis-made pages built from list and reference fragments, and on every page of
the real corpus of bench/real_corpus.py when it is on this machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veriwiki.core.markdown import fastpath, make_parser
from veriwiki.core.markdown.fastlist import item_head
from veriwiki.core.parse import parse_page
from veriwiki.core.records import page_to_json

REAL = Path(os.environ.get("VERIWIKI_REAL_CORPUS", "/tmp/s3real/cache/vault"))


def assert_same(path: str, text: str) -> None:
    fast = parse_page(path, text, fast=True)
    full = parse_page(path, text, fast=False)
    assert fast == full, path
    assert page_to_json(fast) == page_to_json(full), path


def _kinds(text: str) -> list[str]:
    blocks = fastpath.scan_blocks(text, 0, make_parser(for_index=True))
    assert blocks is not None
    return [type(b).__name__ for b in blocks]


def test_fast_lists_nested_and_ordered_lists_need_no_markdown_it() -> None:
    text = ("Intro [[A]].\n\n- one [[B]]\n  more of one\n  - nested #t\n    1. deep ^x\n"
            "    2. deeper\n- two\n\n  second paragraph of two [[C]]\n\n1. first\n2. second\n"
            "\n10) ten\n11) eleven\n\nEnd.\n")
    assert _kinds(text) == ["ParagraphBlock"] * 12
    assert_same("a.md", text)


def test_fast_lists_what_stays_with_markdown_it() -> None:
    for text in ("- a\n\n      code\n", "- a\n  ```\n x\n  ```\n", "- a\n  ```\n  x\n",
                 "- a\n  > q\n", "- a\n  ```\n  x\n \t\n  ```\n", "- a\n   ```\n   x\n   ```\n", "- a\n  2. no interrupt\n", "para\n2. no list\n", "- a\n\t- tab\n",
                 "- a\n - b\n", "- a\n  - b\n  * c\n", "- # h\n",
                 "-  two spaces\n", "- a\n  ---\n", "- a\n---\n"):
        assert "SlowTokens" in _kinds(text), text
        assert_same("a.md", text)


def test_fast_lists_lazy_lines_and_fences_in_items_need_no_markdown_it() -> None:
    text = ("- a [[A]]\nlazy #t\n   three\n        eight\n  - b\n lazy\n\n  ```py\n  x = 1\n\n"
            "    y\n  ```\n  after [[B]]\n- c\n  ~~~~\n  ~~~\n  ~~~~~  \n\nEnd.\n")
    assert _kinds(text) == ["ParagraphBlock"] * 2 + ["ItemFenceBlock", "ParagraphBlock",
                                                     "ParagraphBlock", "ItemFenceBlock",
                                                     "ParagraphBlock"]
    page = parse_page("a.md", text, fast=True)
    assert [(c.info, c.content, c.line) for c in page.code_blocks] == [
        ("py", "x = 1\n\n  y\n", 8), ("", "~~~\n", 15)]
    assert_same("a.md", text)


def test_fast_lists_tables_need_no_markdown_it() -> None:
    text = ("Intro [[A]]\n| a | [[B]] |\n|:-|-:|\n| [[C\\|c]] | #t [@s, \"q\"] |\n| one |\n"
            "| 1 | 2 | 3 |\n- item\n")
    assert _kinds(text) == ["ParagraphBlock", "TableBlock", "ParagraphBlock"]
    page = parse_page("a.md", text, fast=True)
    assert [(link.target, link.line) for link in page.links] == [("A", 1), ("B", 2), ("C", 4)]
    assert page.tags == ("t",) and page.claims[0].line == 4
    assert_same("a.md", text)


def test_fast_lists_item_heads() -> None:
    assert item_head("- x") == ("-", 2, True)
    assert item_head("12) x") == (")", 4, False)
    assert item_head("01. x") == (".", 4, True)
    assert item_head("1234567890. x") is None  # ten digits: no list item
    assert item_head("-  x") is None and item_head("-\tx") is None and item_head("-x") is None
    assert item_head("- ") is None


TRICKY = {
    "lazy continuation": "- a [[A]]\nlazy [[B]]\n\n1. b\nlazy\n\n- c\n  - d\nlazy #t\n",
    "lazy at a parent's column": "- a\n  - b [[B]]\n  c [[C]]\n",
    "blank lines inside": "- a\n\n- b [[B]]\n\n\n  more [[C]]\n\n  - c\n\n    deep ^x\n\n- d\n",
    "blank then column 0": "- a\n\ntext [[A]]\n\n1. x\n\n# H\n\n- y\n\n```\n[[B]]\n```\n",
    "blank then odd indent": "- a\n\n text [[A]]\n\n- b\n\n   c [[C]]\n\n- d\n\n     e\n",
    "nested code fences": "- a\n\n  ```\n  [[A]]\n  ```\n\n- b\n  ```js\n  x\n  ```\n",
    "fence ends a list": "- a [[A]]\n```\n[[B]]\n```\n- c\n~~~\nx\n~~~\n",
    "heading ends a list": "- a\n# H [[A]]\n1. b\n## G\n- c\n#tag not heading\n",
    "indented code": "- a\n\n      code [[A]]\n\n- b\n          code\n\n    4 spaces [[B]]\n",
    "mixed markers": "- a\n* b [[A]]\n+ c\n1. d\n2) e\n\n- f\n\n* g\n\n1. h\n\n1) i\n",
    "mixed nested markers": "- a\n  - b\n  * c [[A]]\n  1. d\n  1) e\n",
    "ordered start numbers": "3. three [[A]]\n4. four\n\npara\n1. one\n\npara\n01. zero-one\n\n"
                             "para\n7. seven\n\n- a\n  3. three\n\n- b\n\n  3. after gap\n",
    "ordered wide markers": "9. nine\n10. ten [[A]]\n    more\n   wrong\n\n123456789. x\n",
    "nested at content plus three": "- a\n     - five [[A]]\n- b\n    - four\n      more\n",
    "deep nesting": "- 1\n  - 2\n    - 3\n      - 4\n        - 5 [[A]]\n          text\n- back\n",
    "sibling after deep": "- 1\n  - 2\n    - 3\n  - 2b [[A]]\n- 1b\n  text [[B]]\n",
    "items with tags and links": "- #t [[A]] [l](x.md)\n- [@s, \"q\"] {{a.b}}\n- `code` ^id\n",
    "items with headings": "- # h\n- ## h2\n- #tag\n- #\n",
    "items that are breaks": "- - -\n* * *\n- a\n- - b\n+ ---\n",
    "items then setext": "- a\n  ===\n- b\n  ---\n",
    "empty items": "-\n- \n-  \n1.\n- a\n-\n",
    "tabs": "-\ta\n- b\n\tc\n- d\n  \te\n",
    "table in a list": "- a | b\n  --- | ---\n  c | d\n\n- x\n| y |\n",
    "pipe over an item": "- a | b\n- c\n",
    "quote in a list": "- a\n  > q [[A]]\n- b\n> lazy\n",
    "html in a list": "- a\n  <div>\n  [[A]]\n  </div>\n- b <b>x</b>\n",
    "list after html": "<div>\n[[A]]\n</div>\n\n- a [[B]]\n- b\n\ntext [[C]]\n",
    "list after quote": "> q\n\n- a [[B]]\n\n- b\n\n      code\n\nx\n",
    "list after a slow list": "- a\n\n      code\n\n- b [[B]]\n\ntext\n",
    "list interrupts paragraph": "para [[A]]\n- item [[B]]\n1. one\n\npara\n2. two\n",
    "trailing spaces": "- a  \n  b  \n- c\\\n  d\n   \n- e\n",
    "unicode spaces": "- \u00a0a\n-\u00a0b\n- c\u3000\n\u3000- d\n",
    "last line": "- a\n  b",
    "reference definitions with titles": "[a]: x.md \"T\"\n[b]: <y z.md> 'u'\n[c]:\n  w.md\n  (v)\n\n"
                                         "[a] [b][] [c][C] [[A]]\n",
    "reference definitions multi-line": "[long\nlabel]: p.md\n\n[long label] [LONG   LABEL]\n",
    "reference inside list and quote": "- [l]: in-list.md\n\n> [q]: in-quote.md\n\n[l] [q]\n",
    "reference in a list paragraph": "- a\n\n  [x]: x.md\n\n- [y]: y.md\n  text\n\n[x][] [y]\n",
    "duplicate labels": "[x]: first.md\n[X]: second.md\n\n[x] [X]\n\n[x]: third.md\n",
    "case folding": "[ẞ]: a.md\n[Σ]: b.md\n\n[ss] [SS] [σ] [ς] [ß]\n",
    "escaped brackets": "[a\\]b]: e.md\n\n[a\\]b] [a]b] \\[a\\]b]\n\n[c]: \\[d.md\n\n[c]\n",
    "reference used before its definition": "See [later] and [[A]].\n\n# H\n\n[later]: l.md\n",
    "reference not at paragraph start": "text\n[x]: no.md\n\n[x]\n",
    "reference labels with markup": "[`a`]: a.md\n[#t]: t.md\n\n[`a`] [#t] [x *y*]\n\n[x *y*]: xy.md\n",
    "reference images": "[i]: i.png\n\n![alt][i] ![i] ![i][] ![[E]]\n",
    "reference with wikilink lookalike": "[[x]]: no.md\n\n[[x]] [x]\n\n[x]: yes.md\n",
    "reference in a fenced block": "```\n[x]: no.md\n```\n\n[x]\n",
    "reference then setext": "[x]: a.md\n===\n\n[x]\n",
    "plain starts": "**bold** [[A]]\n`code` x\n_em_\n-x\n+1\n:c\n|p\n=e\n~~s~~\n3.14\n"
                    "\n- **b** [[B]]\n  `c` d\n- _e_\n  |f\n  -g\n\n1. x\n   +y\n   2024.\n",
    "not plain": "a\n--\n\nb\n==\n\nc\n|-|\n\nd\n:-:\n\ne\n**\n\nf\n_ _ _\n\ng\n+\n\nh\n2024.\n",
    "table after plain pipes": "|a| b\n|-|-|\n\nx\n|y\n|-\n\n- |z\n  |-\n",
    "fences in items": "- a\n  ```\n  [[A]]\n  ```\nlazy? [[B]]\n- b\n\n  ~~~ info ~\n  x\n ~~~\n"
                       "  ~~~\n\n- c\n  - d\n  ```\n  [[C]]\n     ```\n      ```\n  ```x\n  ```\n",
    "unclosed fence in an item": "- a\n  ```\n  [[A]]\n\n# H [[B]]\n",
    "fence in an item ended by a line": "- a\n  ```\n  x\nout [[A]]\n  ```\n\n[[B]]\n",
    "fence closers in items": "1. a\n   ```\n   x\n      ```\n   ````\n   ``` x\n  ```\n   ```\n",
    "backtick fence info in item": "- a\n  ```a`b\n  [[A]]\n  ```\n- b\n",
    "fence right after an item": "- a\n  ```\n  x\n  ```\n  text [[A]]\n- b\n```\ny\n```\n",
    "fence at an outer item": "- a\n  - b\n  ```\n  [[A]]\n  ```\n  - c\n    2. d\n",
    "tabs in item fences": "- a\n  ```\n\tx\n  \ty\n  \t```\n  ```\n\n- b\n  ```\n \t\n  ```\n",
    "html block kinds": "<script>\n[[A]]\n\n#t\n</script> after [[B]]\nnext [[C]]\n\n<!-- x\n\n[[D]]\n-->\n"
                        "<?php [[E]] ?>\n<!DOCTYPE html>\n<![CDATA[\n[[F]]\n]]>\n[[G]]\n",
    "html block ends at blank": "<div>\n[[A]] #t\n</div>\n[[B]]\n\n[[C]]\n<DIV class=x>\n  \n[[D]]\n",
    "html interrupts a paragraph": "text [[A]]\n<div>\n[[B]]\n\ntext\n<span>\n[[C]]\n\ntext\n<a href=\"x\">\n",
    "html type 7": "<Note>\n[[A]]\n\n<Note>text [[B]]\n\n</Note>\n\n<a href=\"#t\">\n\n<span\n[[C]]\n",
    "html unclosed": "<!-- open\n[[A]]\n\n# H\n",
    "html odd starts": "<div\n[[A]]\n\n<divx>\n[[B]]\n\n< div>\n[[C]]\n\n  <div>\n[[D]]\n\n<pre>x</pre>\n[[E]]\n",
    "html with a table": "<div> | a\n--- | ---\n\n<td>|x|</td>\n",
    "html after slow": "> q\n\n<div>\n[[A]]\n\n<!--\n\n-->\n\n[[B]]\n",
    "jsx paragraphs": "<Props\n  content={[\n    { name: '[[A]]' },\n  ]}\n/>\n\n<a id=\"x\"></a>\n### H\n\n"
                      "<Tabs items={['a']}>\n  <Tab>\n  text [[B]]\n  </Tab>\n</Tabs>\n",
    "indented continuation": "para [[A]]\n  two\n   three\n    four\n        - not an item\n  - item\n",
    "indented interrupts": "p\n  # h\n\np\n  ```\n  x\n  ```\n\np\n  > q\n\np\n  ---\n\np\n   ===\n\n"
                           "p\n  <div>\n\np\n  <span>\n\np\n  1. one\n\np\n  2. two\n\np\n \tx\n",
    "indented table rows": "a | b\n  --- | ---\n\np\n  | x |\n  | - |\n",
    "html in items": "- <a href=\"#x\">x</a> [[A]]\n  <b>y</b>\n<i>lazy</i>\n- <div>\n  [[B]]\n\n- <Note>\n"
                     "- a\n  <div>\n- b\n  <span>\n\n  <!-- c -->\n  [[C]]\n",
    "pipes over non-delimiters": "- a | b\n  - c: d\n- x|y\n- :z\np | q\n-- | x\n\nr | s\n:-: ok\n",
    "table shapes": "| a | b |\n| --- | :-: |\n| 1 | 2 |\n\na | b\n- | -\n\n|a|\n|-|\n|b\n\n| x |\n|--|--|\n"
                    "\n| x | y |\n| - |\n\n|a|b|\n|:-:|--:|\n|[[A]]|[[B]]|[[C]]|\n||\n|\\||\n",
    "table delimiter oddities": "|a|\n- |\n\n|a|\n--|\n\n|a|\n|-|-\n\n|a|\n: -|\n\n|a|\n|-:-|\n\n"
                                "|a|\n| |-|\n\n|a|\n    |-|\n\n|a|\n\t|-|\n\n|a|\n|-|\t\n",
    "escaped pipes and code spans": "| `a|b` | c \\| d | [[E\\|e]] |\n|-|-|-|\n| `x\\|y` | \\\\| z | w |\n",
    "tables ended by blocks": "|a|\n|-|\n|b\n> q\n\n|a|\n|-|\n```\nx\n```\n\n|a|\n|-|\n# h\n\n|a|\n|-|\n"
                              "- i\n\n|a|\n|-|\n1. o\n\n|a|\n|-|\n7) s\n\n|a|\n|-|\n***\n\n|a|\n|-|\n"
                              "<div>\n\n|a|\n|-|\n<span>\n\n|a|\n|-|\n    code\n\n|a|\n|-|\n-\n\n"
                              "|a|\n|-|\n1234567890. x\n\n|a|\n|-|\n _ _ _\n\n|a|\n|-|\n+x\n",
    "tables interrupt": "para [[A]]\n| a | b |\n|---|---|\n| c | d |\n\n- item\n| a | b |\n|-|-|\n",
    "tables with tabs": "|a|b|\n|-|-|\n\t|c|\n \t|d|\n|e|\t|\n",
    "table header shapes": "# a | b\n|-|-|\n\n> a | b\n|-|-|\n\n  a | b\n  -|-\n\n<td> | x\n-|-\n\n"
                           "[x] | y\n-|-\n\n[x]: u.md\n",
    "code spans in labels": "[`a`](a.md) [x `b` y](b.md) [` c `](c.md) [`  `](d.md) [``e`f``](e.md) "
                            "[`g](g.md) [h`](h.md)`\n[`i]`](i.md) [`j` `k`](j.md) ![`l`](l.png) [`m`]\n"
                            "[a `b](c.md) x` [`` n ``](n.md) [`o`](https://e.org) [```p```](p.md)\n",
    "tags in labels": "[#tag](a.md) [#123](https://e.org) [x #t y](b.md) [a#b](c.md) [(#p)](d.md) "
                      "[`#no` #yes](e.md) ![#i](f.png) [#t/](g.md) [#-](h.md) [##x](i.md)\n",
    "escapes in labels": "[a\\_b](a.md) [\\[x\\]](b.md) [c\\](d.md) e](f.md) [\\é](g.md) [\\\\](h.md) "
                         "[`\\`](i.md) [\\`x`](j.md) [\\#t](k.md) [x\\\n](l.md) ![\\*](m.png) [\\](n.md)\n"
                         "[`a\nb`](o.md) [` a\n`](p.md) [`\n`](q.md)\n",
    "links with markup labels": "[`code`](a.md) [#1234](https://e.org) [a\nb](c.md) [![i](j.png)](k.md)\n",
    "links with titles": "[a](b.md \"t\") [c](d.md 'u') [e](<f g.md> (v)) [h]( i.md )\n",
    "autolinks and html": "<https://e.org/#t> <a@b.org> <a href=\"#x\">[[A]]</a> <b>#t</b> a<b\n",
    "escape then link": "\\[a](b.md) [a\\](b.md) [a](b\\).md) [[A]]\n",
    "block quotes": "> a [[A]]\n> b\n\n> # H [[B]]\n> text ^id\n>\n> more #t\n\nafter [[C]]\n",
    "block quote markers": ">a [[A]]\n>  b\n>\n>   c\n\n>     code [[B]]\n\n>\t\ttab [[C]]\n\n> \tx\n",
    "block quote lazy lines": "> a\nlazy [[A]]\n\n> b\n>\nnot lazy [[B]]\n\n> c\n- item [[C]]\n\n"
                              "> d\n# h\n\n> e\n    indented [[D]]\n",
    "block quote interrupts": "para [[A]]\n> q [[B]]\n\n- item\n> q [[C]]\n\n| a |\n> x\n",
    "block quote contents": "> - a [[A]]\n> - b\n\n> 1. x\n>\n>    y [[B]]\n\n> ```\n> [[C]]\n> ```\n\n"
                            "> ```\n> open [[D]]\n\n> > nested [[E]]\n\n> a | b\n> --|--\n\n"
                            "> <div>\n> [[F]]\n\n> [x]: /y\n\n[x] > x\n\n> a\n> ===\n\n> b\n> ---\n\n"
                            ">\n>\n\n>\n",
    "block quote then more": "> a\n>\n> b\n> c\nd [[A]]\n> e\n\n  > indented [[B]]\n\n>\n# H\n>x\n",
    "deeply nested quotes": ">" * 1000 + " x [[A]]\n\n" + "> " * 300 + "y\n\n> a\n>> b [[B]]\n> c\n",
    "thematic breaks": "---\n\n***\n\n___\n\n- - -\n\n* * *\n\n_ _ _\n\n--- [[A]]\n\n-- -\n\n"
                       "-\t-\t-\n\n*-*\n\npara\n***\n\npara\n---\n\npara\n___\n\n---\ntext [[B]]\n",
    "breaks and lists": "- a\n---\n- b\n\n***\n- c [[A]]\n* * *\n1. d\n___\n",
    "indented lists": " - a [[A]]\n - b\n\n  1. c\n  2. d [[B]]\n\n   - e\n     - f [[C]]\n\n    - code\n\n"
                      "  - g\n- h\n\n- i\n  - j\n - k\n\n  * x\n  - y\n\n  - z\n\n  lazy? [[D]]\n",
    "indented list interrupts": "para\n  - item [[A]]\n\npara\n  2. two [[B]]\n\npara\n   1. one\n\n"
                                "  -\n\n  - \n  - # h\n  - ```\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_fast_lists_same_page_on_tricky_input(name: str) -> None:
    text = TRICKY[name]
    assert_same("wiki/tricky.md", text)
    assert_same("wiki/tricky.md", "---\ntitle: t\n---\n" + text)
    assert_same("wiki/tricky.md", "# Before\n\n" + text + "\n\nAfter [[Z]] #z\n")
    assert_same("wiki/tricky.md", "Para\n" + text + "\n[z]: z.md\n")


# ---------------------------------------------------------------- generated pages

_INDENTS = ["", "", "", "", " ", "  ", "  ", "   ", "    ", "    ", "     ", "      ", "\t"]
_MARKERS = ["", "", "- ", "- ", "* ", "+ ", "1. ", "2. ", "1) ", "10. ", "-  ", "-", "> ",
            "```", "# ", "[x]: ", "[y]:\n", "| ", "---", "<div>", "<!--", "-->", "<pre>",
            "</pre>", "<Note>", "<a href=\"x\">", "<span>", "<?", "?>", "**", "`", "_", "-", "+",
            ":", "|", "=", "~~", "3.14 ", "2024.", "*", "--", "==", "__", "``", "-:|", "```",
            "~~~", "````", "```py", "- ```", "1. ```", "|-|", "|:-|-:|", "| a | b |", "-|-",
            "|", "| `a|b` |", "[`c`](q.md)", "[a `b` c](r.md)", "[`x](y.md)`",
            "[#t](s.md)", "[#12](t.md)", "[a #b `c`](u.md)",
            "[a\\_b](v.md)", "[\\]](w.md)", "[x\\](y.md)", ">", "> ", ">  ", "> > ", ">\t",
            "> # ", "> - ", "> ```", "> 1. ", "***", "- - -", "___", "* * *", " - ", "  1. "]
_WORDS = ["word ", "[[A]]", "#tag", "[#t `c`](d.md)", "[x#](e.md)", "[\\_x\\\\](f.md)",
          "[x]", "[y][]", "[X][x]", "[l](p.md)", "`c`", "[`c`](q.md)",
          "<b>", "|", " ^id", "[", "]", "\\", "\"t\"", "[@s, \"q\"]", "{{a.b}}", "  ", "3. ",
          "- ", "é"]

_line = st.builds(lambda indent, marker, words: indent + marker + "".join(words),
                  st.sampled_from(_INDENTS), st.sampled_from(_MARKERS),
                  st.lists(st.sampled_from(_WORDS), max_size=5))
_page = st.lists(st.one_of(_line, st.just("")), max_size=16).map("\n".join)


@settings(max_examples=int(os.environ.get("VERIWIKI_FUZZ", "600")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(_page, st.booleans())
def test_fast_lists_same_page_on_generated_lists(text: str, final_newline: bool) -> None:
    assert_same("wiki/gen.md", text + ("\n" if final_newline else ""))


# ---------------------------------------------------------------- the real corpus

@pytest.mark.slow
@pytest.mark.skipif(not (REAL / "wiki").is_dir(),
                    reason=f"the real corpus is not on this machine ({REAL}: make it with "
                           "bench/real_corpus.py, or point VERIWIKI_REAL_CORPUS at it)")
def test_fast_lists_same_page_on_every_page_of_the_real_corpus() -> None:
    checked = 0
    for f in sorted((REAL / "wiki").rglob("*.md")):
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        assert_same(f.relative_to(REAL).as_posix(), text)
        checked += 1
    assert checked > 3000
