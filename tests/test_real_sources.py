"""Verification on real-world source shapes: rendered markup, numbers in markup, PDF page
furniture, count-noun units, short quotes and source line numbers (issue 10)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from golden import fixture_vault, golden_diff, run_cli
from helpers_paper import make_paper_pdf
from veriwiki.adapters.extract import extract
from veriwiki.checks.rules.quote_too_short import is_too_short
from veriwiki.core.furniture import furniture
from veriwiki.core.near_miss import explain_miss
from veriwiki.core.numbers import compare, extract_quantities
from veriwiki.core.quotes import find_quote, shown_position
from veriwiki.core.rendered import render

CARD = (
    "# Model card\n\n"
    "Trained on **2.5**T tokens, see \\~40 `configs` and <sup>†</sup>notes.\n"
    "The [tokenizer](https://example.org/tok) has a vocabulary of 32,000&nbsp;tokens.\n\n"
    "| Model | Layers | LR |\n|---|---|---|\n| 7B | 32 | 3 x 10<sup>-4</sup> |\n"
    "![A diagram of the router](router.png) shows the *two* experts per token.\n"
)


@pytest.fixture(scope="module")
def paper() -> str:
    return extract("application/pdf", make_paper_pdf(), "paper.pdf").text


# --- 1. rendered markdown and HTML -------------------------------------------------------


@pytest.mark.parametrize("quote", [
    "Trained on 2.5T tokens, see ~40 configs and †notes",
    "Trained on **2.5**T tokens, see \\~40 `configs`",  # a raw copy still matches
    "The tokenizer has a vocabulary of 32,000 tokens",
    "7B 32 3 x 10-4",
    "A diagram of the router shows the two experts per token",
])
def test_find_quote_rendered_markdown_matches(quote: str) -> None:
    match = find_quote(CARD, quote)
    assert match is not None, quote
    assert CARD[match.start:match.end].split()[0] in CARD  # maps into the raw text
    assert match.line == CARD.count("\n", 0, match.start) + 1


def test_find_quote_rendered_markdown_maps_offsets_to_raw() -> None:
    match = find_quote(CARD, "Trained on 2.5T tokens")
    assert match is not None
    assert CARD[match.start:match.end] == "Trained on **2.5**T tokens"
    assert match.line == 3


@pytest.mark.parametrize("quote", [
    "Trained on 2.6T tokens, see ~40 configs",  # a changed digit
    "The tokenizer has a vocabulary of 32,000 words",
    "Trained on 2.5 T tokens",  # a space the source does not have
])
def test_find_quote_rendered_markdown_near_misses_still_fail(quote: str) -> None:
    assert find_quote(CARD, quote) is None


def test_find_quote_html_math_reads_as_rendered() -> None:
    text = "The model uses $d_{model}=512$ and a rate of $3 \\times 10^{-4}$ in all runs."
    assert find_quote(text, "The model uses dmodel=512 and a rate of 3 × 10-4") is not None
    assert find_quote(text, "The model uses dmodel=1024") is None


def test_render_keeps_intraword_underscores_and_arithmetic() -> None:
    assert render("d_model and 2*3*4 and snake_case_name").text == \
        "d_model and 2*3*4 and snake_case_name"


def test_closest_passage_in_markdown_is_shown_as_rendered() -> None:
    message = explain_miss(CARD, "Trained on 2.6T tokens, see ~40 configs")
    assert '"Trained on 2.5T tokens, see ~40 configs' in message
    assert "line 3" in message


# --- 2. numbers inside markup ------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("trained on **2.5**T tokens", 2.5e12),
    ("a rate of 3 x 10<sup>-4</sup>", 3e-4),
    ("a rate of 3×10^-4", 3e-4),
    ("a rate of 3·10⁻⁴", 3e-4),
    ("a rate of $3 \\times 10^{-4}$", 3e-4),
    ("a rate of 3 &times; 10<sup>&minus;4</sup>", 3e-4),
])
def test_extract_quantities_reads_numbers_inside_markup(text: str, value: float) -> None:
    q = extract_quantities(text)
    assert q and q[0].value == pytest.approx(value)
    assert text[q[0].start] in "3$2*"


def test_compare_markup_numbers_on_both_sides() -> None:
    assert compare("The rate was 3e-4 on **2.5**T tokens.",
                   "rate of 3 x 10<sup>-4</sup> on 2.5T tokens") == []
    issues = compare("The rate was 3e-5.", "rate of 3 x 10<sup>-4</sup>")
    assert [i.kind for i in issues] == ["number-mismatch"]


# --- 3. PDF page furniture ---------------------------------------------------------------


def test_furniture_finds_running_titles_page_numbers_and_footnotes(paper: str) -> None:
    drop, marks = furniture(paper)
    lines = [paper[a:b].strip() for a, b in drop]
    assert "Sparse Mixtures for Small Language Models" in lines
    assert "A. Writer, B. Checker and C. Reader" in lines
    assert {"1", "2", "3", "4"} <= set(lines)
    assert "3 Warmup and decay follow the usual schedule of earlier work." in lines
    assert not any(line.startswith("5632.") for line in lines)  # a body line, kept
    assert [paper[a:b] for a, b in marks] == ["1", "3", "2"]


def test_find_quote_across_pdf_page_break_with_furniture(paper: str) -> None:
    quote = ("a total of about 32,000 GPU hours, in an international collaboration "
             "between three laboratories")
    match = find_quote(paper, quote)
    assert match is not None
    assert match.page == 2
    assert paper[match.end - 12:match.end] == "laboratories"


def test_find_quote_across_pdf_footnote_mark(paper: str) -> None:
    assert find_quote(paper, "of English web text and code. The router is trained") is not None


def test_find_quote_pdf_near_miss_across_break_is_reported(paper: str) -> None:
    assert find_quote(paper, "in an international collaboration between four laboratories") \
        is None
    message = explain_miss(paper, "in an international collaboration between four laboratories")
    assert '"four" in the quote, "three" in the source' in message
    assert "Warmup" not in message and "Sparse Mixtures" not in message


def test_explain_miss_excerpt_starts_and_ends_on_word_boundaries(paper: str) -> None:
    long_quote = " ".join(paper.split("\f")[0].split()[10:60]).replace("experts", "expert")
    message = explain_miss(paper, long_quote)
    excerpt = message.split('"')[1]
    assert " … " in excerpt
    head, tail = excerpt.split(" … ")
    assert head.split()[-1] in paper.split() and tail.split()[0] in paper.split()


# --- 7. count-noun units and short quotes ------------------------------------------------


@pytest.mark.parametrize(("claim", "quote"), [
    ("trained on 36M tokens", "a corpus of 36M sentences"),
    ("about 1.2 billion sentences", "it holds 1.2 billion documents"),
    ("a 40GB corpus", "a 40GiB corpus"),
    ("took 500 GPU days", "took 500 GPU hours"),
    ("300 pages of text", "300 documents of text"),
])
def test_compare_count_nouns_are_not_interchangeable(claim: str, quote: str) -> None:
    assert [i.kind for i in compare(claim, quote)] == ["unit-mismatch"]


@pytest.mark.parametrize(("claim", "quote"), [
    ("trained on 36M sentences", "a corpus of 36M sentences"),
    ("a 1 GiB cache", "a cache of 1,024 MiB"),
    ("it has 32,000 GPU hours", "a total of about 32,000 GPU hours"),
])
def test_compare_count_nouns_near_misses_agree(claim: str, quote: str) -> None:
    assert compare(claim, quote) == []


@pytest.mark.parametrize(("quote", "short"), [
    ("128", True), ("grouped", True), ("Llama 2", True), ("2 trillion", True),
    ("80 layers", False), ("36M tokens", False), ("trained on 2T tokens", False),
])
def test_is_too_short(quote: str, short: bool) -> None:
    assert is_too_short(quote) is short


# --- 8. source line numbers as `source show --text` prints them --------------------------


def test_shown_position_counts_page_header_lines(paper: str) -> None:
    from veriwiki.adapters.extract import PAGE_BREAK

    printed: list[str] = []
    for n, page in enumerate(paper.split(PAGE_BREAK), 1):
        printed.append(f"--- page {n} ---")
        printed.extend(page.removesuffix("\n").split("\n"))
    for word in ("national collaboration", "Limitations.", "We study small"):
        offset = paper.index(word)
        page, line = shown_position(paper, offset)
        assert word in printed[line - 1]
        assert printed[: line][::-1].index(next(p for p in printed[:line][::-1]
                                                if p.startswith("--- page"))) >= 0
        assert f"--- page {page} ---" in printed[:line]


# --- 5. page and section locators ----------------------------------------------------------


def test_check_locator_pages_and_sections(paper: str) -> None:
    from veriwiki.core.locators import check_locator

    match = find_quote(paper, "We release the weights of all models")
    assert match is not None and match.page == 4
    pages = (match.page, match.page)
    assert check_locator("p. 4", paper, match.start, match.end, pages) is None
    assert check_locator("pp. 3-4", paper, match.start, match.end, pages) is None
    issue = check_locator("p. 2", paper, match.start, match.end, pages)
    assert issue is not None and issue.actual == "p. 4"
    assert check_locator("Table 4", paper, match.start, match.end, pages) is None
    doc = "## 2 Data\nWe use web text.\n## 3 Training\n### 3.2 Schedule\nWarmup is 2000 steps.\n"
    at = doc.index("Warmup")
    assert check_locator("§3", doc, at, at + 6, (None, None)) is None
    assert check_locator("sec. 3.2", doc, at, at + 6, (None, None)) is None
    wrong = check_locator("section 2", doc, at, at + 6, (None, None))
    assert wrong is not None and wrong.actual.startswith("section 3.2")
    assert check_locator("p. 9", doc, at, at + 6, (None, None)) is None  # no pages


# --- 6. variant qualifiers in fact pairing ------------------------------------------------


def _contradictions(facts: list[object], page: str) -> list[int]:
    from veriwiki.checks import CheckContext
    from veriwiki.checks.inputs import CheckInputs
    from veriwiki.checks.rules.fact_contradiction import fact_contradiction
    from veriwiki.core.parse import parse_page

    parsed = [parse_page("wiki/GPT-2.md", page)]
    ctx = CheckContext(CheckInputs(index_page="wiki/index.md", log_page="wiki/log.md",
                                   facts=list(facts)), parsed)
    return [f.line for f in fact_contradiction(ctx)]


def _gpt2_fact(quote: str) -> object:
    from veriwiki.core.facts import Fact

    return Fact("GPT-2", "parameters", "1.5B", None, "gpt2", quote, None, "wiki/GPT-2.md", 4)


@pytest.mark.parametrize(("sentence", "flagged"), [
    ("The smallest GPT-2 has 117M parameters [@gpt2, \"the smallest model has 117M\"].", False),
    ("The 345M model has 345M parameters [@gpt2, \"a 345M model with 345M parameters\"].", False),
    ("GPT-2 124M has 124M parameters [@gpt2, \"GPT-2 124M with 124M parameters\"].", False),
    ("GPT-2 has 117M parameters [@gpt2, \"the smallest model has 117M parameters\"].", True),
    ("The largest GPT-2 has 1.2B parameters [@gpt2, \"the largest model, 1.2B\"].", True),
])
def test_fact_contradiction_scopes_variant_sentences(sentence: str, flagged: bool) -> None:
    page = "---\ntitle: GPT-2\ntype: model\n---\n# GPT-2\n\n" + sentence + "\n"
    fact = _gpt2_fact("the largest model has 1.5B parameters")
    assert bool(_contradictions([fact], page)) is flagged


def test_variant_qualifiers() -> None:
    from veriwiki.core.variants import variant_qualifiers

    assert variant_qualifiers("the smallest GPT-2 has 117M parameters") == {"smallest"}
    assert variant_qualifiers("the 7B model uses 32 layers") == {"7b"}
    assert variant_qualifiers("GPT-3 has 175B parameters and a large vocabulary") == set()
    assert variant_qualifiers("GPT-2 124M has 12 layers", [(0, 5)]) == {"124m"}


# --- the real-text fixture: every class end to end -----------------------------------------

REALWORLD = Path(__file__).parent / "fixtures" / "realworld"


@pytest.fixture(scope="module")
def realworld(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The real-text fixture as a vault (the PDF made here), and its check findings."""
    base = tmp_path_factory.mktemp("realworld")
    copy = base / "fixture"
    shutil.copytree(REALWORLD, copy)
    (copy / "sources" / "sparse-paper.pdf").write_bytes(make_paper_pdf())
    vault = fixture_vault(copy, base / "vault")
    proc = run_cli(["check", "--json"], vault)
    assert proc.returncode == 1, proc.stderr
    return vault, json.loads(proc.stdout)["findings"]


