"""Quote matching: normalisation, exact matching with offsets, and near-miss reports."""

from __future__ import annotations

import random
import re

import pytest

from veriwiki.core.near_miss import closest_passage, describe_differences, explain_miss
from veriwiki.core.quotes import find_quote, normalize

PAPER = (
    "Abstract\n"
    "We trained the 70B model on 2 trillion tokens of publicly available data.\n"
    "The decoder-only architecture uses grouped-query attention.\n"
)

# Text as a PDF text layer gives it: words hyphenated at line ends, a ligature, a
# running header and a page number between pages, a form feed at the page break.
PDF = (
    "2 Pretraining\n"
    "Our training corpus includes a new mix of data from publicly avail-\n"
    "able sources, which does not include data from Meta\u2019s products or ser-\n"
    "vices. We made an effort to remove data from certain sites known to\n"
    "contain a high volume of personal information about private individ-\n"
    "uals. We trained on 2 trillion tokens of data as this provides a good\n"
    "performance\u2013cost trade-off, up-sampling the most factual sources in an\n"
    "e\ufb00ort to increase knowledge and dampen hallucinations.\n"
    "\f"
    "5\n"
    "Llama 2: Open Foundation and Fine-Tuned Chat Models\n"
    "We adopt most of the pretraining setting and model architecture from\n"
    "Llama 1. We use the standard transformer architecture, apply pre-\n"
    "normalization using RMSNorm, and use the SwiGLU activation function.\n"
)


# --- normalize -------------------------------------------------------------------


def test_normalize_folds_ligatures_with_nfkc() -> None:
    assert normalize("\ufb01ne-tuned e\ufb00ort \ufb02ow").text == "fine-tuned effort flow"


@pytest.mark.parametrize("mark", list("\u2018\u2019\u201a\u201b\u2032"))
def test_normalize_straightens_single_quotes(mark: str) -> None:
    assert normalize(f"Meta{mark}s").text == "Meta's"


@pytest.mark.parametrize("mark", list("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"))
def test_normalize_straightens_double_quotes(mark: str) -> None:
    assert normalize(f"{mark}helpful{mark}").text == '"helpful"'


@pytest.mark.parametrize("dash", list("\u2010\u2011\u2012\u2013\u2014\u2015\u2212"))
def test_normalize_unifies_dashes(dash: str) -> None:
    assert normalize(f"2017{dash}2023").text == "2017-2023"


def test_normalize_removes_soft_hyphens_and_zero_width_characters() -> None:
    assert normalize("infor\u00admation zero\u200bwidth\u200c\u200d\u2060\ufeff").text == (
        "information zerowidth"
    )


def test_normalize_joins_word_hyphenated_at_line_break() -> None:
    assert normalize("informa-\ntion and infor\u2010\r\n  mation").text == (
        "information and information"
    )


def test_normalize_keeps_hyphen_inside_a_line() -> None:
    assert normalize("a decoder-only model").text == "a decoder-only model"


def test_normalize_keeps_hyphen_at_line_break_before_digit_or_capital() -> None:
    assert normalize("GPT-\n4 and Mixture-of-\nExperts").text == "GPT- 4 and Mixture-of- Experts"


def test_normalize_collapses_every_white_space_run() -> None:
    text = "  two\n\nwords\u00a0and\ttabs\u202f\u2003end \n"
    assert normalize(text).text == "two words and tabs end "


def test_normalize_keeps_case_and_other_punctuation() -> None:
    assert normalize("Llama (v2): 7B; 13B, 70B!").text == "Llama (v2): 7B; 13B, 70B!"


def test_normalize_composes_combining_marks() -> None:
    assert normalize("re\u0301sume\u0301").text == "r\u00e9sum\u00e9"


def test_normalize_maps_each_character_back_to_its_original() -> None:
    text = "\u201cThe \ufb01rst\u201d  line-\nbreak\u00ad\u00a0ok \u2014 GPT-\n4"
    norm = normalize(text)
    assert norm.text == '"The first" linebreak ok - GPT- 4'
    origins = [text[norm.to_original(i)] for i in range(len(norm.text))]
    assert "".join(origins) == "\u201cThe \ufb01\ufb01rst\u201d linebreak\u00a0ok \u2014 GPT-\n4"
    assert norm.to_original(len(norm.text)) == len(text)


# --- find_quote: matches ---------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "quote"),
    [
        ("the \ufb01nal model", "the final model"),
        ("the final model", "the \ufb01nal model"),
        ("Meta\u2019s \u201cproducts\u201d", "Meta's \"products\""),
        ("performance\u2013cost trade-off", "performance-cost trade-off"),
        ("a  text\u00a0with\n\nbreaks", "a text with breaks"),
        ("infor\u00admation", "information"),
        ("zero\u200bwidth space", "zerowidth space"),
        ("personal informa-\ntion about", "personal information about"),
        ("a decoder-\nonly model", "a decoder-only model"),
        ("it uses GPT-\n4 here", "uses GPT-4 here"),
        ("pages 10-\n12 of it", "pages 10-12"),
        ("personal information about", "personal informa-\ntion about"),
        ("\uff17\uff10B model", "70B model"),
    ],
)
def test_find_quote_matches_after_normalisation(source: str, quote: str) -> None:
    assert find_quote(source, quote) is not None


