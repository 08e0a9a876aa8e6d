"""A page's summary is plain text: what listings, backlinks, search and llms.txt show."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veriwiki.core.parse import parse_page
from veriwiki.core.summary import page_summary, summary_text


@pytest.mark.parametrize(("body", "want"), [
    # citations and footnote markers are dropped, before the sentence is cut: the quote's
    # own full stop does not end the summary
    ('Attention is all[^1] you need [@vaswani2017, "The Transformer. It is"]. Next one.',
     "Attention is all you need."),
    ("A **bold** claim with `a*b*c` and [[Page|alias]] and ==mark== and <b>html</b>.",
     "A bold claim with `a*b*c` and alias and mark and html."),
    ("Prose with snake_case and _em_ and *star*, 2 * 3, 2*3, __init__ and (**b**).",
     "Prose with snake_case and em and star, 2 * 3, 2*3, init and (b)."),
    ("See <https://example.org/a>, ![img](x.png) <!-- hidden --> and [[P#h]].",
     "See https://example.org/a, img and P."),
    ("Built [![CI](badge.svg)](https://ci) daily.", "Built CI daily."),
    ("The `x` directive is supplied by the [[!iki plugins/x desc=x]] plugin.",
     "The `x` directive is supplied by the plugin."),
    ("Cite [@a, \"x\"] and {{gpt4.params}} done.", "Cite and {{gpt4.params}} done."),
    ("Use `[[not a link]]` and `**kept**` as written.",
     "Use `[[not a link]]` and `**kept**` as written."),
    ("A quote with backticks [@s, \"run `make` first\"] is dropped whole.",
     "A quote with backticks is dropped whole."),
])
def test_summary_is_the_first_sentence_as_plain_text(body: str, want: str) -> None:
    assert page_summary({}, body.split("\n")) == want


@pytest.mark.parametrize(("lines", "want"), [
    # a paragraph wrapped over lines is one sentence, not its first line
    (["Grouped-query attention (GQA) uses more than one but fewer key-value heads than",
      "query heads. Each group shares one."],
     "Grouped-query attention (GQA) uses more than one but fewer key-value heads than "
     "query heads."),
    (["**Bold** opens the paragraph", "and it goes on. Second."],
     "Bold opens the paragraph and it goes on."),
    (["Title", "=====", "", "Real para here. More."], "Real para here."),
    (["- a list", "  lazy line", "", "After the list."], "After the list."),
    (["1. first", "", "After the numbered list."], "After the numbered list."),
    (["    indented code", "", "After code."], "After code."),
    (["```", "code. x", "```", "After the fence."], "After the fence."),
    (["<div>", "x", "</div>", "", "After the HTML block."], "After the HTML block."),
    (["| a | b |", "|---|---|", "| 1 | 2 |", "", "After the table."], "After the table."),
    (["> a quote", "lazy", "", "After the quote."], "After the quote."),
    (["# Heading", "Right after the heading."], "Right after the heading."),
    (["[ref]: https://example.org", "After the definition."], "After the definition."),
    (["[^1]: a footnote", "", "After the footnote."], "After the footnote."),
    # a paragraph with no text of its own (an ikiwiki directive) gives way to the next
    (['[[!meta robots="noindex"]]', "", "The real start."], "The real start."),
    (["Para one", "```", "code", "```"], "Para one"),
    # a line of badges is not the page's first sentence
    (["[![CI](https://ci/badge.svg)](https://ci) ![cov](c.svg)", "", "What it does."],
     "What it does."),
    ([], ""),
    (["", "   "], ""),
])
def test_summary_takes_the_first_paragraph_of_prose(lines: list[str], want: str) -> None:
    assert page_summary({}, lines) == want


def test_frontmatter_summary_wins_and_is_plain_too() -> None:
    fm = {"summary": "Uses **GQA** [@x, \"y\"]  and\nmore", "description": "no"}
    assert page_summary(fm, ["Body."]) == "Uses GQA and more"
    assert page_summary({"description": "The <i>desc</i>."}, ["Body."]) == "The desc."
    assert page_summary({"summary": "  "}, ["Body text."]) == "Body text."


def test_summary_is_at_most_200_characters_cut_at_a_word() -> None:
    long = page_summary({}, ["word, " * 100])
    assert len(long) <= 200 and long.endswith("word…")
    assert long.startswith("word, word")
    unbroken = page_summary({}, ["x" * 500])
    assert unbroken == "x" * 199 + "…"
    exact = "y" * 199 + "."
    assert page_summary({}, [exact]) == exact


def test_parse_page_stores_the_plain_summary() -> None:
    text = ("---\ntitle: Alpha\n---\n# Alpha\n\nAlpha uses **32 layers**[^1] "
            '[@src1, "has 32 layers"] with <b>html</b>, see [[Beta]].\n\n[^1]: A note.\n')
    assert parse_page("wiki/Alpha.md", text).summary == (
        "Alpha uses 32 layers with html, see Beta.")


_PIECES = ["**", "*", "_", "__", "~~", "==", "[[", "]]", "[", "]", "(", ")", "[^", "[@",
           '"', "<", ">", "<!--", "-->", "`", "!", "#", "|", " ", "\n", "a", "1", ".", "-"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=60))
def test_plain_text_never_fails_and_never_grows_markup(pieces: list[str]) -> None:
    text = "".join(pieces)
    out = summary_text(text)
    assert "\n" not in out and out == out.strip()
    assert len(out) <= len(text)
    summary = page_summary({}, text.split("\n"))
    assert len(summary) <= 200


@pytest.mark.parametrize("unit", ["**a ", "*a ", "_a ", "[[", "[", "[a](", "<a ", "<!--",
                                  "`a", '[@a, "', "==a ", "[^", "<http:", "[![a](b)](c "])
def test_summary_of_an_unclosed_construct_repeated(unit: str) -> None:
    """4,000 characters of one unclosed construct: a summary comes out, bounded. (The
    patterns exclude brackets from link names and labels, so no match attempt runs
    past the next bracket; a 4,000-character run of ``[[`` took 0.6 s when they did.
    Speed is not asserted here.)"""
    line = unit * (4000 // len(unit))
    assert len(page_summary({}, [line])) <= 200
    assert len(summary_text(line)) <= len(line)