def test_realworld_fixture_findings_match_golden(
        realworld: tuple[Path, list[dict[str, Any]]]) -> None:
    missed, invented = golden_diff(realworld[1], REALWORLD / "expected.json")
    assert not missed and not invented, f"missed: {sorted(missed)}\ninvented: {sorted(invented)}"


def test_realworld_labels_cover_every_citation_and_match_expected() -> None:
    labels = yaml.safe_load((REALWORLD / "labels.yaml").read_text("utf-8"))
    planted = {(f"wiki/{page}", line, rule) for page, lines in labels.items()
               for line, (_, rule) in lines.items() if rule != "none"}
    expected = {(e["path"], e["line"], e["rule"])
                for e in json.loads((REALWORLD / "expected.json").read_text("utf-8"))}
    assert planted == expected
    for page, lines in labels.items():
        text = (REALWORLD / "wiki" / page).read_text("utf-8").splitlines()
        cited = {n for n, line in enumerate(text, 1) if "[@" in line}
        assert cited == set(lines), page


def test_realworld_wrong_source_message_names_the_right_source_and_place(
        realworld: tuple[Path, list[dict[str, Any]]]) -> None:
    vault, findings = realworld
    messages = {(f["path"], f["line"]): f["message"] for f in findings}
    assert messages[("wiki/Sparse paper.md", 20)].startswith(
        "quote not found in @attention-note; it occurs in @sparse-paper (p. 3)")
    gpt2 = messages[("wiki/GPT-2.md", 32)]
    line = int(re.search(r"@gpt2-card \(line (\d+)\)", gpt2)[1])  # type: ignore[index]
    shown = run_cli(["source", "show", "gpt2-card", "--text"], vault).stdout.splitlines()
    assert "The top 15 domains by volume in WebText" in shown[line - 1]


