"""The five-paper fixture: real published numbers, one planted error of each kind.

GPT-2, GPT-3, Llama 2, Llama 3 and DeepSeek-V2 pages cite short excerpts written from
the papers' wording. Every planted error must be found and nothing else flagged; the
passing check block (Llama 2's KV-cache ratio from the architecture facts) must pass.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from golden import fixture_vault, golden_diff, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "papers"


def _run(args: list[str], vault: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(args, vault, VERIWIKI_TODAY="2026-11-23")


@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vault = fixture_vault(FIXTURE, tmp_path_factory.mktemp("papers") / "vault",
                          VERIWIKI_TODAY="2026-11-23")
    # the DeepSeek-V2 excerpt changes: 8.1T becomes 8.2T in version 2
    proc = _run(["add", str(FIXTURE / "sources-v2" / "deepseek-v2.md")], vault)
    assert proc.returncode == 0 and "v2" in proc.stdout, proc.stdout + proc.stderr
    return vault


@pytest.mark.slow
def test_papers_every_planted_error_found_nothing_else(papers: Path) -> None:
    proc = _run(["check", "--json"], papers)
    assert proc.returncode == 1, proc.stderr
    missed, invented = golden_diff(json.loads(proc.stdout)["findings"],
                                   FIXTURE / "expected.json")
    assert not missed and not invented, f"missed: {sorted(missed)}\ninvented: {sorted(invented)}"


@pytest.mark.slow
def test_papers_kinds_of_error_all_planted(papers: Path) -> None:
    kinds = {e["rule"] for e in json.loads((FIXTURE / "expected.json").read_text("utf-8"))}
    assert kinds == {"quote-not-found", "number-mismatch", "unit-mismatch", "fact-conflict",
                     "code-failed", "stale-page", "stale-claim"}


@pytest.mark.slow
def test_papers_check_block_with_facts_passes(papers: Path) -> None:
    proc = _run(["check", "--json", "--rule", "code-failed", "--rule", "code-output"], papers)
    paths = {f["path"] for f in json.loads(proc.stdout)["findings"]}
    assert "wiki/models/Llama 2.md" not in paths
    assert paths == {"wiki/models/DeepSeek-V2.md"}
