"""The check after a small edit is incremental, and says exactly what a cold check says.

Each case warms the caches of a copy of the five-paper vault (``check``), makes one
kind of edit (a step or two), and after each step compares ``veriwiki check --json``
(which reuses the check cache and the name tables kept in it) with
``veriwiki check --json --no-cache`` (no cache at all): same exit code, same bytes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from golden import fixture_vault, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "papers"
TODAY = "2026-11-23"
NOTES = """---
title: Notes
type: concept
aliases: [Paper notes]
---
# Notes

GPT-2 has {{GPT-2.vocab}} tokens in its vocabulary; Llama 2 is {{Llama 2.license}}.
See [[GPT-2#GPT-2]], [[Llama 3]], [[DeepSeek-V2]] and [[Paper notes#Notes]].
GPT-3 was trained on 300 billion tokens [@gpt3, "trained for a total of 300 billion tokens"].
"""
GPT3 = Path("wiki/models/GPT-3.md")
NOTES_PATH = Path("wiki/Notes.md")

Step = Callable[[Path], None]


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five-paper fixture, every rule on, a notes page; checked once (caches warm)."""
    vault = fixture_vault(FIXTURE, tmp_path_factory.mktemp("papers") / "vault",
                          VERIWIKI_TODAY=TODAY)
    (vault / "veriwiki.toml").write_text('[vault]\nname = "papers"\n', encoding="utf-8")
    (vault / NOTES_PATH).write_text(NOTES, encoding="utf-8")
    (vault / "wiki" / "Glossary.md").write_text(
        "---\ntitle: Glossary\naliases: [Paper notes]\n---\n# Glossary\n\nSee [[Notes]].\n",
        encoding="utf-8")
    proc = run_cli(["check", "--json"], vault, VERIWIKI_TODAY=TODAY)
    assert proc.returncode in (0, 1), proc.stderr
    assert (vault / ".veriwiki" / "check-cache.db").is_file()
    return vault


def _edit(old: str, new: str, path: Path = NOTES_PATH) -> Step:
    def step(vault: Path) -> None:
        text = (vault / path).read_text(encoding="utf-8")
        assert old in text, old
        (vault / path).write_text(text.replace(old, new, 1), encoding="utf-8")
    return step


def _delete(path: Path) -> Step:
    return lambda vault: (vault / path).unlink()


def _write(path: Path, text: str) -> Step:
    return lambda vault: (vault / path).write_text(text, encoding="utf-8")


def _add_source(vault: Path) -> None:
    proc = run_cli(["add", str(FIXTURE / "sources-v2" / "deepseek-v2.md")], vault,
                   VERIWIKI_TODAY=TODAY)
    assert proc.returncode == 0, proc.stderr


BROKEN_QUOTE = '"trained for a total of 301 billion tokens"'
EDITS: dict[str, tuple[list[Step], Callable[[list[dict[str, Any]]], bool]]] = {
    # name: (the steps, a property of the findings after the first step)
    "body-text": ([_edit("in its vocabulary;", "in its vocabulary, we think;")],
                  lambda fs: any(f["path"] == str(NOTES_PATH) for f in fs)),
    "quote-broken-then-fixed": (
        [_edit('"trained for a total of 300 billion tokens"', BROKEN_QUOTE, GPT3),
         _edit(BROKEN_QUOTE, '"trained for a total of 300 billion tokens"', GPT3)],
        lambda fs: any(f["rule"] == "quote-not-found" and f["path"] == str(GPT3)
                       and "301" in f["message"] for f in fs)),
    "link-to-missing-page-added-then-removed": (
        [_edit("and [[Paper notes#Notes]].", "and [[Paper notes#Notes]] and [[Nowhere]]."),
         _edit(" and [[Nowhere]].", ".")],
        lambda fs: any(f["rule"] == "broken-link" and "Nowhere" in f["message"]
                       for f in fs)),
    "title-change": ([_edit("title: Llama 3", "title: GPT-3", Path("wiki/models/Llama 3.md"))],
                     lambda fs: any(f["rule"] == "duplicate-title"
                                    and f["path"] == "wiki/models/Llama 3.md" for f in fs)),
    "heading-change": ([_edit("# GPT-2\n", "# GPT two\n", Path("wiki/models/GPT-2.md"))],
                       lambda fs: any(f["rule"] == "broken-link" and "GPT-2#GPT-2"
                                      in f["message"] for f in fs)),
    "alias-claimed-twice-then-dropped": (
        [_edit("aliases: [Paper notes]", "aliases: [Paper notes, GPT-3]"),
         _edit("aliases: [Paper notes, GPT-3]", "aliases: [Paper notes]")],
        lambda fs: any(f["rule"] == "duplicate-title" and f["path"] == str(GPT3)
                       for f in fs)),
    "page-deleted": ([_delete(Path("wiki/models/GPT-2.md"))],
                     lambda fs: any(f["rule"] == "broken-link" and f["path"] == str(NOTES_PATH)
                                    for f in fs)),
    "page-added": ([_write(Path("wiki/Nowhere.md"),
                           "---\ntitle: Nowhere\naliases: [GPT-2]\n---\n"
                           "# Nowhere\n\nSee [[Llama 3]] and [[Missing page]].\n")],
                   lambda fs: any(f["rule"] == "duplicate-title"
                                  and f["path"] == "wiki/models/GPT-2.md" for f in fs)),
    "page-renamed": ([lambda v: (v / "wiki/models/Llama 3.md").rename(
                          v / "wiki/models/Llama Three.md")],
                     lambda fs: any(f["path"] == "wiki/models/Llama Three.md" for f in fs)),
    "source-changed": ([_add_source], lambda fs: any(f["rule"] == "stale-claim"
                                                     for f in fs)),
    "fact-changed": ([_edit("50257,token", "50300,token", Path("data/facts.csv"))],
                     lambda fs: True),
}


def _check_json(vault: Path, *extra: str) -> tuple[int, str]:
    proc = run_cli(["check", "--json", *extra], vault, VERIWIKI_TODAY=TODAY)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("name", sorted(EDITS))
def test_check_incremental_equals_cold_after_each_edit(warm: Path, tmp_path: Path,
                                                       name: str) -> None:
    vault = tmp_path / "vault"
    shutil.copytree(warm, vault, symlinks=True)
    before = _check_json(vault)
    assert before == _check_json(vault, "--no-cache")
    steps, expect = EDITS[name]
    outputs = []
    for step in steps:
        step(vault)
        incremental = _check_json(vault)
        cold = _check_json(vault, "--no-cache")
        assert incremental == cold, f"{name}: the incremental check differs from a cold one"
        outputs.append(incremental)
    findings = json.loads(outputs[0][1])["findings"]
    assert expect(findings), f"{name}: the edit did not show in the findings"
    if name == "source-changed" or name == "fact-changed" or name == "title-change":
        assert outputs[0] != before, f"{name}: the edit changed nothing"
    if len(steps) > 1:
        assert outputs[-1] == before  # undone: the findings of the start


def test_check_incremental_one_page_edit_reads_no_other_names(
        warm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body edit adding links is checked from the stored name tables: no page's names
    are read from the index and no resolver is built from them."""
    from veriwiki.adapters.sqlite_index import SqliteIndex
    from veriwiki.services.check import check_vault
    from veriwiki.services.check_names import NameStore
    from veriwiki.vault import open_vault

    vault = tmp_path / "vault"
    shutil.copytree(warm, vault, symlinks=True)
    monkeypatch.setenv("VERIWIKI_TODAY", TODAY)

    def check() -> dict[str, Any]:
        opened = open_vault(vault)
        try:
            return check_vault(opened).to_json()
        finally:
            opened.close()

    check()  # warm with this process's code (the cache keys hash the code loaded)
    _edit("and [[Paper notes#Notes]].",
          "and [[Paper notes#Notes]], [[Nowhere]], [[GPT-2#No such heading]] and "
          "[[Llama 2]].")(vault)
    built: list[str] = []

    def page_names(self: Any) -> Any:
        built.append("page_names")
        return real_names(self)

    def full(self: Any) -> Any:
        built.append("full")
        return real_full(self)

    real_names, real_full = SqliteIndex.page_names, NameStore.full
    monkeypatch.setattr(SqliteIndex, "page_names", page_names)
    monkeypatch.setattr(NameStore, "full", full)
    found = check()
    assert built == []
    messages = {(f["rule"], f["message"]) for f in found["findings"]
                if f["path"] == str(NOTES_PATH)}
    assert any(r == "broken-link" and "Nowhere" in m for r, m in messages)
    assert any(r == "broken-link" and "No such heading" in m for r, m in messages)
    assert any(r == "duplicate-title" and "Glossary" in m for r, m in messages)
    assert any(r == "unknown-fact" and "license" in m for r, m in messages)
    monkeypatch.undo()
    assert json.loads(_check_json(vault, "--no-cache")[1]) == found


def test_check_incremental_damaged_name_tables_fall_back(warm: Path, tmp_path: Path) -> None:
    """A damaged entry in the stored name tables costs a full build, not a wrong finding."""
    import sqlite3

    vault = tmp_path / "vault"
    shutil.copytree(warm, vault, symlinks=True)
    conn = sqlite3.connect(vault / ".veriwiki" / "check-cache.db")
    with conn:
        changed = conn.execute("UPDATE names SET data = '{not json' WHERE tab != 'owners'"
                               ).rowcount
    conn.close()
    assert changed > 0
    _edit("and [[Paper notes#Notes]].", "and [[Paper notes#Notes]] and [[Llama 2]].")(vault)
    assert _check_json(vault) == _check_json(vault, "--no-cache")
    assert _check_json(vault) == _check_json(vault, "--no-cache")  # and repaired
