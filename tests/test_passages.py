"""core.passages: the passages find_in_source returns are exact, quotable source text."""

from __future__ import annotations

from veriwiki.core.passages import MAX_PASSAGE_CHARS, best_passages
from veriwiki.core.quotes import find_quote

PDF = ("Title of the paper\n\nWe train on 300 billion tokens of web text.\n"
       "\n\f\n"
       "Page two begins here. The model has 2.4 billion parameters in total.\n")
MARKDOWN = ("# Results\n\nThe **largest** model reaches *61.3 percent* on the "
            "[reading benchmark](https://example.org).\n\n- Another item without a stop\n")


def test_passages_best_sentence_first_and_exact() -> None:
    found = best_passages(PDF, "how many parameters does the model have")
    assert found[0].text == "The model has 2.4 billion parameters in total."
    assert found[0].page == 2 and found[0].locator == "p. 2"
    for p in found:
        assert find_quote(PDF, p.text) is not None
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)


def test_passages_of_marked_up_text_are_quotable_as_read() -> None:
    found = best_passages(MARKDOWN, "largest model reading benchmark 61.3 percent")
    assert found and "largest" in found[0].text and "**" not in found[0].text
    assert find_quote(MARKDOWN, found[0].text) is not None
    assert found[0].locator == "line 3"


def test_passages_long_sentence_is_cut_around_the_match() -> None:
    filler = " ".join(f"word{i}" for i in range(400))
    text = f"{filler} the router uses a load balancing loss {filler}."
    found = best_passages(text, "router uses a load balancing loss")
    assert found and len(found[0].text) <= MAX_PASSAGE_CHARS
    assert "load balancing loss" in found[0].text
    assert find_quote(text, found[0].text) is not None


def test_passages_nothing_for_empty_or_unrelated_input() -> None:
    assert best_passages("", "anything") == []
    assert best_passages(PDF, "   ") == []
    assert all(p.score >= 0.35 for p in best_passages(PDF, "zzzz qqqq xxxx"))