@pytest.mark.parametrize(
    ("source", "quote"),
    [
        ("the \ufb01nal model", "the fine model"),  # ligature, but another word
        ("Meta\u2019s products", 'Meta"s products'),  # single vs double quote
        ("performance\u2013cost", "performance cost"),  # dash vs space
        ("a text with breaks", "a textwith breaks"),  # white space is not removed
        ("infor\u00admation", "infor-mation"),  # soft hyphen vs real hyphen
        ("zero\u200bwidth", "zero width"),  # zero-width is not a space
        ("personal informa-\ntion", "personal informa tion"),  # broken word, not two
        ("a decoder-only model", "a decoderonly model"),  # real hyphen mid-line
        ("it uses GPT-\n4 here", "uses GPT4 here"),  # no joining before a digit
        ("the 70B model", "the 7B model"),  # changed digit
        ("the 70B model", "the 70 B model"),  # changed spacing in a number
        ("trained on 2 trillion tokens", "trained on trillion tokens"),  # dropped word
        ("We trained the model", "we trained the model"),  # different case
        ("the 67B model", "7B model"),  # inside a number
        ("lr 21.5e-4", "1.5e-4"),  # inside a decimal
        ("rate 1.55", "rate 1.5"),  # stops inside a decimal
        ("pretraining data", "pretrain"),  # stops inside a word
    ],
)
def test_find_quote_near_miss_does_not_match(source: str, quote: str) -> None:
    assert find_quote(source, quote) is None


@pytest.mark.parametrize("quote", ["", "   ", "\n\t", "\u200b", "\u00ad"])
def test_find_quote_empty_quote_never_matches(quote: str) -> None:
    assert find_quote(PAPER, quote) is None


def test_find_quote_returns_first_occurrence_with_line() -> None:
    source = "alpha\nthe model\nbeta\nthe model\n"
    match = find_quote(source, "the model")
    assert match is not None
    assert (match.start, match.end, match.line) == (6, 15, 2)


def test_find_quote_skips_partial_word_occurrence_for_later_whole_one() -> None:
    source = "the 67B run\nthen the 7B run"
    match = find_quote(source, "7B run")
    assert match is not None
    assert match.line == 2
    assert source[match.start : match.end] == "7B run"


def test_find_quote_offsets_cover_original_span_with_ligature() -> None:
    source = "Intro.\nup-sampling in an e\ufb00ort to increase knowledge."
    match = find_quote(source, "an effort to")
    assert match is not None
    assert source[match.start : match.end] == "an e\ufb00ort to"
    assert match.line == 2


def test_find_quote_offsets_cover_original_span_with_line_hyphenation() -> None:
    source = "about private individ-\nuals. We trained"
    match = find_quote(source, "private individuals.")
    assert match is not None
    assert source[match.start : match.end] == "private individ-\nuals."
    assert match.line == 1


def test_find_quote_offsets_cover_original_span_with_curly_quotes_and_spaces() -> None:
    source = "x \u201cbe\u00a0 helpful\u201d\n y"
    match = find_quote(source, '"be helpful"')
    assert match is not None
    assert source[match.start : match.end] == "\u201cbe\u00a0 helpful\u201d"


def test_find_quote_offsets_include_trailing_combining_mark() -> None:
    source = "a re\u0301sume\u0301 here"
    match = find_quote(source, "a r\u00e9sum\u00e9")
    assert match is not None
    assert source[match.start : match.end] == "a re\u0301sume\u0301"


def test_find_quote_pdf_text_across_line_hyphenation() -> None:
    quote = (
        "includes a new mix of data from publicly available sources, which does not "
        "include data from Meta's products or services."
    )
    match = find_quote(PDF, quote)
    assert match is not None
    assert (match.page, match.line) == (1, 3)  # as source show --text prints it
    assert PDF[match.start : match.end].endswith("ser-\nvices.")


def test_find_quote_pdf_text_with_dash_and_ligature() -> None:
    quote = "performance-cost trade-off, up-sampling the most factual sources in an effort"
    match = find_quote(PDF, quote)
    assert match is not None
    assert (match.line, PDF[match.end - 5 : match.end]) == (8, "e\ufb00ort")


def test_find_quote_pdf_text_across_page_break_only_when_artefacts_skipped() -> None:
    assert find_quote(PDF, "dampen hallucinations. We adopt most of the pretraining") is None
    match = find_quote(PDF, "apply pre-normalization using RMSNorm")
    assert match is not None
    assert (match.page, match.line) == (1, 13)
    assert find_quote(PDF, "apply pre normalization using RMSNorm") is None


def test_find_quote_large_source_finds_planted_passage() -> None:
    source, line = _large_source()
    match = find_quote(source, PLANTED)
    assert match is not None
    assert match.line == line
    assert source[match.start : match.end] == PLANTED


