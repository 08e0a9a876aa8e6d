"""Numbers in claims and quotes: reading values and units, and comparing them.

The quotes are real published phrasings (GPT-2, GPT-3, Llama 2, Llama 3, DeepSeek-V2)
so the reader is tested on the text it will meet.
"""

from __future__ import annotations

import dataclasses

import pytest

from veriwiki.core.numbers import (
    LABEL,
    NUMBER_MISMATCH,
    QUANTITY,
    UNIT_MISMATCH,
    YEAR,
    Quantity,
    compare,
    extract_quantities,
    is_same_value,
    parse_value,
)


def _quantities(text: str) -> list[tuple[str, float, str | None]]:
    return [(q.raw, q.value, q.unit) for q in extract_quantities(text) if q.kind == QUANTITY]


def _one(text: str) -> Quantity:
    found = [q for q in extract_quantities(text) if q.kind == QUANTITY]
    assert len(found) == 1, found
    return found[0]


# --- reading values -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value", "unit"), [
    ("8,192", 8192, None),
    ("8192", 8192, None),
    ("8K", 8000, None),
    ("8k", 8000, None),
    ("2.4e-4", 2.4e-4, None),
    ("2.4 × 10⁻⁴", 2.4e-4, None),
    ("2.4x10^-4", 2.4e-4, None),
    ("2.4 × 10^{-4}", 2.4e-4, None),
    ("2.4 × 10−4", 2.4e-4, None),
    ("0.00024", 2.4e-4, None),
    ("15T", 15e12, None),
    ("15 trillion", 15e12, None),
    ("15.0T", 15e12, None),
    ("3.2M", 3.2e6, None),
    ("3.2 million", 3.2e6, None),
    ("7B", 7e9, None),
    ("7 billion", 7e9, None),
    ("7,000,000,000", 7e9, None),
    ("12.5%", 12.5, "percent"),
    ("12.5 percent", 12.5, "percent"),
    ("-0.5", -0.5, None),
    ("−0.5", -0.5, None),
    ("4× smaller", 4, "times"),
    ("4x smaller", 4, "times"),
    ("5.76 times", 5.76, "times"),
    ("eight attention heads", 8, "head"),
    ("two trillion tokens", 2e12, "token"),
    ("3.8 × 10^25 FLOPs", 3.8e25, "flop"),
    ("2^20 tokens", 2**20, "token"),
    ("eps = 10−5", 1e-5, None),
])
def test_extract_quantities_reads_form(text: str, value: float, unit: str | None) -> None:
    q = _one(text)
    assert q.value == pytest.approx(value, rel=1e-12)
    assert q.unit == unit


@pytest.mark.parametrize(("text", "value", "unit"), [
    ("175 billion parameters", 175e9, "parameter"),
    ("a batch size of 3.2M tokens", 3.2e6, "token"),
    ("40B tokens", 40e9, "token"),
    ("40GB of text", 40e9, "byte"),
    ("a total of 40 GB of text", 40e9, "byte"),
    ("16 GiB", 16 * 2**30, "byte"),
    ("375M warmup steps", 375e6, "step"),
    ("375 million tokens", 375e6, "token"),
    ("236B total parameters", 236e9, "parameter"),
    ("96 attention heads", 96, "head"),
    ("a 4096-token context", 4096, "token"),
    ("1.5B parameter Transformer", 1.5e9, "parameter"),
    ("300,000 iterations", 3e5, "step"),
    ("3.3M GPU hours", 3.3e6, "GPU-hour"),
    ("16K H100 GPUs", 16e3, "GPU"),
    ("50ms", 0.05, "second"),
])
def test_extract_quantities_folds_unit(text: str, value: float, unit: str) -> None:
    q = _one(text)
    assert (q.value, q.unit) == (pytest.approx(value), unit)


def test_extract_quantities_raw_and_offsets_cover_number_and_unit() -> None:
    text = "GPT-3 was trained with a batch size of 3.2M tokens."
    q = _one(text)
    assert q.raw == "3.2M tokens"
    assert text[q.start:q.end] == q.raw