def test_realworld_pdf_near_miss_points_at_the_printed_line(
        realworld: tuple[Path, list[dict[str, Any]]]) -> None:
    vault, findings = realworld
    message = next(f["message"] for f in findings
                   if (f["path"], f["line"]) == ("wiki/Sparse paper.md", 17))
    page, line = map(int, re.search(r"\(p\. (\d+), line (\d+),", message).groups())  # type: ignore[union-attr]
    shown = run_cli(["source", "show", "sparse-paper", "--text"], vault).stdout.splitlines()
    assert "in an inter-" in shown[line - 1]
    assert shown.index(f"--- page {page} ---") < line - 1 < shown.index(f"--- page {page + 1} ---")


def test_realworld_locator_and_variant_messages(
        realworld: tuple[Path, list[dict[str, Any]]]) -> None:
    messages = {(f["path"], f["line"]): f for f in realworld[1]}
    locator = messages[("wiki/Sparse paper.md", 19)]
    assert locator["severity"] == "warning" and "it is on p. 4" in locator["message"]
    assert messages[("wiki/GPT-2.md", 31)]["severity"] == "warning"


def _check_json(vault: Path, *extra: str) -> list[dict[str, Any]]:
    proc = run_cli(["check", "--json", *extra], vault)
    assert proc.returncode in (0, 1), proc.stderr
    return list(json.loads(proc.stdout)["findings"])