# --- closest_passage -------------------------------------------------------------


def test_closest_passage_changed_number() -> None:
    near = closest_passage(PAPER, "We trained the 7B model on 2 trillion tokens")
    assert near is not None
    assert near.differences == ['"7B" in the quote, "70B" in the source']
    assert near.passage == "We trained the 70B model on 2 trillion tokens"
    assert near.line == 2


def test_closest_passage_missing_word() -> None:
    near = closest_passage(PAPER, "We trained 70B model on 2 trillion tokens")
    assert near is not None
    assert near.differences == ['"the" missing from the quote']


def test_closest_passage_added_word() -> None:
    near = closest_passage(PAPER, "The very decoder-only architecture uses grouped-query")
    assert near is not None
    assert near.differences == ['quote adds "very"']
    assert near.line == 3


def test_closest_passage_case_difference_is_named() -> None:
    near = closest_passage(PAPER, "the Decoder-only architecture uses")
    assert near is not None
    assert '"the Decoder-only" in the quote, "The decoder-only" in the source (case differs)' in (
        near.differences
    )


def test_closest_passage_maps_back_to_original_text_and_words() -> None:
    near = closest_passage(PDF, "the most factual sources in an effort to raise knowledge")
    assert near is not None
    assert PDF[near.start : near.end] == near.passage
    assert near.passage == "the most factual sources in an\ne\ufb00ort to increase knowledge"
    assert (near.page, near.line) == (1, 8)
    assert near.differences == ['"raise" in the quote, "increase" in the source']
    assert 0.8 < near.similarity < 1


def test_closest_passage_pdf_page_break_artefacts_are_named() -> None:
    near = closest_passage(PDF, "dampen hallucinations. We adopt most of the pretraining")
    assert near is not None
    # the page number "5" is furniture and skipped; a title seen on one page only is not
    assert near.differences == [
        '"Llama 2: Open Foundation and Fine-Tuned Chat Models" missing from the quote'
    ]


def test_closest_passage_trims_edge_punctuation_the_quote_lacks() -> None:
    near = closest_passage(PAPER, "of publicly available dat")
    assert near is not None
    assert near.passage == "of publicly available data"


def test_closest_passage_keeps_at_most_five_differences() -> None:
    quote = "We trained a 7B model on 3 trillion words of private data"
    near = closest_passage(PAPER, quote)
    assert near is not None
    assert len(near.differences) <= 5


def test_closest_passage_unrelated_text_returns_none() -> None:
    assert closest_passage(PAPER, "zebras graze quietly beside the river at dusk") is None


def test_closest_passage_empty_quote_returns_none() -> None:
    assert closest_passage(PAPER, "  ") is None


def test_closest_passage_large_source_finds_planted_near_miss() -> None:
    source, line = _large_source()
    near = closest_passage(source, PLANTED.replace("4096", "2048"))
    assert near is not None
    assert near.line == line
    assert near.differences == ['"2048" in the quote, "4096" in the source']


# --- describe_differences and explain_miss ---------------------------------------


def test_describe_differences_summarises_beyond_five() -> None:
    diffs = describe_differences("a1 b c2 d e3 f g4 h i5 j k6", "a b c d e f g h i j k")
    assert len(diffs) == 5
    assert diffs[-1] == "2 more differences"


def test_describe_differences_identical_text_has_none() -> None:
    assert describe_differences("the \u201cmodel\u201d", 'the "model"') == []


def test_explain_miss_names_line_similarity_passage_and_differences() -> None:
    message = explain_miss(PAPER, "We trained the 7B model on 2 trillion tokens")
    assert re.fullmatch(
        r'closest passage \(line 2, \d\d% similar\): "We trained the 70B model on 2 trillion '
        r'tokens"; differs: "7B" in the quote, "70B" in the source',
        message,
    )


def test_explain_miss_shortens_long_passages_to_one_line() -> None:
    message = explain_miss(PDF, PDF[15:400].replace("data", "text"))
    assert "\n" not in message
    assert "…" in message
    assert message.startswith("closest passage (p. 1, line 3, ")


def test_explain_miss_without_similar_passage() -> None:
    assert explain_miss(PAPER, "zebras graze quietly") == "no similar passage in the source"


# --- helpers ---------------------------------------------------------------------

PLANTED = "The context length is 4096 tokens for every model size."


def _large_source() -> tuple[str, int]:
    """Over 1 MB of PDF-like filler with one planted sentence; returns it and its line."""
    rng = random.Random(7)
    vocab = ["the", "model", "was", "trained", "with", "grouped-query", "attention", "on",
             "tokens", "of", "e\ufb00ective", "data", "\u201cpublic\u201d", "evalu-\nated",
             "with\u00a0care", "\u2013", "per", "layer", "7B", "70B", "4,096"]
    lines = [" ".join(rng.choice(vocab) for _ in range(11)) for _ in range(16_000)]
    planted_at = 9_000
    lines[planted_at] = PLANTED
    source = "\n".join(lines)
    assert len(source) > 1_000_000
    return source, source[: source.index(PLANTED)].count("\n") + 1