def test_extract_quantities_k_has_binary_reading() -> None:
    assert _one("128K tokens").values == (128_000, 131_072)
    assert _one("4096").alt_value is None


def test_extract_quantities_range_gives_two_quantities_sharing_unit() -> None:
    assert _quantities("2-4 layers") == [("2", 2, "layer"), ("4 layers", 4, "layer")]
    assert _quantities("from 2 to 4 trillion tokens") == [
        ("2", 2e12, "token"), ("4 trillion tokens", 4e12, "token")]
    assert [q.value for q in extract_quantities("10–20%")] == [10, 20]


def test_extract_quantities_list_shares_unit_only_among_like_numbers() -> None:
    assert [u for _, _, u in _quantities("7B, 13B, and 70B parameters")] == ["parameter"] * 3
    assert _quantities("a learning rate of 3e-4 and 2000 warmup steps") == [
        ("3e-4", pytest.approx(3e-4), None), ("2000 warmup steps", 2000, "step")]


def test_extract_quantities_bare_number_word_is_not_a_quantity() -> None:
    assert _quantities("Llama 2 is one of the first open chat models") == []


def test_quantity_is_frozen() -> None:
    q = _one("7B")
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.value = 8  # type: ignore[misc]


# --- years and labels ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "raw"), [
    ("Llama 2 was released in 2023.", "2023"),
    ("as shown by (Touvron et al., 2023)", "2023"),
    ("released on July 18, 2023", "18"),
    ("the 2024-07-23 release", "2024"),
])
def test_extract_quantities_marks_year(text: str, raw: str) -> None:
    q = next(q for q in extract_quantities(text) if q.raw == raw)
    assert q.kind == YEAR and q.is_year


@pytest.mark.parametrize(("text", "raw"), [
    ("Llama 2 uses grouped-query attention", "2"),
    ("GPT-3 is an autoregressive model", "3"),
    ("Qwen2.5 was released", "2.5"),
    ("DeepSeek-V2 is a mixture of experts", "2"),
    ("see Section 3.2", "3.2"),
    ("results in Table 4", "4"),
    ("plotted in Figure 2", "2"),
    ("as in Fig. 2", "2"),
    ("prior work [12]", "12"),
    ("prior work [3, 4]", "4"),
    ("a footnote mark[^1]", "1"),
    ("the v2 tokenizer", "2"),
    ("the 1st stage", "1st"),
    ("Llama 2 70B uses GQA", "70B"),
    ("Mistral 7B outperforms it", "7B"),
    ("Mixtral 8x7B", "8x"),
    ("80GB A100 GPUs", "100 GPUs"),
    ("as in Eq. (3)", "3"),
    ("two steps: (1) pretraining", "1"),
    ("pass@1 on HumanEval", "1"),
    ("in the 1990s", "1990s"),
])
def test_extract_quantities_marks_label(text: str, raw: str) -> None:
    q = next(q for q in extract_quantities(text) if q.raw == raw)
    assert q.kind == LABEL and not q.is_year


def test_extract_quantities_context_length_is_not_a_year() -> None:
    assert _one("a context length of 2048").kind == QUANTITY
    assert _one("a batch size of 2000").kind == QUANTITY


# --- equal values ---------------------------------------------------------------------

