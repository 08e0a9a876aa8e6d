"""The check cache (.veriwiki/check-cache.db): a warm check finds what a cold one finds.

Each test changes one input of the findings of pages it does not touch (a source
version, a link target, a fact, a schema, the settings, today's date) or damages the
cache, then compares the warm check with a check whose caches were deleted.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from golden import fixture_vault, run_cli, working_copy

FIXTURE = Path(__file__).parent / "fixtures" / "papers"
TODAY = "2026-11-23"
CACHES = ("check-cache.db", "verify-cache.db")
NOTES = """---
title: Notes
type: concept
---
# Notes

GPT-2 has {{GPT-2.vocab}} tokens in its vocabulary; Llama 2 is {{Llama 2.license}}.
See [[GPT-2#GPT-2]], [[Llama 3]] and [[DeepSeek-V2]].
GPT-3 was trained on 300 billion tokens [@gpt3, "trained for a total of 300 billion tokens"].
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five-paper fixture with every rule on and a notes page, committed."""
    vault = fixture_vault(FIXTURE, tmp_path_factory.mktemp("papers") / "vault",
                          VERIWIKI_TODAY=TODAY)
    (vault / "veriwiki.toml").write_text('[vault]\nname = "papers"\n', encoding="utf-8")
    (vault / "wiki" / "Notes.md").write_text(NOTES, encoding="utf-8")
    return vault


@pytest.fixture
def vault(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield working_copy(built, tmp_path / "vault", TODAY, monkeypatch)


def _check(root: Path, **kwargs: Any) -> list[dict[str, Any]]:
    from veriwiki.services.check import check_vault
    from veriwiki.vault import open_vault

    vault = open_vault(root)
    try:
        findings: list[dict[str, Any]] = check_vault(vault, **kwargs).to_json()["findings"]
        return findings
    finally:
        vault.close()


def same_as_cold(root: Path, **kwargs: Any) -> list[dict[str, Any]]:
    """The warm check's findings, asserted equal to those of a check without caches.

    The warm caches are put back afterwards, so the next step starts warm again.
    """
    warm = _check(root, **kwargs)
    state = root / ".veriwiki"
    aside = root.parent / "aside"
    aside.mkdir(exist_ok=True)
    saved = [p for p in state.iterdir() if p.name.startswith(CACHES)]
    for p in saved:
        p.rename(aside / p.name)
    try:
        cold = _check(root, **kwargs)
    finally:
        for p in state.iterdir():
            if p.name.startswith(CACHES):
                p.unlink()
        for p in saved:
            (aside / p.name).rename(p)
    assert warm == cold
    return warm


def _has(findings: list[dict[str, Any]], rule: str, path: str) -> bool:
    return any(f["rule"] == rule and f["path"] == path for f in findings)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _rechecked(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """Records the pages each facet's rules examine (one set per facet run)."""
    from veriwiki.checks.context import CheckContext

    seen: list[set[str]] = []
    subset = CheckContext.subset

    def spy(self: CheckContext, pages: Any) -> CheckContext:
        seen.append({p.path for p in pages})
        return subset(self, pages)

    monkeypatch.setattr(CheckContext, "subset", spy)
    return seen


def test_warm_check_rechecks_only_the_edited_page(vault: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first = same_as_cold(vault)
    assert _has(first, "quote-not-found", "wiki/models/GPT-3.md")
    seen = _rechecked(monkeypatch)
    assert _check(vault) == first
    assert seen and all(not s for s in seen)  # nothing changed: nothing re-examined
    seen.clear()
    _edit(vault / "wiki" / "Notes.md", "trained on 300 billion", "trained on 300 million")
    warm = _check(vault)
    assert seen and all(s == {"wiki/Notes.md"} for s in seen)
    assert _has(warm, "number-mismatch", "wiki/Notes.md")
    assert same_as_cold(vault) == warm


def test_new_source_version_rechecks_the_pages_citing_it(vault: Path) -> None:
    before = same_as_cold(vault)
    deepseek = "wiki/models/DeepSeek-V2.md"
    assert not _has(before, "stale-claim", deepseek)
    proc = run_cli(["add", str(FIXTURE / "sources-v2" / "deepseek-v2.md")], vault,
                   VERIWIKI_TODAY=TODAY)
    assert proc.returncode == 0, proc.stderr
    assert _has(same_as_cold(vault), "stale-claim", deepseek)


def test_renamed_link_target_breaks_links_in_unchanged_pages(vault: Path) -> None:
    before = same_as_cold(vault)
    assert not _has(before, "broken-link", "wiki/Notes.md")
    models = vault / "wiki" / "models"
    (models / "Llama 3.md").rename(models / "Llama Three.md")
    _edit(models / "Llama Three.md", "title: Llama 3", "title: Llama Three")
    after = same_as_cold(vault)
    assert _has(after, "broken-link", "wiki/Notes.md")
    assert _has(after, "broken-link", "wiki/models/Llama 2.md")
    # a heading another page links to
    _edit(models / "GPT-2.md", "# GPT-2\n", "# GPT two\n")
    assert any(f["rule"] == "broken-link" and "GPT-2#GPT-2" in f["message"]
               for f in same_as_cold(vault))
    # and back: the links resolve again
    (models / "Llama Three.md").rename(models / "Llama 3.md")
    _edit(models / "Llama 3.md", "title: Llama Three", "title: Llama 3")
    _edit(models / "GPT-2.md", "# GPT two\n", "# GPT-2\n")
    assert same_as_cold(vault) == before


def test_facts_change_findings_of_unchanged_pages(vault: Path) -> None:
    before = same_as_cold(vault)
    assert any("Llama 2.license" in f["message"] for f in before)
    with (vault / "data" / "facts.csv").open("a", encoding="utf-8") as fh:
        fh.write("Llama 2,license,custom,,,,\n")
    after = same_as_cold(vault)
    assert not any("Llama 2.license" in f["message"] for f in after)
    _edit(vault / "data" / "facts.csv", "50257,token", "50300,token")
    assert same_as_cold(vault) != after


def test_settings_schemas_and_today_change_findings(vault: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = same_as_cold(vault)
    with (vault / "veriwiki.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[freshness]\nreview_every = "30d"\n')
    assert _has(same_as_cold(vault), "stale-page", "wiki/Notes.md")
    (vault / "schemas").mkdir()
    (vault / "schemas" / "concept.yaml").write_text(
        "description: a concept\nrequired: [title, type, owner]\n", encoding="utf-8")
    assert _has(same_as_cold(vault), "schema-violation", "wiki/Notes.md")
    (vault / "schemas" / "concept.yaml").write_text("required: [\n", encoding="utf-8")
    assert _has(same_as_cold(vault), "schema-violation", "schemas/concept.yaml")
    monkeypatch.setenv("VERIWIKI_TODAY", "2031-01-01")
    later = same_as_cold(vault)
    assert len([f for f in later if f["rule"] == "stale-page"]) > len(
        [f for f in before if f["rule"] == "stale-page"])
    monkeypatch.setenv("VERIWIKI_TODAY", "not a date")
    from veriwiki.errors import ConfigError

    with pytest.raises(ConfigError, match="VERIWIKI_TODAY"):
        _check(vault)


def test_aliases_deleted_pages_and_orphans(vault: Path) -> None:
    before = same_as_cold(vault)
    assert _has(before, "missing-from-index", "wiki/Notes.md")
    _edit(vault / "wiki" / "Notes.md", "title: Notes\n", "title: Notes\naliases: [GPT-3]\n")
    assert _has(same_as_cold(vault), "duplicate-title", "wiki/models/GPT-3.md")
    (vault / "wiki" / "Notes.md").unlink()
    after = same_as_cold(vault)
    assert not any(f["path"] == "wiki/Notes.md" for f in after)
    assert not _has(before, "orphan-page", "wiki/models/DeepSeek-V2.md")
    assert _has(after, "orphan-page", "wiki/models/DeepSeek-V2.md")


def test_partial_runs_then_full_run(vault: Path) -> None:
    same_as_cold(vault)
    _edit(vault / "wiki" / "Notes.md", "trained on 300 billion", "trained on 301 billion")
    only = same_as_cold(vault, only=["number-mismatch"])
    assert {f["rule"] for f in only} == {"number-mismatch"}
    same_as_cold(vault, only=["broken-link", "orphan-page"])
    same_as_cold(vault, strict=True)
    _edit(vault / "wiki" / "Notes.md", "trained on 301 billion", "trained on 302 billion")
    same_as_cold(vault, only=["quote-not-found"])
    assert _has(same_as_cold(vault), "number-mismatch", "wiki/Notes.md")


def test_changed_source_file_is_reported_warm_as_cold(vault: Path) -> None:
    same_as_cold(vault)
    stored = vault / "raw" / "gpt3" / "v1.md"
    stored.write_bytes(stored.read_bytes() + b"\nappended\n")
    shutil.rmtree(vault / ".veriwiki" / "text")  # as after a clone: the file is re-read
    assert any("changed after it was added" in f["message"] for f in same_as_cold(vault))


@pytest.mark.parametrize("damage", ["garbage", "empty", "rows", "types", "foreign"])
def test_damaged_cache_is_rebuilt_silently(vault: Path, damage: str) -> None:
    before = same_as_cold(vault)
    db = vault / ".veriwiki" / "check-cache.db"
    if damage == "garbage":
        for p in db.parent.glob("check-cache.db*"):
            p.unlink()
        db.write_bytes(b"not a database at all" * 100)
    elif damage == "empty":
        for p in db.parent.glob("check-cache.db*"):
            p.unlink()
        db.write_bytes(b"")
    elif damage == "rows":
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE pages SET findings = '{not json', targets = '[1,', "
                         "quoted = 'gpt3\x1fnot-a-number', facets = 'page=x;;=='")
        conn.close()
    elif damage == "types":
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE pages SET quoted = X'0102' WHERE path = 'wiki/Notes.md'")
            conn.execute("UPDATE pages SET findings = '[]' WHERE path LIKE '%GPT-2%'")
            conn.execute("""UPDATE pages SET findings = '{"quote-not-found": [["1", 2]]}'
                            WHERE path LIKE '%GPT-3%'""")
        conn.close()
    else:
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("DROP TABLE pages")
        conn.close()
    assert _check(vault) == before
    conn = sqlite3.connect(db)  # rebuilt: a valid cache again
    try:
        assert conn.execute("SELECT count(*) FROM pages").fetchone()[0] > 0
    finally:
        conn.close()
    assert same_as_cold(vault) == before


def test_unwritable_cache_only_costs_time(vault: Path) -> None:
    before = same_as_cold(vault)
    state = vault / ".veriwiki"
    for p in state.glob("check-cache.db*"):
        p.unlink()
    (state / "check-cache.db").mkdir()  # cannot be opened as a file
    try:
        assert _check(vault) == before
    finally:
        os.rmdir(state / "check-cache.db")


def test_builtin_schemas_are_valid() -> None:
    """load_types skips validating the built-in schemas; this test does it instead."""
    from jsonschema import Draft202012Validator

    from veriwiki.services.types import load_types

    types = load_types(None)
    assert types.types and not types.errors
    for page_type in types.types.values():
        Draft202012Validator.check_schema(page_type.schema)


# veriwiki modules a check imports whose code cannot change a cached finding: what they
# produce is hashed by value into the cache keys, or feeds rules that are never cached
EXEMPT = {
    "veriwiki.adapters": "package",
    "veriwiki.adapters.extract": "source texts are hashed by value",
    "veriwiki.adapters.fs": "index update (pages are keyed by their blob)",
    "veriwiki.adapters.git": "recovery before reading",
    "veriwiki.adapters.lock": "recovery before reading",
    "veriwiki.adapters.store": "recovery before reading",
    "veriwiki.adapters.sandbox": "check blocks: code-* rules are not cached",
    "veriwiki.adapters.sandbox_child": "check blocks: code-* rules are not cached",
    "veriwiki.adapters.isolation": "check blocks: code-* rules are not cached",
    "veriwiki.adapters.seccomp": "check blocks: code-* rules are not cached",
    "veriwiki.adapters.state_dir": "composition root (where the state lives)",
    "veriwiki.adapters.verify_cache": "keys include the check code's version",
    "veriwiki.builtin": "package",
    "veriwiki.builtin.schemas": "schemas are hashed by value",
    "veriwiki.config": "settings are hashed by value",
    "veriwiki.errors": "exception classes",
    "veriwiki.services": "package",
    "veriwiki.services.code_checks": "check blocks: code-* rules are not cached",
    "veriwiki.services.facts": "facts are hashed by value",
    "veriwiki.services.sources": "sources and texts are hashed by value",
    "veriwiki.services.write": "recovery before reading",
    "veriwiki.vault": "composition root",
}


def test_check_code_digest_covers_what_a_check_imports(vault: Path) -> None:
    """A rule importing a new module must add it to CHECK_CODE (or here, with a reason)."""
    import json
    import subprocess
    import sys

    from veriwiki.services.check import CHECK_CODE

    script = ("import json, sys\n"
              "from veriwiki.services.check import check_vault\n"
              "from veriwiki.vault import open_vault\n"
              f"check_vault(open_vault({str(vault)!r}))\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.startswith('veriwiki'))))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, VERIWIKI_TODAY=TODAY))
    assert proc.returncode == 0, proc.stderr
    covered = []
    for part in CHECK_CODE:
        name = "veriwiki" if part == "__init__.py" else "veriwiki." + part.removesuffix(
            ".py").replace("/", ".")
        covered.append(name)
    loose = [m for m in json.loads(proc.stdout)
             if m not in EXEMPT and not any(m == c or m.startswith(c + ".") for c in covered)]
    assert loose == []
