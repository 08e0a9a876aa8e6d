"""Golden fixture for the citation rules: markdown and sources in, findings out.

Each planted error sits next to a near miss that must not be flagged (see the
fixture pages): a correct quote, an equal number in another form (4K vs 4096,
3e-4 vs 3 × 10⁻⁴), curly quotes and dashes, a hyphenated line break in the source.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from golden import fixture_vault, golden_diff, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "citations"
CITATION_RULES = {"unknown-source", "quote-not-found", "number-mismatch", "unit-mismatch",
                  "uncited-claim"}


def _run(args: list[str], vault: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(args, vault)


def _vault(tmp_path: Path) -> Path:
    return fixture_vault(FIXTURE, tmp_path / "vault")


def test_check_citation_fixture_findings_match_golden(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    proc = _run(["check", "--json"], vault)
    assert proc.returncode == 1, proc.stderr
    missed, invented = golden_diff(json.loads(proc.stdout)["findings"],
                                   FIXTURE / "expected.json")
    assert not missed and not invented, f"missed: {sorted(missed)}\ninvented: {sorted(invented)}"


def test_check_quote_not_found_message_names_closest_passage(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    proc = _run(["check", "--json", "--rule", "quote-not-found"], vault)
    messages = [f["message"] for f in json.loads(proc.stdout)["findings"]]
    assert any('"slightly over 8 million documents"' in m and "line 3" in m and
               '"docs"' in m for m in messages), messages


def test_check_fixing_the_quote_clears_the_finding(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    page = vault / "wiki" / "GPT-2.md"
    page.write_text(page.read_text("utf-8").replace("8 million docs", "8 million documents"),
                    encoding="utf-8")
    proc = _run(["check", "--json", "--rule", "quote-not-found"], vault)
    paths = [(f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]]
    assert ("wiki/GPT-2.md", 10) not in paths


def test_check_citation_rules_are_registered_with_defaults(tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    proc = _run(["check", "--json"], vault)
    severities = {(f["rule"], f["severity"]) for f in json.loads(proc.stdout)["findings"]
                  if f["rule"] in CITATION_RULES}
    assert ("uncited-claim", "warning") in severities
    assert ("quote-not-found", "error") in severities