@pytest.mark.parametrize(("claim", "quote"), [
    ("Llama 3 has an 8K context.", "sequences of 8,192 tokens"),
    ("Llama 3 has an 8K context.", "sequences of 8192 tokens"),
    ("Llama 3 has an 8k context.", "8K tokens"),
    ("The context is 8192 tokens.", "a context window of 8K tokens"),
    ("DeepSeek-V2 reads 131,072 tokens.", "supports a context length of 128K tokens"),
    ("The learning rate is 2.4e-4.", "learning rate of 2.40 × 10^-4"),
    ("The learning rate is 0.00024.", "learning rate of 2.4 × 10⁻⁴"),
    ("GPT-3 175B uses a learning rate of 6e-5.", "learning rate of 0.6 × 10^-4"),
    ("Llama 3 saw 15 trillion tokens.", "Llama 3 is pretrained on over 15T tokens"),
    ("Llama 3 saw 15.0T tokens.", "pretrained on over 15T tokens"),
    ("GPT-3 used batches of 3.2 million tokens.", "a batch size of 3.2M tokens"),
    ("Llama 2 saw 2T tokens.", "trained on 2 trillion tokens of data"),
    ("GPT-3 has 175B parameters.", "a language model with 175 billion parameters"),
    ("GPT-3 has 175,000,000,000 parameters.", "with 175 billion parameters"),
    ("MLA cuts the KV cache by 93.3 percent.", "reduces the KV cache by 93.3%"),
    ("Throughput rises 5.76×.", "boosts the maximum generation throughput to 5.76 times"),
    ("GPT-3 is 10 times larger.", "10x more than any previous non-sparse language model"),
    ("Training used two epochs.", "we train for 2 epochs"),
    ("Dropout is 10%.", "a dropout of 0.1"),
    ("Llama 2 uses 4k tokens of context.", "context length 4096"),
])
def test_compare_equal_forms_not_flagged(claim: str, quote: str) -> None:
    assert compare(claim, quote) == []


def test_compare_rounded_claim_matches_precise_quote() -> None:
    assert compare("LLaMA-7B has 6.7B parameters.", "a total of 6.74B parameters") == []
    assert compare("GPT-2 has 1.5B parameters.", "1542M parameters") == []


def test_compare_whole_number_claim_does_not_round() -> None:
    issues = compare("It has about 7B parameters.", "6.7B parameters")
    assert [i.kind for i in issues] == [NUMBER_MISMATCH]


def test_compare_claim_more_precise_than_quote_is_flagged() -> None:
    assert [i.kind for i in compare("6.74B parameters.", "6.7B parameters")] == [NUMBER_MISMATCH]


def test_is_same_value_reads_k_both_ways() -> None:
    assert is_same_value(_one("8K"), _one("8192"))
    assert is_same_value(_one("8192"), _one("8K"))
    assert not is_same_value(_one("8K"), _one("4096"))


# --- near misses that must be flagged -------------------------------------------------

@pytest.mark.parametrize(("claim", "quote", "closest"), [
    ("Llama 2 comes in a 70B size.", "We are releasing variants with 7B, 13B parameters",
     "13B parameters"),
    ("Llama 2 has a context of 8K.", "doubled the context length of the model (4096)", "4096"),
    ("The learning rate is 2.4e-4.", "learning rate of 2.4 × 10^-5", "2.4 × 10^-5"),
    ("Llama 3 saw 15T tokens.", "pretrained on over 1.5T tokens", "1.5T tokens"),
    ("GPT-3 has 17.5B parameters.", "with 175 billion parameters", "175 billion parameters"),
    ("Batches held 3.2B tokens.", "a batch size of 3.2M tokens", "3.2M tokens"),
    ("The KV cache shrinks by 12.5%.", "a 12.5M token cache", "12.5M token"),
])
def test_compare_flags_number_mismatch(claim: str, quote: str, closest: str) -> None:
    issues = compare(claim, quote)
    assert [i.kind for i in issues] == [NUMBER_MISMATCH]
    assert issues[0].quote_raw == closest


def test_compare_number_mismatch_message_lists_quote_numbers() -> None:
    [issue] = compare("Llama 2 has a 70B variant.", "variants with 7B, 13B")
    assert issue.claim_raw == "70B"
    assert issue.message == '"70B" in the page does not appear in the quote (it has 7B, 13B)'


def test_compare_quote_without_numbers_says_so() -> None:
    [issue] = compare("It has 96 layers.", "a deep Transformer")
    assert issue.quote_raw is None
    assert issue.message.endswith("(it states no number)")


# --- unit errors ----------------------------------------------------------------------

