"""Facts: the domain, the loaders, ``{{refs}}`` and the four fact rules.

The golden fixture (tests/fixtures/facts) plants one error per rule next to near misses
that must not be flagged: 4K vs 4096 and ``context length`` vs ``context_length``,
facts with different ``as_of`` dates, a quote giving ``12,288`` for 12288, a sentence
naming two entities or two attributes, references in code, an alias as entity.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

from golden import fixture_vault, run_cli
from veriwiki.core.facts import Fact, norm_key, parse_ref, render_fact_refs, same_value
from veriwiki.core.parse import parse_page
from veriwiki.core.records import page_from_json, page_to_json
from veriwiki.services.facts import read_csv, read_yaml, typed_facts

FIXTURE = Path(__file__).parent / "fixtures" / "facts"
FACT_RULES = {"fact-conflict", "fact-contradiction", "unknown-fact", "fact-citation"}


def _fact(value: str, unit: str | None = None, *, entity: str = "Llama 2",
          attribute: str = "layers", as_of: str | None = None, source: str | None = None,
          origin: str = "data/a.csv", line: int = 2) -> Fact:
    return Fact(entity, attribute, value, unit, source, None, as_of, origin, line)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(args, cwd)


def _vault(tmp_path: Path) -> Path:
    return fixture_vault(FIXTURE, tmp_path / "vault")


def _findings(vault: Path, *rules: str) -> list[dict[str, object]]:
    args = ["check", "--json"] + [a for r in rules for a in ("--rule", r)]
    proc = _run(args, vault)
    assert proc.returncode in (0, 1), proc.stderr
    return list(json.loads(proc.stdout)["findings"])


# --- domain -----------------------------------------------------------------------------

def test_norm_key_spaces_underscores_hyphens_and_case_are_equal() -> None:
    assert norm_key("Context_Length") == norm_key("context length") == norm_key("context-length")
    assert norm_key("Llama 2") != norm_key("Llama 3")


def test_same_value_compares_numbers_by_value() -> None:
    assert same_value(_fact("4K"), _fact("4096"))
    assert same_value(_fact("2T"), _fact("2 trillion", "tokens"))
    assert same_value(_fact("12288"), _fact("12,288"))
    assert not same_value(_fact("80"), _fact("60"))
    assert not same_value(_fact("4096", "tokens"), _fact("4096", "layers"))


def test_same_value_compares_text_after_folding() -> None:
    assert same_value(_fact("RoPE"), _fact("rope"))
    assert same_value(_fact("decoder-only  transformer"), _fact("Decoder-only transformer"))
    assert not same_value(_fact("RoPE"), _fact("ALiBi"))
    assert not same_value(_fact("cosine to 10% of peak"), _fact("10%"))


def test_parse_ref_splits_at_the_last_dot() -> None:
    assert parse_ref("Qwen2.5.layers") == ("Qwen2.5", "layers")
    assert parse_ref("no dot") is None
    assert parse_ref(" .x") is None


def test_render_fact_refs_shows_value_unit_and_source() -> None:
    facts = [_fact("4096", "tokens", attribute="context_length", source="llama2"),
             _fact("80"),
             _fact("8K", entity="GPT-4", attribute="context", as_of="2023-03-14"),
             _fact("128K", entity="GPT-4", attribute="context", as_of="2023-11-06")]
    text = ("{{llama-2.context length}} / {{Llama 2.layers}} / {{GPT-4.context}} / "
            "{{Gemma.layers}}")
    assert render_fact_refs(text, facts) == (
        "4096 tokens [@llama2] / 80 / 128K / {{Gemma.layers}}")


# --- parsing ------------------------------------------------------------------------------

def test_parse_fact_refs_skip_code_and_survive_the_index() -> None:
    text = ("---\ntitle: N\n---\nIt has {{Llama 2.layers}} layers, not `{{A.b}}`.\n\n"
            "```\n{{C.d}}\n```\n\n- and {{GPT-3.context_length}} [[x]]\n")
    for for_index in (True, False):
        page = parse_page("wiki/N.md", text, for_index=for_index)
        assert page.fact_refs == (("Llama 2", "layers", 4, 8),
                                  ("GPT-3", "context_length", 10, 7)), for_index
    again = page_from_json(page.path, page_to_json(page))
    assert again.fact_refs == page.fact_refs


# --- loading ------------------------------------------------------------------------------

def test_read_csv_reads_rows_ignores_extra_columns_and_names_bad_lines() -> None:
    text = ("entity,attribute,value,unit,source,quote,as_of,extra\n"
            'Llama 2,layers,80,,llama2,"80 layers, deep",2023-07-18,x\n'
            "Llama 2,heads,,,,,,\n"
            "Llama 2,vocab,32000,,,,July 2023,\n"
            "Llama 2,width,8192,,,a quote without source,,\n")
    facts, problems = read_csv("data/a.csv", text)
    assert [(f.attribute, f.value, f.source_id, f.quote, f.as_of, f.line) for f in facts] == [
        ("layers", "80", "llama2", "80 layers, deep", "2023-07-18", 2)]
    assert [(p.path, p.line) for p in problems] == [
        ("data/a.csv", 3), ("data/a.csv", 4), ("data/a.csv", 5)]
    assert "'value'" in problems[0].message and "as_of" in problems[1].message


def test_read_csv_without_required_header_is_one_problem() -> None:
    facts, problems = read_csv("data/a.csv", "name,value\nx,1\n")
    assert facts == [] and len(problems) == 1 and "entity" in problems[0].message


def test_read_yaml_mapping_and_list_forms_keep_values_as_written() -> None:
    facts, problems = read_yaml("data/m.yaml", (
        "GPT-3:\n  layers: 96\n  lr: 6.0e-5\n  vocab:\n    value: 50257\n"
        "    source: GPT3\n    quote: \"50257\"\n    as_of: 2020-05-28\n"))
    assert not problems
    assert [(f.entity, f.attribute, f.value, f.line) for f in facts] == [
        ("GPT-3", "layers", "96", 2), ("GPT-3", "lr", "6.0e-5", 3), ("GPT-3", "vocab", "50257", 4)]
    assert facts[2].source_id == "gpt3" and facts[2].as_of == "2020-05-28"
    facts, problems = read_yaml("data/l.yml", (
        "- {entity: A, attribute: b, value: 1, unit: tokens}\n- just text\n"
        "- {entity: A, attribute: c}\n"))
    assert [(f.attribute, f.unit, f.line) for f in facts] == [("b", "tokens", 1)]
    assert [p.line for p in problems] == [2, 3]


def test_read_yaml_syntax_error_names_the_line() -> None:
    facts, problems = read_yaml("data/bad.yaml", "A:\n  b: 1\n  c: [unclosed\n")
    assert facts == [] and problems[0].path == "data/bad.yaml" and problems[0].line >= 3


def test_typed_facts_come_from_model_fields_with_their_lines() -> None:
    text = ("---\ntitle: Llama 2\ntype: model\nparameters: 70B\narchitecture:\n"
            "  family: decoder-only\n  layers: 80\ntraining:\n  tokens: 2T\n---\n# x\n")
    page = parse_page("wiki/Llama 2.md", text)
    got = typed_facts(page, text.split("\n"))
    assert [(f.entity, f.attribute, f.value, f.line) for f in got] == [
        ("Llama 2", "parameters", "70B", 4), ("Llama 2", "family", "decoder-only", 6),
        ("Llama 2", "layers", "80", 7), ("Llama 2", "tokens", "2T", 9)]
    assert [f.line for f in typed_facts(page)] == [4, 5, 5, 8]  # without the file: best effort


# --- rules, through the real CLI --------------------------------------------------------

def test_check_fact_fixture_findings_match_golden(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    proc = _run(["check", "--json"], vault)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    got = Counter((f["rule"], f["path"], f["line"]) for f in findings)
    want = Counter((e["rule"], e["path"], e["line"])
                   for e in json.loads((FIXTURE / "expected.json").read_text("utf-8")))
    missed, invented = want - got, got - want
    assert not missed and not invented, f"missed: {sorted(missed)}\ninvented: {sorted(invented)}"
    assert {f["severity"] for f in findings if f["rule"] in FACT_RULES} == {"error"}


def test_check_fact_messages_name_the_other_place(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    messages = {(f["rule"], f["path"], f["line"]): str(f["message"])
                for f in _findings(vault, *sorted(FACT_RULES))}
    assert "data/models.csv:6" in messages[("fact-conflict", "data/more.yaml", 2)]
    assert "data/models.csv:3" in messages[("fact-conflict", "wiki/Llama 2.md", 8)]
    assert "wiki/Llama 2.md:7" in messages[("fact-contradiction", "wiki/Notes.md", 7)]
    assert '"vocabulary size of 32k tokens"' in messages[("fact-citation", "data/models.csv", 5)]
    assert "number-mismatch" in messages[("fact-citation", "data/more.yaml", 11)]


def test_check_fixing_the_table_clears_conflict_and_contradiction(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    yaml_file = vault / "data" / "more.yaml"
    yaml_file.write_text(yaml_file.read_text("utf-8").replace("layers: 94", "layers: 96"),
                         encoding="utf-8")
    page = vault / "wiki" / "Notes.md"
    page.write_text(page.read_text("utf-8").replace("60 layers", "80 layers"), encoding="utf-8")
    places = {(f["rule"], f["path"]) for f in _findings(vault, *sorted(FACT_RULES))}
    assert ("fact-conflict", "data/more.yaml") not in places
    assert ("fact-contradiction", "wiki/Notes.md") not in places
    assert ("fact-conflict", "wiki/Llama 2.md") in places


def test_check_dated_facts_conflict_only_at_the_same_date(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    table = vault / "data" / "models.csv"
    table.write_text(table.read_text("utf-8").replace(",,,2023-11-06", ",,,2023-03-14"),
                     encoding="utf-8")
    hits = [f for f in _findings(vault, "fact-conflict") if f["path"] == "data/models.csv"]
    assert [f["line"] for f in hits] == [9]


def _contradictions(facts: list[Fact], *pages: str) -> list[tuple[str, int, str]]:
    from veriwiki.checks import CheckContext
    from veriwiki.checks.inputs import CheckInputs
    from veriwiki.checks.rules.fact_contradiction import fact_contradiction

    parsed = [parse_page(f"wiki/P{i}.md", text) for i, text in enumerate(pages)]
    ctx = CheckContext(CheckInputs(index_page="wiki/index.md", log_page="wiki/log.md",
                                   facts=list(facts)), parsed)
    return [(f.path, f.line, f.message) for f in fact_contradiction(ctx)]


def test_fact_contradiction_prefers_the_longest_entity_name() -> None:
    facts = [_fact("32"), _fact("80", entity="Llama 2 70B")]
    page = ("Llama 2 70B has 80 layers [@x, \"80 layers\"].\n"
            "Llama 2 has 32 layers [@x, \"32 layers\"].\n"
            "Llama 2 70B has a depth of 32 [@x, \"32\"].\n")
    got = _contradictions(facts, page)
    assert [(p, line) for p, line, _ in got] == [("wiki/P0.md", 3)]
    assert "Llama 2 70B.layers = 80" in got[0][2]


def test_fact_contradiction_skips_uncited_and_unit_mismatched_numbers() -> None:
    facts = [_fact("4096", "tokens", attribute="context_length")]
    page = ("Llama 2 has a context window of 2048 tokens.\n\n"
            "Llama 2 has a context of 2048 layers [@x, \"2048 layers\"].\n")
    assert _contradictions(facts, page) == []
