"""The five-paper fixture: real published numbers, one planted error of each kind.

GPT-2, GPT-3, Llama 2, Llama 3 and DeepSeek-V2 pages cite short excerpts written from
the papers' wording. Every planted error must be found and nothing else flagged; the
passing check block (Llama 2's KV-cache ratio from the architecture facts) must pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "papers"


def _run(args: list[str], vault: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "veriwiki"
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", VERIWIKI_TODAY="2026-11-23")
    return subprocess.run([str(exe), "--vault", str(vault), *args], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def papers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vault = tmp_path_factory.mktemp("papers") / "vault"
    vault.mkdir()
    for name in ("veriwiki.toml", "wiki", "data"):
        src = FIXTURE / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, vault / name)
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    subprocess.run(["git", "-C", str(vault), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(vault), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "papers"], check=True)
    for src in sorted((FIXTURE / "sources").iterdir()):
        assert _run(["add", str(src)], vault).returncode == 0
    # the DeepSeek-V2 excerpt changes: 8.1T becomes 8.2T in version 2
    proc = _run(["add", str(FIXTURE / "sources-v2" / "deepseek-v2.md")], vault)
    assert proc.returncode == 0 and "v2" in proc.stdout, proc.stdout + proc.stderr
    return vault


@pytest.mark.slow
def test_papers_every_planted_error_found_nothing_else(papers: Path) -> None:
    proc = _run(["check", "--json"], papers)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    got = Counter((f["rule"], f["path"], f["line"]) for f in findings)
    want = Counter((e["rule"], e["path"], e["line"])
                   for e in json.loads((FIXTURE / "expected.json").read_text("utf-8")))
    assert got == want, f"missed: {sorted(want - got)}\ninvented: {sorted(got - want)}"


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