def test_realworld_new_source_holding_a_missing_quote_warm_equals_cold(
        realworld: tuple[Path, list[dict[str, Any]]], tmp_path: Path) -> None:
    """The wrong-source hint depends on every source: adding one must reach cached pages."""
    vault = tmp_path / "vault"
    shutil.copytree(realworld[0], vault, symlinks=True)
    _check_json(vault)  # warm the caches
    extra = tmp_path / "engineers.md"
    extra.write_text("# Survey\n\nThe primary intended users of these models are AI engineers "
                     "and practitioners.\n", encoding="utf-8")
    assert run_cli(["add", str(extra)], vault).returncode == 0
    warm = _check_json(vault)
    cold = _check_json(vault, "--no-cache")
    assert warm == cold
    message = next(f["message"] for f in warm if (f["path"], f["line"]) == ("wiki/GPT-2.md", 28))
    assert "it occurs in @engineers (line 3)" in message


def test_render_drops_list_markers_and_strikethrough() -> None:
    text = "- **Writing assistance**: Grammar\n1. All models, data.\n2. All models feature 154\n" \
           "~~old~~ new and 3 ~ 4\n"
    assert render(text).text.split("\n")[:4] == [
        "Writing assistance: Grammar", "All models, data.", "All models feature 154",
        "old new and 3 ~ 4"]
    assert find_quote(text, "All models, data. All models feature 154") is not None
