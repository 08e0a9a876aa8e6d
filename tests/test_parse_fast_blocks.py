"""Differential tests of the block-level fast path (core/markdown/fastpath.py).

``parse_page(..., fast=True)`` reads plain blocks with a line scanner and sends the
rest to markdown-it; ``fast=False`` parses the whole page with markdown-it. The two
must give exactly the same :class:`Page` (every field, and the JSON the index stores)
on every markdown file of the repository's corpora, on a generated bench vault, on
hand-written tricky inputs and on hypothesis-made pages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers_corpus import corpus_files, read_utf8
from helpers_gen import generated_pages
from veriwiki.core.markdown import fastinline, fastpath, make_parser
from veriwiki.core.parse import parse_page
from veriwiki.core.records import page_to_json

ROOT = Path(__file__).resolve().parent.parent


def assert_same(path: str, text: str) -> None:
    fast = parse_page(path, text, fast=True)
    full = parse_page(path, text, fast=False)
    assert fast == full, path
    assert page_to_json(fast) == page_to_json(full), path
    assert fast.body == full.body


# ---------------------------------------------------------------- the scanner is used

def _kinds(text: str) -> list[str]:
    blocks = fastpath.scan_blocks(text, 0, make_parser(for_index=True))
    assert blocks is not None
    return [type(b).__name__ for b in blocks]


def test_fast_blocks_plain_page_needs_no_markdown_it() -> None:
    text = ("# Title\n\nSome text with [[A link]] and #tag.\nA second line. ^abc\n"
            "## Part\n```python\nx = 1\n```\nMore [text](b.md).\n")
    assert _kinds(text) == ["HeadingBlock", "ParagraphBlock", "HeadingBlock", "FenceBlock",
                            "ParagraphBlock"]


def test_fast_blocks_one_line_bullet_items_are_read_by_the_scanner() -> None:
    text = "Intro.\n- one [[A]]\n* two\n\n+ three #t\n# H\n- four\n\nEnd.\n"
    assert _kinds(text) == ["ParagraphBlock"] * 4 + ["HeadingBlock"] + ["ParagraphBlock"] * 2
    assert_same("a.md", text)


def test_fast_blocks_only_the_list_goes_to_markdown_it() -> None:
    text = "Intro.\n\n- one\n- two\n\n      code of two\n\nAfter the list.\n\n## End\n"
    assert _kinds(text) == ["ParagraphBlock", "SlowTokens", "ParagraphBlock", "HeadingBlock"]
    blocks = fastpath.scan_blocks(text, 0, make_parser(for_index=True))
    assert blocks is not None
    slow = blocks[1]
    assert isinstance(slow, fastpath.SlowTokens)
    lines = {t.map[0] for t in slow.tokens if t.map}
    assert min(lines) == 2 and max(lines) == 5  # the list's own lines, in page lines


def test_fast_blocks_an_open_fence_in_a_slow_region_takes_the_rest() -> None:
    text = "> quote\n```\ncode\n\nStill in the fence [[A]]\n\n# Also in it\n"
    assert _kinds(text) == ["SlowTokens"]
    assert parse_page("a.md", text, fast=True).headings == ()
    assert_same("a.md", text)


def test_fast_blocks_a_list_closes_the_fence_inside_it() -> None:
    text = "- item\n\n  ```\n  code\n\nAfter the list [[A]]\n\n# H\n"
    assert _kinds(text) == ["SlowTokens", "ParagraphBlock", "HeadingBlock"]
    assert_same("a.md", text)


def test_fast_blocks_pages_with_footnote_definitions_are_parsed_whole() -> None:
    md = make_parser(for_index=True)
    assert fastpath.scan_blocks("A note.[^1]\n\n[^1]: text\n", 0, md) is None
    assert fastpath.scan_blocks("Inline ^[note].\n", 0, md) is None
    assert fastpath.scan_blocks("a\rb\n", 0, md) is None


def test_fast_blocks_reference_definitions_are_slow_and_read_first() -> None:
    md = make_parser(for_index=True)
    text = "See [x] and [[A]].\n\n[x]: one.md\n[X]: two.md\n\nAfter [x][] #t.\n"
    env: dict[str, object] = {}
    assert _kinds(text) == ["ParagraphBlock", "SlowTokens", "ParagraphBlock"]
    assert fastpath.scan_blocks(text, 0, md, env) is not None
    assert list(env["references"]) == ["X"]  # type: ignore[call-overload]
    page = parse_page("a.md", text, fast=True)
    assert [(link.target, link.line) for link in page.links] == [("one", 1), ("A", 1),
                                                                  ("one", 6)]
    assert_same("a.md", text)


def test_fast_blocks_inline_scanner_runs_markdown_it_rules_where_it_cannot_read() -> None:
    md = make_parser(for_index=True)
    got = fastinline._scan_inline('a <b>[[x]]</b> <a href="#no">', md)
    assert [t.type for t in got] == ["html_inline", "wikilink", "html_inline", "html_inline"]
    got = fastinline._scan_inline("[*a* #t](b.md) `[[no]]` [[yes]] #tag [l](p.md)", md)
    assert [t.type for t in got] == ["link_open", "text", "tag", "link_close", "wikilink",
                                     "tag", "link_open", "text", "link_close"]
    env = {"references": {"X Y": {"href": "r.md", "title": ""}}}
    got = fastinline._scan_inline("[a][x  y] [x y] [x\ny][] [z]", md, env)
    assert [t.attrs.get("href") for t in got if t.type == "link_open"] == ["r.md"] * 3


def test_fast_blocks_active_with_the_pinned_markdown_it() -> None:
    """constraints.txt pins the versions the scanner was checked against; another
    version turns the fast path off (then re-check it and update VERIFIED)."""
    assert fastpath.IS_VERIFIED


# ---------------------------------------------------------------- corpora

def test_fast_blocks_same_page_on_every_corpus() -> None:
    files = corpus_files(ROOT / "tests" / "fixtures", ROOT / "examples",
                            ROOT / "src" / "veriwiki" / "templates", ROOT / "docs",
                            ROOT / "src" / "veriwiki" / "builtin")
    files.append(ROOT / "README.md")
    checked = 0
    for f in files:
        text = read_utf8(f)
        if text is None:
            continue
        assert_same(f"wiki/{f.name}", text)
        checked += 1
    assert checked > 100


def test_fast_blocks_same_page_on_a_generated_vault(tmp_path: Path) -> None:
    pages = generated_pages(tmp_path, 400, 11)
    for f in pages:
        assert_same(f.relative_to(tmp_path / "v").as_posix(), f.read_text("utf-8"))


# ---------------------------------------------------------------- hand-written inputs

TRICKY = {
    "table headers everywhere": "```|\n|---|\n\n# a | b\n|-|-|\n\n- x|y\n:-|\n\n- a\n# c|d\n-|-\n\n"
                                "~~~ |\n  | - |\n~~~\n",
    "simple lists": "- a [[A]]\n- b #t\n* c\n+ d ^id\n\n- e\n\ntext\n- f\n# H\n- g\n```\nx\n```\n",
    "list lazy line": "- a\nlazy [[A]]\n\n- b\n#lazy-tag\n\n- c\n`lazy`\n\n- d\n~~~\nx\n~~~\n",
    "list then indented": "- a\n\n    - b [[B]]\n\n- c\n\n  para [[C]]\n\n- d\n\n\tx\n",
    "list items not simple": "-  two\n-\ttab\n- # h\n- - x\n* * *\n- ```\n-\n- \n+ > q\n- 1. x\n",
    "list loose then other": "- a\n\n-  b\n\n1. c\n\n- d\n\n> e\n\n- f\n\n<div>\n",
    "nested lists": "- a\n  - b [[B]]\n    - c #t\n- d\n\ntext [[E]]\n",
    "ordered lists": "1. one [[A]]\n2) two\n\n3. three\n\n10. ten\n\n3.14 is pi [[P]]\n",
    "list interrupts paragraph": "para [[A]]\n- item [[B]]\nlazy [[C]]\n\nnext [[D]]\n",
    "lazy continuation": "> quote [[A]]\nlazy [[B]]\n\n- item\nlazy [[C]]\n\nend [[D]]\n",
    "setext headings": "Title [[A]]\n===\n\nSub\n---\n\npara\n- - -\n",
    "thematic breaks": "***\npara [[A]]\n___\n* * *\n",
    "html blocks": "<div>\n[[A]]\n\n</div>\n\n<!-- c\n\n[[B]] -->\n\n[[C]]\n",
    "html pre": "<pre>\n[[A]]\n\n#tag\n</pre>\nafter [[B]]\n\n[[C]]\n",
    "html inline": "a <span>[[A]]</span> <a href=\"#t\">x</a> [[B]]\n",
    "indented code": "    code [[A]]\n\n    more\n\ntext [[B]]\n\n\tcode tab [[C]]\n",
    "fence in list": "- item\n\n  ```\n  [[A]]\n  ```\n\n- two [[B]]\n\nout [[C]]\n",
    "fence in list open": "1. x\n   ```py\n   y = 1\n\n[[A]]\n\n## H\n",
    "fences": "```\n[[A]]\n```\n~~~~ info ~ x\n[[B]]\n~~~\n~~~~~\n\n```` \ncode\n```\n````\n",
    "fence closers": "```\na\n   ```\n```\nb\n    ```\n```\nc\n````  \n[[X]]\n",
    "unclosed fence": "text\n```js\n[[A]]\n\n# not a heading",
    "backtick info": "```a`b\n[[A]]\n```\n",
    "fence interrupts": "para [[A]]\n```\ncode\n```\nafter [[B]]\n",
    "reference definitions": "[x]\n\n[x]: https://e.org \"t\"\n[y]: <a b.md>\n\n[z][y] [[A]]\n",
    "footnotes": "Claim.[^1] And [^n].\n\n[^1]: The note [[A]].\n    more\n\n[^n]: x\n",
    "inline footnote": "Text ^[with [[A]] inside] and [[B]].\n",
    "escapes": "\\[[A]] \\#tag \\{{a.b}} \\`[[B]]` x\\\\[[C]] \\\n[[D]] last\\",
    "entities": "&amp; &#35;tag &lt;[[A]]&gt; [x](a&amp;b.md) &copy; #t&amp;\n",
    "wikilinks in code spans": "`[[A]]` ``[[B]]`` ``` `[[C]]` ``` `` ` `` [[D]] `x\n",
    "unmatched backticks": "```` [[A]] `` [[B]]\n\n`a ``b`` [[C]]`\n",
    "tags in urls": "https://e.org/#tag [a](https://e.org/#t2) <https://e.org/#t3> x#no #ok (#p)\n",
    "tags": "#123 #a/b/ #-x #_ #é #tag-2 [#in](x.md) {#c} ,#d ;#e\n#start\n",
    "crlf": "# T\r\n\r\nline [[A]]\r\nline2 #t\r\n\r\n- i\r\n",
    "lone cr": "a\rb [[A]]\n",
    "nul": "a\x00b [[A]]\n",
    "tabs": "#\tTab heading\n\ttabbed\ntext\twith\ttabs [[A]]\n \t\n",
    "unicode": "# Überschrift ✓\n\nnbsp\u00a0[[Ünïcode]] \u2028 x #日本 [l](é%20x.md)\n\u00a0lead\n",
    "odd whitespace": "\x0c\n\x0bform [[A]]\n\u3000\n\u2003wide [[B]]\u2003\n",
    "final spaces": "text [[A]]\n   ",
    "no final newline": "```\ncode",
    "headings": "# A #\n## B ##   \n### C#\n#### #\n#\n####### seven\n#no\n# [[H]] #t\n",
    "heading trailing": "## Title \\#\n## x ### \t\n##\t\n",
    "tables": "| a | [[A]] |\n|---|---|\n| [[B\\|b]] | #t |\n\npara\n| x |\n| - |\n",
    "table interrupts": "text [[A]]\n| a | b |\n| --- | --- |\n| 1 | 2 |\n",
    "blockquote": "> a [[A]]\n>\n> b\n\n>> nested [[B]]\n",
    "links": "[a](b.md) [c](d.md#h \"t\") [e](<f g.md>) [h](i(j)k.md) [](x.md) [y]() "
             "[z](javascript:alert) [q](../a%20b.md#x) [r](%zz.md) [s](//host/p)\n",
    "link labels": "[a [b] c](d.md) [*e*](f.md) [`g`](h.md) [i\nj](k.md) [[[l]]](m.md) "
                   "[@x](n.md) [a](b.md)[a](b.md)\n",
    "images": "![a](b.png) ![c d](e f.png) ![](g.png) ![[h.png]] ![[ ]] ![x [y]](z.png) "
              "![a](b.png \"t\")!\n",
    "wikilinks": "[[A]] [[B|b]] [[C#h]] [[D#^blk|x]] [[ ]] [[E\n]] [[F]]] [[[G]] [[a.md]]\n",
    "citations": "Claim one [@src, \"quote\"]. Two [@a, p. 3; @b:v2, \"q\"] x.\n"
                 "Multi [@s, \"line\nquote\"] end. [@bad id] [@x](y.md)\n",
    "fact refs": "Value {{Model.layers}} and {{a.b}} `{{c.d}}` {{x}} {{ y.z }} {{\n",
    "block ids": "para one ^abc\n\npara two\nline ^def-1\n\n- item ^ghi\n\n# H ^no\n",
    "comments": "text %% hidden [[A]]\n\nstill %% [[B]]\n\n%%x%%\n",
    "frontmatter": "---\ntitle: T\ntags: [a, b]\n---\n# H\n\n[[A]] #c\n",
    "frontmatter bad": "---\ntitle: [\n---\ntext [[A]]\n",
    "frontmatter only": "---\ntitle: x\n---",
    "empty": "",
    "blank lines": "\n\n   \n\t\n",
    "long brackets": "[" * 300 + " [[A]] " + "]" * 5 + "(x.md)\n",
    "many labels, one link at the end": "[a] " * 3000 + "[[B]] #t [c](d.md)\n",
    "backtick runs of every length": "".join("`" * k + " x " for k in range(1, 300)) + "[[A]]",
    "unclosed wikilinks": "[[a " * 2000 + "[[B]]\n",
    "numbers": "It rose 5% in 2024. Then [[A]] fell 3 points [@s, \"3 points\"]. Done.\n",
    "html after fence": "```\nx\n```\n<div>\n\n[[A]]\n",
    "indented after blank": "text\n\n    code [[A]]\n\n  two spaces [[B]]\n\n   three\n",
    "list then indent": "- a\n\n    ```\n    x\n    ```\n\nafter [[A]]\n",
    "digits start": "2024 was a year [[A]].\n1999) no\n12345678901. long\n",
    "colon and pipe": "a\n: b [[A]]\n|c\n",
    "math": "$x_1 = \\alpha$ and \\(y\\) [[A]] $$\n\\beta\n$$\n",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_fast_blocks_same_page_on_tricky_input(name: str) -> None:
    text = TRICKY[name]
    assert_same("wiki/tricky.md", text)
    assert_same("wiki/tricky.md", "---\ntitle: t\n---\n" + text)
    assert_same("wiki/tricky.md", "# Before\n\n" + text + "\n\nAfter [[Z]] #z\n")


# ---------------------------------------------------------------- generated pages

_LINE_STARTS = ["", "", "", "# ", "## ", "#", "- ", "* ", "+ ", "1. ", "2) ", "> ", "    ",
                "  ", "\t", "```", "~~~", "```py", "<div>", "<!--", "-->", "| ", "|---|",
                "---", "===", "***", "[x]: y.md", "[^1]: ", "- [ ] ", ": ", "%%", "3.5 ",
                "**", "`", "_", "-", "+", ":", "|", "=", "~~", "2024.", "--", "-:|"]
_INLINE = ["word ", "[[A]]", "[[B|b]]", "![[C]]", "[l](p.md)", "[l](p q.md)", "![i](j.png)",
           "#tag", " #t2", "x#no", "[@src, \"quote\"]", "[@s]", "{{a.b}}", "`", "``",
           "`[[D]]`", "\\", "\\[", "<", "<b>", "&amp;", "[", "]", "(", ")", "!", "^abc",
           " ^id", "^[", "]:", "*", "_", "é", "\u00a0", " ", "  ", ". ", "5 ", "2024. ",
           "[x]", "[x][y]", "[^1]", "%%", "|"]

_line = st.builds(lambda start, parts: start + "".join(parts),
                  st.sampled_from(_LINE_STARTS), st.lists(st.sampled_from(_INLINE), max_size=8))
_page = st.lists(_line, max_size=14).map("\n".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_page, st.booleans())
def test_fast_blocks_same_page_on_generated_markdown(text: str, final_newline: bool) -> None:
    assert_same("wiki/gen.md", text + ("\n" if final_newline else ""))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aZ09._~/#-%fF:@ é?()", max_size=12))
def test_fast_blocks_plain_destinations_are_what_normalize_link_returns(dest: str) -> None:
    md = make_parser(for_index=False)  # markdown-it's own normalizeLink
    if fastinline._PLAIN_DEST.fullmatch(dest):
        assert md.normalizeLink(dest) == dest
        assert md.validateLink(dest)
