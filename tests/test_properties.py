"""Property-based tests (hypothesis) for the parser, frontmatter, names and query terms.

The parser must never raise, must place every link inside the text, must give the same
page twice, and its linear link-label scanner must read exactly what markdown-it's own
does. Frontmatter and names must never raise and must keep their documented bounds.
"""

from __future__ import annotations

import re
import string
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it.helpers import parseLinkLabel as markdown_it_label
from markdown_it.token import Token
from mdit_py_plugins.footnote.index import footnote_inline

from veriwiki.core.frontmatter import MAX_DEPTH, _field_key, _may_exceed_bounds, read_frontmatter
from veriwiki.core.markdown import make_parser
from veriwiki.core.names import check_page_name, file_name_problem, printable_path
from veriwiki.core.parse import parse_page
from veriwiki.core.query import MAX_QUERY_TERMS, query_terms
from veriwiki.errors import InputError

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# Markdown built mostly from the syntax the dialect reacts to, so examples hit the rules.
_PIECES = ["[", "]", "[[", "]]", "![[", "(", ")", "![", "[@a", "@b", ', "q"', "]", "{{",
           "}}", "x.y", "#tag", "^id", "[^1]", "^[", "`", "```", "\n", "\n\n", "> ", "- ",
           "1. ", "|", "| - |", "*", "_", "<", ">", "%%", "\\", ":", "---\n", "a", "b c",
           "é", "\t", "    ", "\r\n", "x.md", "#", "# ", "&amp;", "<!--", "-->"]
markdown = st.lists(st.sampled_from(_PIECES) | st.text(max_size=4), max_size=60).map("".join)


@FAST
@given(markdown)
def test_parser_never_raises_and_places_links_inside_the_text(text: str) -> None:
    page = parse_page("wiki/P.md", text)
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    for link in page.links:
        assert 1 <= link.line <= len(lines), link
        assert 1 <= link.column <= len(lines[link.line - 1]) + 1, link
    for heading in page.headings:
        assert 1 <= heading.line <= len(lines)
    for _, _, line, col in page.fact_refs:
        assert 1 <= line <= len(lines) and col >= 1


@FAST
@given(markdown)
def test_parser_is_idempotent(text: str) -> None:
    assert parse_page("wiki/P.md", text) == parse_page("wiki/P.md", text)


def _tokens(tokens: list[Token]) -> list[Any]:
    out: list[Any] = []
    for t in tokens:
        out.append((t.type, t.content, t.map, sorted((t.attrs or {}).items()), repr(t.meta)))
        if t.children:
            out.append(_tokens(t.children))
    return out


_stock = {}
for _for_index in (True, False):
    _md = make_parser(for_index=_for_index)
    _md.helpers = __import__("markdown_it").helpers  # markdown-it's own label scanner
    _md.inline.ruler.at("footnote_inline", footnote_inline)
    _stock[_for_index] = (make_parser(for_index=_for_index), _md)


@FAST
@given(markdown, st.booleans())
def test_linear_label_scanner_reads_what_markdown_it_reads(text: str, for_index: bool) -> None:
    ours, stock = _stock[for_index]
    assert stock.helpers.parseLinkLabel is markdown_it_label
    assert _tokens(ours.parse(text, {})) == _tokens(stock.parse(text, {}))


_OLD_FIELD = re.compile(r"^([^\s#\-][^:]*?)\s*:(?:\s|$)")


@FAST
@given(st.text(alphabet=": \t#-'\"ab\u00a0\x1c\r", max_size=12))
def test_field_key_matches_the_former_pattern(line: str) -> None:
    m = _OLD_FIELD.match(line)
    assert _field_key(line) == (m.group(1).strip().strip("'\"") if m else None)


_plain = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=8)
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _plain,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=5), inner, max_size=3),
    max_leaves=30)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@FAST
@given(st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=6), yaml_values,
                       max_size=5), st.booleans())
def test_frontmatter_round_trips_bounded_values(data: dict[str, Any], flow: bool) -> None:
    block = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    fm = read_frontmatter(f"---\n{block}---\nbody\n")
    assert fm.error is None, fm.error
    assert fm.data == data


@FAST
@given(st.text(alphabet="[]{}-?:, \n\tab&*!|>\"'#", max_size=80))
def test_frontmatter_never_raises_and_cheap_check_is_sound(block: str) -> None:
    fm = read_frontmatter(f"---\n{block}\n---\n")
    assert fm.error is None or fm.error.line >= 1
    if not _may_exceed_bounds(block):  # the shortcut may only skip blocks within bounds
        try:
            data = yaml.safe_load(block)
        except (yaml.YAMLError, RecursionError):
            return
        assert _depth(data) <= MAX_DEPTH


@FAST
@given(st.text(max_size=20))
def test_unusable_file_names_are_exactly_control_and_undecodable(name: str) -> None:
    bad = any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF
              for c in name)
    assert (file_name_problem(name) is not None) == bad
    shown = printable_path(name)
    shown.encode("utf-8")  # always printable and storable
    assert file_name_problem(shown) is None


@FAST
@given(st.binary(max_size=16))
def test_undecodable_names_from_the_file_system_are_refused(raw: bytes) -> None:
    import os

    name = os.fsdecode(raw)
    try:
        raw.decode("utf-8")
        decodes = True
    except UnicodeDecodeError:
        decodes = False
    assert (file_name_problem(name) is None) == (decodes and file_name_problem(
        raw.decode("utf-8")) is None)


@FAST
@given(st.text(max_size=30))
def test_accepted_page_names_are_usable_file_names(name: str) -> None:
    try:
        cleaned = check_page_name(name)
    except InputError:
        return
    assert file_name_problem(cleaned + ".md") is None


@FAST
@given(st.lists(st.sampled_from(["a", "A", "b", "c", "dé", "x1", "ζ"]) | st.text(max_size=3),
                max_size=80).map(" ".join))
def test_query_terms_distinct_and_capped(query: str) -> None:
    terms = query_terms(query)
    words = re.findall(r"\w+", query)
    assert len(terms.words) <= MAX_QUERY_TERMS
    assert len({w.casefold() for w in terms.words}) == len(terms.words)
    assert {w.casefold() for w in terms.words} <= {w.casefold() for w in words}
    assert terms.repeats + terms.dropped + len(terms.words) == len(words)
    assert (terms.note is None) == (terms.repeats == 0 and terms.dropped == 0)


def _naive_close(src: str, start: int, end: int) -> int:
    """The citation closer found by a plain walk from ``start`` (no shared answers)."""
    from veriwiki.core.markdown.citations import _OPEN_QUOTES, _read_quote

    i = start + 1
    while i < end:
        ch = src[i]
        if ch in _OPEN_QUOTES:
            got = _read_quote(src, i, end)
            if got is None:
                return -1
            i = got[1]
            continue
        if ch == "\n" and i + 1 < end and src[i + 1] == "\n":
            return -1
        if ch == "]":
            return i
        i += 1
    return -1


@FAST
@given(st.lists(st.sampled_from(["[", "[@a", "]", '"', "“", "”", "\\", "\n", "\n\n", "x", " "]),
                max_size=40).map("".join))
def test_citation_closer_memo_gives_the_plain_walks_answer(text: str) -> None:
    from veriwiki.core.markdown.citations import find_close

    memo: dict[int, int] = {}
    for start in [i for i, ch in enumerate(text) if ch == "["]:
        assert find_close(text, start, len(text), memo) == _naive_close(text, start, len(text))
