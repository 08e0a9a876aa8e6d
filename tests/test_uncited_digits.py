"""Which sentences the parser hands to ``uncited-claim``: those whose prose holds a digit.

The digits of a link's target or address name a page or a URL ("[[GPT 4]]",
"(https://arxiv.org/abs/2401.1)"); they state nothing, so they do not make a sentence a
candidate. ``uncited_sentences`` walks its digits and sentences in one pass; it is
compared here with a direct reading of the same rule, sentence by sentence.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from veriwiki.core.claims import (
    _assign,
    _naming_spans,
    _strip,
    plain_text,
    sentence_spans,
    uncited_sentences,
)
from veriwiki.core.names import normalize_name
from veriwiki.core.parse import parse_page


def _reference(content: str, first_line: int) -> list[tuple[int, str]]:
    """The rule read directly: each sentence, its digits outside link addresses, and its
    line counted from the start of the block."""
    stripped, marks = _strip(content, [])
    hidden = _naming_spans(stripped)
    spans = sentence_spans(stripped)
    cited = _assign(stripped, spans, marks)
    out = []
    for i, (a, b) in enumerate(spans):
        seen = [k for k in range(a, b) if stripped[k].isdigit()
                and not any(x <= k < y for x, y in hidden)]
        if i in cited or not seen:
            continue
        first = a + len(stripped[a:b]) - len(stripped[a:b].lstrip())
        out.append((first_line + stripped.count("\n", 0, first), plain_text(stripped[a:b])))
    return out


_WORDS = st.sampled_from([
    "The model", "has", "40%", "7B", "parameters", "e.g.", "Fig. 2", "3.5", "١٢", "²",
    "[[GPT 4]]", "[[Llama 3#Results 2]]", "[[Page|40% faster]]", "![[chart 2.png]]",
    "[paper](https://arxiv.org/abs/2401.12345)", "[12 runs](https://x.org/7)", "\n",
    "#gpt4", "#12", "(#tag-2", "^b832", "a#b1",
    "  ", ".", "!", "?", '"', ")", "A", "b", "[[unclosed 5", "`x[0]`", "*2*",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=40), st.integers(1, 50))
def test_one_pass_equals_the_rule_read_sentence_by_sentence(words: list[str],
                                                           line: int) -> None:
    content = " ".join(words)
    assert uncited_sentences(content, line, []) == _reference(content, line)


def test_digits_in_link_targets_and_addresses_state_nothing() -> None:
    text = ("This builds on [[Gated Code Corpus 2]]. See [the paper](https://arxiv.org/"
            "abs/2401.12345). It is 40% faster than [[X|GPT 4]]. Compare [[A#Run 2|run "
            "B]]. ![[chart 3.png]] Then 12 of [18 runs](https://x.org/9) failed.")
    assert uncited_sentences(text, 7, []) == [
        (7, "It is 40% faster than GPT 4."),
        (7, "Compare run B. chart 3.png Then 12 of 18 runs failed.")]


def test_a_page_lists_only_sentences_that_state_a_number() -> None:
    page = parse_page("wiki/a.md", "---\ntitle: A\n---\n\nSee [[Llama 3]] first.\n\n"
                      "Llama 3 has 70B parameters and [[Mistral 7B|ten]] layers.\n\n"
                      "Read [it](https://example.org/2024/05/paper.pdf).\n")
    assert page.uncited == ((7, "Llama 3 has 70B parameters and ten layers."),)


def test_line_of_each_sentence_in_a_long_paragraph() -> None:
    content = "\n".join(f"Line {n} says {n}." for n in range(1, 30))
    got = uncited_sentences(content, 100, [])
    assert [line for line, _ in got] == list(range(100, 129))
    assert got[3] == (103, "Line 4 says 4.")


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30) | st.text(max_size=30))
def test_normalize_name_fast_ascii_path_equals_the_general_one(name: str) -> None:
    general = re.sub(r"\s+", " ", unicodedata.normalize("NFC", name)).strip().casefold()
    assert normalize_name(name) == general


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=30), st.data())
def test_sentences_through_an_offset_are_the_first_ones_of_all(words: list[str],
                                                               data: st.DataObject) -> None:
    text = " ".join(words)
    through = data.draw(st.integers(0, len(text) - 1))
    whole = sentence_spans(text)
    part = sentence_spans(text, through)
    assert part == whole[:len(part)]
    if any(a <= through < b for a, b in whole):
        assert part and part[-1][0] <= through < part[-1][1]


def test_tags_and_a_closing_block_id_state_nothing() -> None:
    text = "We tag #gpt4 and #llama-3. Ranked #1.\nLogging every 32 steps helps. #ops ^b832"
    assert uncited_sentences(text, 3, []) == [
        (3, "Ranked #1."), (4, "Logging every 32 steps helps.")]
    # a block id closes its paragraph; in the middle of one it is text
    assert uncited_sentences("Tagged #gpt4 only. ^b1\nMore.", 1, []) == [
        (1, "Tagged #gpt4 only. ^b1 More.")]
