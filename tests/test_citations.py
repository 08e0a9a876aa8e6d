"""Citation syntax and claim extraction: markdown in, claims out."""

from __future__ import annotations

import pytest

from veriwiki.core.markdown.citations import parse_citations
from veriwiki.core.parse import parse_page


def _claims(body: str) -> list[tuple[int, str, list[tuple[str, str | None, str | None, int]]]]:
    page = parse_page("wiki/p.md", body)
    return [(c.line, c.text, [(x.key, x.locator, x.quote, x.line) for x in c.citations])
            for c in page.claims]


def test_citation_single_quote_after_sentence_text() -> None:
    got = _claims('Llama 2 saw 2 trillion tokens [@llama2, "2 trillion tokens"].\n')
    assert got == [(1, "Llama 2 saw 2 trillion tokens.",
                    [("llama2", None, "2 trillion tokens", 1)])]


def test_citation_after_period_belongs_to_previous_sentence() -> None:
    got = _claims('First claim is here. [@a, "first"] Second one [@b, "second"].\n')
    assert [(t, [k for k, *_ in c]) for _, t, c in got] == [
        ("First claim is here.", ["a"]), ("Second one.", ["b"])]


def test_citation_several_with_locator_and_version() -> None:
    got = _claims('GQA shrinks the cache [@llama2, p. 5, "GQA"; @gqa:v2, "fewer heads"].\n')
    assert got[0][2] == [("llama2", "p. 5", "GQA", 1), ("gqa:v2", None, "fewer heads", 1)]


def test_citation_quote_may_hold_brackets_semicolons_and_escaped_quotes() -> None:
    got = _claims('X holds [@s, "a ] b; c \\"d\\""].\n')
    assert got[0][2][0][2] == 'a ] b; c "d"'


def test_citation_curly_quotes_accepted() -> None:
    got = _claims("Y holds [@s, “curly quote”].\n")
    assert got[0][2][0][2] == "curly quote"


def test_citation_abbreviations_and_decimals_do_not_split_sentences() -> None:
    got = _claims('The rate was 2.4e-4, i.e. small, as in Fig. 3 of the paper [@s, "q"].\n')
    assert got[0][1] == "The rate was 2.4e-4, i.e. small, as in Fig. 3 of the paper."


def test_citation_multiline_sentence_line_numbers() -> None:
    body = "---\ntitle: T\n---\nIntro.\n\nA sentence that spans\ntwo lines [@s, \"q\"].\n"
    got = _claims(body)
    assert got == [(6, "A sentence that spans two lines.", [("s", None, "q", 7)])]


def test_citation_link_markup_reduced_in_claim_text() -> None:
    got = _claims('[[GPT-3|GPT‑3]] and [Llama](Llama.md) use **175B** `x` [@s, "q"].\n')
    assert got[0][1] == "GPT‑3 and Llama use 175B x."


@pytest.mark.parametrize("text", [
    "A link [@user](https://example.org) is a link.",
    "A reference [@user][ref] is a link.\n\n[ref]: https://example.org",
    "Plain [see @x] brackets.",
    "Email [@] alone.",
    "Inline code `[@s, \"q\"]` is code.",
    "```\n[@s, \"q\"]\n```",
])
def test_citation_near_misses_are_not_citations(text: str) -> None:
    assert parse_page("wiki/p.md", text + "\n").claims == ()


def test_citation_link_next_to_citation_still_a_link() -> None:
    page = parse_page("wiki/p.md", 'See [[Other]] [@s, "q"].\n')
    assert [x.target for x in page.links] == ["Other"]
    assert page.claims[0].citations[0].source_id == "s"


@pytest.mark.parametrize("body,ok", [
    ('@a, "q"', True), ("@a", True), ("@a, p. 4", True), ('@a, p. 4, "q"', True),
    ('@a, "q"; @b', True), ('@A-b.c_1:v3, "q"', True),
    ("@a b", False), ('@a, "q", "r"', False), ('@a "q"', False), ("a", False),
    ('@a, "unterminated', False),
])
def test_parse_citations_grammar(body: str, ok: bool) -> None:
    assert (parse_citations(body) is not None) is ok


def test_citation_in_list_item_and_table_cell() -> None:
    body = '- item claim [@s, "q1"]\n\n| a | b |\n|---|---|\n| cell claim [@t, "q2"] | x |\n'
    got = _claims(body)
    assert [(line, [k for k, *_ in c]) for line, _, c in got] == [(1, ["s"]), (5, ["t"])]
