"""Differential tests of the index parser's shortcuts against the parser without them.

The shortcut under test: destinations with an allowed scheme are not normalised
(``core/markdown/external.py``). The reference is the same index parser with
markdown-it's own ``normalizeLink``. Both must give exactly the same :class:`Page`
(every field, the compact JSON the index stores, the body) on hypothesis-made pages,
on every fixture in tests/fixtures, and on a vault from bench/gen_vault.py.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from helpers_gen import generated_pages
from veriwiki.core import claims, parse
from veriwiki.core.markdown import make_parser
from veriwiki.core.model import Page
from veriwiki.core.names import tag_at
from veriwiki.core.records import page_to_json

ROOT = Path(__file__).resolve().parent.parent


def _reference_parser() -> MarkdownIt:
    md = make_parser(for_index=True)
    md.__dict__.pop("normalizeLink")  # markdown-it's own method again
    return md


def both(path: str, text: str) -> tuple[Page, Page]:
    """The page parsed with the shortcut and by the reference parser."""
    fast = parse.parse_page(path, text)
    saved = parse._parsers[True]
    parse._parsers[True] = _reference_parser()
    try:
        ref = parse.parse_page(path, text)
    finally:
        parse._parsers[True] = saved
    return fast, ref


def assert_same(path: str, text: str) -> None:
    fast, ref = both(path, text)
    assert fast == ref, path
    assert page_to_json(fast) == page_to_json(ref), path


def test_fastpath_reference_really_differs_in_hrefs() -> None:
    """The reference parser normalises; the shortcut does not (so the test compares two
    different code paths, not one with itself)."""
    fast = parse._parser(True).normalizeLink("https://example.org/a b")
    ref = _reference_parser().normalizeLink("https://example.org/a b")
    assert fast == "https://example.org/a b"
    assert ref == "https://example.org/a%20b"


SCHEMES = ["http://", "https://", "HTTPS://", "mailto:", "javascript:", "JavaScript:",
           "vbscript:", "file:", "data:", "data:image/png;base64,", "ftp://", "x-y.z+1:",
           "1http:", "", "./", "../", "#", "//", "<", " "]
PIECES = ["[label](", "![alt](", "<", "[[Page]]", "[ref]: ", "[ref]", "[@src, \"q\"]",
          ")", ">", " \"title\")", "\n", "\n\n", "*", "`", "# h\n", "- item ", "^[note]",
          "%20", "é", "[", "]", "\\", "&amp;", "<a href=\"", "\">", "|", "> "]


@st.composite
def link_heavy_pages(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(
        st.sampled_from(PIECES),
        st.builds(lambda s, t: s + t, st.sampled_from(SCHEMES),
                  st.text(alphabet="abc/.:?#=&%()<> \"'-_é", max_size=12)),
        st.text(max_size=8)), max_size=40))
    return "".join(parts)


@given(link_heavy_pages())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fastpath_same_page_on_generated_markdown(text: str) -> None:
    assert_same("wiki/Generated.md", text)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_fastpath_same_page_for_each_scheme(scheme: str) -> None:
    text = (f"A [link]({scheme}host/path?q=1 \"title\") and ![img]({scheme}x.png), "
            f"<{scheme}auto>, [ref][r].\n\n[r]: {scheme}target\n")
    assert_same("wiki/Schemes.md", text)


def test_fastpath_same_page_on_every_fixture() -> None:
    files = sorted((ROOT / "tests" / "fixtures").rglob("*.md"))
    assert len(files) > 50
    for f in files:
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        assert_same(f"wiki/{f.name}", text)


def test_fastpath_same_page_on_a_generated_vault(tmp_path: Path) -> None:
    pages = generated_pages(tmp_path, 300, 7)
    for f in pages:
        assert_same(f.relative_to(tmp_path / "v").as_posix(), f.read_text("utf-8"))


# The claim helpers' shortcuts (core/claims.py) against their plain definitions.

# plain_text's emphasis and spacing patterns as first written (claims.py now has forms
# the regex engine scans faster: every branch opening with a literal, single spaces)
_MARKS_DEFINITION = re.compile(r"(\*\*|__|`+|(?<!\w)[*_]|[*_](?!\w))")
_SPACE_PUNCT_DEFINITION = re.compile(r"\s+([.,;:!?](?:\s|$))")
_DIGIT_RUNS = re.compile(r"[0-9]+")


def _plain_text_reference(markdown: str) -> str:
    text = claims._WIKI.sub(lambda m: m.group(2) or m.group(1), markdown)
    text = claims._MDLINK.sub(r"\1", text)
    text = _MARKS_DEFINITION.sub("", text)
    return _SPACE_PUNCT_DEFINITION.sub(r"\1", " ".join(text.split()))


def _digit_offsets_reference(text: str) -> list[int]:
    """claims._digit_offsets as first written: every hidden span found, the wikilink and
    link patterns with their optional "!"."""
    spans = []
    at = text.find("#")
    while at >= 0:
        tag = tag_at(text, at)
        if tag is not None:
            spans.append((at, tag[1]))
        at = text.find("#", at + 1 if tag is None else tag[1])
    if "^" in text:
        end = len(text.rstrip())
        caret = text.rfind("^", 0, end)
        if caret > 0 and text[caret - 1].isspace() and \
                claims._BLOCK_ID.fullmatch(text, caret + 1, end):
            spans.append((caret, end))
    for m in claims._WIKI.finditer(text):
        if m.group(2) is None:
            spans.append((m.start(), m.end()))
        else:
            spans += [(m.start(), m.start(2)), (m.end(2), m.end())]
    spans += [(m.end(1), m.end()) for m in claims._MDLINK.finditer(text)]
    gaps, pos = [], 0
    for a, b in sorted(spans):
        if a > pos:
            gaps.append((pos, a))
        pos = max(pos, b)
    gaps.append((pos, len(text)))
    if text.isascii():
        return [m.start() for a, b in gaps for m in _DIGIT_RUNS.finditer(text, a, b)]
    return [i for a, b in gaps for i in range(a, b) if text[i].isdigit()]


def _sentence_spans_reference(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for m in claims._BOUNDARY.finditer(text):
        end = m.end()
        word = re.search(r"([A-Za-z.]+)\.$", text[start:end])
        if word and word.group(1).lower().rstrip(".") in claims._ABBREV:
            continue
        if m.start() > 0 and text[m.start() - 1].isdigit() and end < len(text) and \
                text[end:end + 1].isdigit():
            continue
        spans.append((start, end))
        start = end
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    return spans


SENTENCE_PIECES = ["e.g.", "i.e.", "Fig.", "et al.", "vs.", "No.", " ", ". ", "? ", "! ",
                   "A", "b", "3", "3.5", "²", "٣", "(", ")", "[[a|b]]", "[[c]]", "[x](y)",
                   "](", "[", "]", "*", "**", "_", "`", "\n", "\"", "'", "...", "x.y.", " .",
                   "a_b", "_a", "b*", "x__y", "***", "``", "é_", "_é", "\t", "  ", "\u00a0",
                   "\u2003", "\x1c", " ,", " ;", "  !", " . . ", ",", ":", "?", "![[d 2]]",
                   "[[e 3#h 4|f 5]]", "[[g\\|6]]", "![x 7](y 8)", "#t9", " #10", "^b1", "7"]


@given(st.lists(st.one_of(st.sampled_from(SENTENCE_PIECES), st.text(max_size=5)),
                max_size=30).map("".join))
@settings(max_examples=int(os.environ.get("VERIWIKI_FUZZ", "1000")), deadline=None)
def test_claim_helpers_same_as_their_definitions(text: str) -> None:
    assert claims.plain_text(text) == _plain_text_reference(text)
    assert claims.sentence_spans(text) == _sentence_spans_reference(text)
    assert claims._has_digit(text) == any(ch.isdigit() for ch in text)
    assert claims._digit_offsets(text) == _digit_offsets_reference(text)


_CORPORA = [Path(os.environ.get("VERIWIKI_REAL_CORPUS", "/tmp/s3real/cache/vault")) / "wiki",
            Path(os.environ.get("VERIWIKI_10K_CORPUS", "/tmp/lead/v10k"))]


@pytest.mark.slow
@pytest.mark.parametrize("root", _CORPORA, ids=["real", "10k"])
def test_claim_helpers_same_as_their_definitions_on_every_corpus_page(root: Path) -> None:
    """Every paragraph (text between blank lines) of every page, as plain_text reads a
    sentence, against the patterns as first written."""
    if not root.is_dir():
        pytest.skip(f"{root} is not on this machine")
    checked = 0
    for f in sorted(root.rglob("*.md")):
        for para in f.read_bytes().decode("utf-8", "replace").split("\n\n"):
            assert claims.plain_text(para) == _plain_text_reference(para), f
        checked += 1
    assert checked > 3000


def test_claim_digit_pattern_is_str_isdigit() -> None:
    """``claims._DIGIT`` matches exactly the characters ``str.isdigit`` accepts (a new
    Unicode version adding digits fails here)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    got = [m.start() for m in claims._DIGIT.finditer(every)]
    assert got == [i for i, ch in enumerate(every) if ch.isdigit()]