def test_compare_gpt2_tokens_vs_bytes_is_unit_mismatch() -> None:
    issues = compare("GPT-2 was trained on 40B tokens of WebText.",
                     "8 million documents for a total of 40GB of text")
    assert [(i.kind, i.claim_raw, i.quote_raw) for i in issues] == [
        (UNIT_MISMATCH, "40B tokens", "40GB")]
    assert issues[0].message == ('"40B tokens" in the page, but the quote says "40GB" '
                                 "(bytes, not tokens)")


def test_compare_gpt3_warmup_steps_vs_tokens_is_unit_mismatch() -> None:
    [issue] = compare("GPT-3 uses 375M warmup steps.",
                      "linear LR warmup over the first 375 million tokens")
    assert issue.kind == UNIT_MISMATCH
    assert issue.message == ('"375M warmup steps" in the page, but the quote says '
                             '"375 million tokens" (tokens, not steps)')


def test_compare_percent_vs_absolute_count_is_unit_mismatch() -> None:
    [issue] = compare("DeepSeek-V2 activates 21% of its experts.", "activates 21 experts")
    assert issue.kind == UNIT_MISMATCH


def test_compare_missing_unit_on_one_side_is_not_mismatch() -> None:
    assert compare("DeepSeek-V2 activates 21B parameters per token.",
                   "236B total parameters, of which 21B are activated for each token") == []
    assert compare("Llama 2 has a context length of 4096 tokens.",
                   "doubled the context length of the model (4096)") == []


def test_compare_same_value_in_right_unit_elsewhere_is_not_mismatch() -> None:
    assert compare("It has 32 layers.", "32 heads and 32 layers") == []


# --- things that must not be flagged --------------------------------------------------

@pytest.mark.parametrize("claim", [
    "Llama 2 was released by Meta in July 2023.",
    "Llama 2 70B uses grouped-query attention.",
    "GPT-3 is described in Section 3.2 and Table 4.",
    "As Figure 2 shows, DeepSeek-V2 is cheaper[^1].",
    "Qwen2.5 and GPT-3.5 are compared in prior work [12].",
    "The v2 tokenizer is used by the 1st stage.",
])
def test_compare_years_and_labels_not_flagged(claim: str) -> None:
    assert compare(claim, "a passage with no numbers at all") == []


def test_compare_ignores_citation_text_inside_claim() -> None:
    claim = 'GPT-3 has 175B parameters [@gpt3, "96 layers"].'
    assert compare(claim, "with 175 billion parameters") == []


def test_compare_reports_each_number_once() -> None:
    issues = compare("70B and again 70B.", "7B")
    assert len(issues) == 1


def test_compare_deepseek_v2_full_sentence_holds() -> None:
    quote = ("DeepSeek-V2 comprises 236B total parameters, of which 21B are activated for each "
             "token, and supports a context length of 128K tokens.")
    claim = ("DeepSeek-V2 has 236 billion parameters, activates 21B of them per token and "
             "reads up to 131,072 tokens.")
    assert compare(claim, quote) == []


def test_compare_llama2_full_sentence_flags_only_the_wrong_number() -> None:
    quote = ("Llama 2 was pretrained on 2 trillion tokens of data, with a context length of "
             "4096, in 2023.")
    issues = compare("Llama 2 (2023) saw 2T tokens with a 2048-token context.", quote)
    assert [(i.kind, i.claim_raw) for i in issues] == [(NUMBER_MISMATCH, "2048-token")]


def test_parse_value_reads_a_fact_value() -> None:
    q = parse_value("128K")
    assert q is not None and q.values == (128_000, 131_072)
    assert parse_value("Llama 2") is None


def test_extract_quantities_remembered_copies_are_independent() -> None:
    """The reader remembers texts (a quote is read once per citing claim): a caller that
    changes its list changes nothing the next caller gets."""
    from veriwiki.core.numbers import extract_quantities

    text = "Trained on **2.5**T tokens with 7B parameters in 2023."
    first = extract_quantities(text)
    expected = list(first)
    first.clear()
    again = extract_quantities(text)
    assert again == expected and again is not first
    assert [q.raw for q in again] == ["2.5T tokens", "7B parameters", "2023"]
