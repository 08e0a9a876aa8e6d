"""``check --llm``: the model-derived rules, with a scripted judge (FakeModel) on real
vaults, the CLI without and with --llm, and one slow run with the embedded SmolLM2.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Veriwiki, describe
from veriwiki import api
from veriwiki.ai.fake import FakeModel
from veriwiki.ai.provider import Meter
from veriwiki.core.model import Finding, Severity
from veriwiki.services.llm_lint import LintReport, MemoryCache, lint_with_model
from veriwiki.vault import Vault

Put = Callable[[Path, str, str], Path]
MODEL_RULES = ("possible-contradiction", "missing-page", "suggested-link")

LLAMA = ("---\ntitle: Llama 2\n---\n# Llama 2\n\n"
         "Llama 2 was released by Meta in July 2023.\n")
META = ("# Meta\n\nMeta builds open models for research groups.\n\n"
        "The Llama 2 model family was released by Google in July 2023.\n")
MOE = "# {t}\n\nSome models route tokens through a **Sparse Mixer** layer.\n"


def _vault(tmp_path: Path, pages: dict[str, str], toml: str = "") -> Vault:
    root = tmp_path / "v"
    api.init_vault(root)
    for name, text in pages.items():
        path = root / "wiki" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if toml:
        _set_checks(root, toml)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "pages"], check=True)
    return api.open_vault(root)


def _set_checks(root: Path, entries: str) -> None:
    """Add ``entries`` (``rule = "severity"`` lines) to the [checks] table of the vault."""
    config = root / "veriwiki.toml"
    text = config.read_text(encoding="utf-8")
    assert "\n[checks]\n" in text
    config.write_text(text.replace("\n[checks]\n", "\n[checks]\n" + entries, 1),
                      encoding="utf-8")


def _yes(prompt: str) -> dict[str, Any]:
    return {"answer": True, "reason": "they agree"}


def _no(prompt: str) -> dict[str, Any]:
    return {"answer": False, "reason": "not so"}


def _lint(vault: Vault, judge: FakeModel, **kw: Any) -> LintReport:
    kw.setdefault("cache", MemoryCache())
    return lint_with_model(vault, judge, Meter(), **kw)


def _of(report: LintReport, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


def _asked(judge: FakeModel, marker: str) -> list[str]:
    return [p for p in judge.prompts if marker in p]


# -- suggested-link -----------------------------------------------------------------------

def test_suggested_link_confirmed_mention_is_reported_with_origin(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {
        "Transformer": "# Transformer\n\nAn architecture built on attention.\n",
        "Notes": "# Notes\n\nIntro line.\nOur model is a transformer decoder.\n",
    })
    judge = FakeModel(_yes, model_id="judge-x")
    found = _of(_lint(vault, judge, only=["suggested-link"]), "suggested-link")
    assert [(f.path, f.line, f.column) for f in found] == [("wiki/Notes.md", 4, 16)]
    f = found[0]
    assert f.origin == "model:judge-x" and f.severity is Severity.WARNING
    assert f.to_json()["origin"] == "model:judge-x"
    assert "'transformer' names the page wiki/Transformer.md" in f.message
    assert f.hint == "link it: [[Transformer|transformer]]"
    assert len(judge.prompts) == 1 and "Our model is a transformer decoder." in judge.prompts[0]


def test_suggested_link_not_when_judge_says_no_or_already_linked(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {
        "Transformer": "# Transformer\n\nAn architecture built on attention.\n",
        "Notes": "# Notes\n\nA transformer decoder.\n",
        "Linked": "# Linked\n\nSee [[Transformer]]. The Transformer again.\n",
        "Code": "# Code\n\n`Transformer` in code, and [the paper](http://x/Transformer).\n",
    })
    judge = FakeModel(_no)
    report = _lint(vault, judge, only=["suggested-link"])
    assert report.findings == []
    # Linked links it already; Code names it only in code and in a link
    assert len(judge.prompts) == 1 and '"A transformer decoder."' in judge.prompts[0]
    assert report.rules["suggested-link"].candidates == 1


# -- missing-page -------------------------------------------------------------------------

def test_missing_page_term_on_three_pages_is_reported_on_first(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {
        "A": MOE.format(t="A"), "B": MOE.format(t="B"),
        "C": "# C\n\nIntro.\n\nLinks to [[Sparse Mixer]] too.\n",
        "Two": "# Two\n\nThe **Gated Unit** appears.\n",
        "Three": "# Three\n\nThe **Gated Unit** again.\n",
    })
    judge = FakeModel(_yes)
    found = _of(_lint(vault, judge, only=["missing-page"]), "missing-page")
    assert [(f.path, f.line) for f in found] == [("wiki/A.md", 3)]
    assert found[0].origin == "model:fake"
    assert "'Sparse Mixer' is mentioned on 3 pages" in found[0].message
    assert 'veriwiki new "Sparse Mixer"' in (found[0].hint or "")
    # "Gated Unit" is on two pages only: not a candidate, never asked about
    assert len(judge.prompts) == 1 and not _asked(judge, "Gated Unit")


def test_missing_page_not_when_judge_says_no_or_page_exists(tmp_path: Path) -> None:
    pages = {"A": MOE.format(t="A"), "B": MOE.format(t="B"), "C": MOE.format(t="C")}
    judge = FakeModel(_no)
    assert _lint(_vault(tmp_path / "1", pages), judge, only=["missing-page"]).findings == []
    assert len(judge.prompts) == 1
    pages["Mixer"] = "---\naliases: [Sparse Mixer]\n---\n# Mixer\n\nA layer.\n"
    judge = FakeModel(_yes)
    assert _lint(_vault(tmp_path / "2", pages), judge, only=["missing-page"]).findings == []
    assert judge.prompts == []


# -- possible-contradiction ---------------------------------------------------------------

def test_contradiction_confirmed_on_later_claim_naming_the_other(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {"Llama 2": LLAMA, "Meta": META})
    judge = FakeModel(lambda p: {"answer": "Google" in p and "Meta in July" in p,
                                 "reason": "Meta vs Google"})
    found = _of(_lint(vault, judge, only=["possible-contradiction"]), "possible-contradiction")
    assert [(f.path, f.line) for f in found] == [("wiki/Meta.md", 5)]
    assert found[0].message.startswith(
        'may contradict wiki/Llama 2.md:6: "Llama 2 was released by Meta in July 2023."')
    assert found[0].message.endswith("(judge: Meta vs Google)")
    assert found[0].origin == "model:fake"


def test_contradiction_not_when_judge_says_no(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {"Llama 2": LLAMA, "Meta": META})
    judge = FakeModel(_no)
    report = _lint(vault, judge, only=["possible-contradiction"])
    assert report.findings == [] and len(judge.prompts) >= 1
    assert report.rules["possible-contradiction"].judged == len(judge.prompts)


def test_contradiction_cited_claims_on_one_page(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {"Model": (
        "# Model\n\nThe model uses learned absolute position embeddings [@a, \"x\"].\n\n"
        "Unrelated prose about training data and tokenizers.\n\n"
        "The model uses rotary position embeddings instead [@b, \"y\"].\n")})
    judge = FakeModel(_yes)
    found = _of(_lint(vault, judge, only=["possible-contradiction"]), "possible-contradiction")
    assert [(f.path, f.line) for f in found] == [("wiki/Model.md", 7)]
    assert "wiki/Model.md:3" in found[0].message
    assert '@a' not in judge.prompts[0]  # citations are not sent, only the sentences


# -- cap, cache, severity, bad replies ------------------------------------------------------

def test_cap_limits_judge_calls_per_rule(tmp_path: Path) -> None:
    pages = {"Hub": "# Hub\n\nThe central page.\n"}
    pages |= {f"P{i}": f"# P{i}\n\nThis page {i} mentions the hub once.\n" for i in range(6)}
    vault = _vault(tmp_path, pages)
    judge = FakeModel(_yes)
    report = _lint(vault, judge, only=["suggested-link"], max_calls=2)
    stats = report.rules["suggested-link"]
    assert (stats.candidates, stats.judged, stats.capped) == (6, 2, 4)
    assert len(judge.prompts) == 2 and len(report.findings) == 2
    assert [f.path for f in report.findings] == ["wiki/P0.md", "wiki/P1.md"]  # stable order
    judge = FakeModel(_yes)
    assert _lint(vault, judge, only=["suggested-link"], max_calls=0).findings == []
    assert judge.prompts == []


def test_second_run_on_unchanged_vault_makes_no_model_calls(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {"Llama 2": LLAMA, "Meta": META, "A": MOE.format(t="A"),
                              "B": MOE.format(t="B"), "C": MOE.format(t="C")})
    first = FakeModel(_yes, model_id="j")
    meter = Meter()
    report = lint_with_model(vault, first, meter)  # the vault's persistent cache
    assert {f.rule for f in report.findings} == set(MODEL_RULES)
    assert meter.to_json()["judge"]["calls"] == len(first.prompts) > 0
    again = FakeModel(_no, model_id="j")
    meter2 = Meter()
    report2 = lint_with_model(api.open_vault(vault.root), again, meter2)
    assert again.prompts == [] and meter2.to_json() == {}
    assert report2.findings == report.findings
    assert sum(s.cached for s in report2.rules.values()) == len(first.prompts)
    other = FakeModel(_no, model_id="another-judge")  # the cache is per judge model
    assert lint_with_model(vault, other, Meter()).findings == [] and other.prompts


def test_severity_from_config_and_off(tmp_path: Path) -> None:
    toml = 'suggested-link = "error"\nmissing-page = "off"\n'
    vault = _vault(tmp_path, {"Hub": "# Hub\n\nx.\n", "P": "# P\n\nIt names the hub.\n",
                              "A": MOE.format(t="A"), "B": MOE.format(t="B"),
                              "C": MOE.format(t="C")}, toml)
    judge = FakeModel(_yes)
    report = _lint(vault, judge)
    assert {(f.rule, f.severity) for f in report.findings} == {("suggested-link", Severity.ERROR)}
    assert "missing-page" not in report.rules and not _asked(judge, "Sparse Mixer")
    strict = _lint(vault, FakeModel(_yes), strict=True, only=["possible-contradiction"])
    assert strict.findings == [] and list(strict.rules) == ["possible-contradiction"]


def test_invalid_judge_reply_gives_no_finding_and_is_not_cached(tmp_path: Path) -> None:
    vault = _vault(tmp_path, {"Hub": "# Hub\n\nx.\n", "P": "# P\n\nIt names the hub.\n"})
    judge = FakeModel("I think so, probably.")
    cache = MemoryCache()
    report = _lint(vault, judge, only=["suggested-link"], cache=cache)
    assert report.findings == [] and report.rules["suggested-link"].unanswered == 1
    assert len(judge.prompts) == 3  # first try + [llm] retries (2)
    assert cache.data == {}


# -- CLI --------------------------------------------------------------------------------------

@pytest.fixture
def cli_vault(vw: Veriwiki, vault: Path, put: Put) -> Path:
    put(vault, "wiki/Llama 2.md", LLAMA)
    put(vault, "wiki/Meta.md", META)
    for t in "ABC":
        put(vault, f"wiki/{t}.md", MOE.format(t=t))
    return vault




def test_cli_check_without_llm_is_unchanged_and_accepts_model_rule_ids(
        vw: Veriwiki, cli_vault: Path) -> None:
    before_json = vw("check", "--json")
    before_text = vw("check")
    data = json.loads(before_json.stdout)
    assert "llm" not in data and all("origin" not in f for f in data["findings"])
    assert not {f["rule"] for f in data["findings"]} & set(MODEL_RULES)
    assert "[model" not in before_text.stdout + before_text.stderr
    # the three ids are valid [checks] keys; without --llm they change nothing
    _set_checks(cli_vault, "".join(f'{r} = "error"\n' for r in MODEL_RULES))
    for args, before in ((("--json",), before_json), ((), before_text)):
        after = vw("check", *args)
        assert (after.returncode, after.stdout, after.stderr) == \
            (before.returncode, before.stdout, before.stderr), describe(after)
    proc = vw("check", "--rule", "suggested-link", "--json")
    assert proc.returncode == 0, describe(proc)
    assert json.loads(proc.stdout)["findings"] == []


def test_cli_check_rejects_unknown_rule_ids_still(vw: Veriwiki, cli_vault: Path) -> None:
    _set_checks(cli_vault, 'suggested-links = "off"\n')
    proc = vw("check")
    assert proc.returncode == 2 and "suggested-links" in proc.stderr, describe(proc)
    assert "suggested-link," in proc.stderr  # listed among the known rules


def test_cli_model_option_needs_llm_and_unknown_model_is_config_error(
        vw: Veriwiki, cli_vault: Path) -> None:
    proc = vw("check", "--model", "SmolLM2")
    assert proc.returncode == 2 and "--llm" in proc.stderr, describe(proc)
    proc = vw("check", "--llm", "--model", "no-such-model-xyz", "--json")
    assert proc.returncode == 2, describe(proc)
    assert "unknown model 'no-such-model-xyz'" in proc.stderr and proc.stdout == ""


@pytest.mark.slow
def test_cli_check_llm_with_embedded_smollm2(vw: Veriwiki, cli_vault: Path) -> None:
    import llama_cpp  # noqa: F401  (a dependency: missing means failure, not a skip)
    vw = Veriwiki(vw.env, vw.vault, timeout=900)  # a local model on a busy CI machine
    proc = vw("check", "--llm", "--model", "SmolLM2", "--llm-limit", "1", "--json")
    assert proc.returncode in (0, 1), describe(proc)
    data = json.loads(proc.stdout)
    llm = data["llm"]
    assert llm["judge"] == "SmolLM2"
    assert llm["usage"]["judge"]["calls"] > 0
    assert llm["usage"]["judge"]["cost_usd"] == 0  # local model
    assert all(s["judged"] <= 1 for s in llm["rules"].values())
    for f in data["findings"]:
        assert (f["rule"] in MODEL_RULES) == (f.get("origin") == "model:SmolLM2")
    # human output: the labels, and usage on stderr; the answers now come from the cache
    proc = vw("check", "--llm", "--llm-limit", "1")
    assert proc.returncode in (0, 1), describe(proc)
    assert "judge SmolLM2: 0 calls" in proc.stderr and "from the cache" in proc.stderr
    assert ("[model: SmolLM2]" in proc.stdout) == any(
        f["rule"] in MODEL_RULES for f in data["findings"])
