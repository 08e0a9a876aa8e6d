"""A check runs the rules with a facet on one chunk of pages at a time (issue 14: memory
at 100k pages). The chunks must change no finding: on the golden vaults a check with
chunks of one or two pages reports byte for byte what a check with every page in one
chunk reports, cold and then warm from the rows the chunked check stored."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from golden import fixture_vault, run_cli, working_copy

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = "2026-11-23"
BAD_SCHEMA = "type: object\nproperties: [not, a, mapping\n"


@pytest.fixture(scope="module", params=["papers", "citations", "facts", "tricky_links"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A golden vault, committed, with its sources added and every rule on."""
    name = request.param
    root = tmp_path_factory.mktemp(name) / "vault"
    if (FIXTURES / name / "sources").is_dir():
        fixture_vault(FIXTURES / name, root, VERIWIKI_TODAY=TODAY)
    else:
        shutil.copytree(FIXTURES / name, root, ignore=shutil.ignore_patterns("expected.json"))
    toml = root / "veriwiki.toml"
    text = toml.read_text(encoding="utf-8") if toml.exists() else ""
    for rid in ("orphan-page", "missing-from-index"):  # on, where the fixture turns it off
        text = text.replace(f'{rid} = "off"', f'{rid} = "warning"')
    toml.write_text(text, encoding="utf-8")
    # a schema that does not load: reported on the schema file, not on a page
    (root / "schemas").mkdir(exist_ok=True)
    (root / "schemas" / "broken.yaml").write_text(BAD_SCHEMA, encoding="utf-8")
    return root


@pytest.fixture
def vault(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield working_copy(built, tmp_path / "vault", TODAY, monkeypatch)


def _report(root: Path, *, no_cache: bool) -> str:
    """The check's report as ``check --json`` writes it (with the streamed writer)."""
    from veriwiki.cli.json_out import Items, dumps
    from veriwiki.services.check_run import CheckOptions, run_check
    from veriwiki.vault import open_vault

    vault = open_vault(root)
    try:
        return dumps(run_check(vault, CheckOptions(no_cache=no_cache)).report.to_json(Items))
    finally:
        vault.close()


def _drop_caches(root: Path) -> None:
    for path in (root / ".veriwiki").glob("*-cache.db*"):
        path.unlink()


def test_chunks_change_no_finding(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki.services import check_inputs

    whole = _report(vault, no_cache=True)
    data = json.loads(whole)
    assert data["findings"], "the golden vault has findings"
    schema = [f for f in data["findings"] if f["path"] == "schemas/broken.yaml"]
    assert len(schema) == 1 and schema[0]["rule"] == "schema-violation"
    pages = data["summary"]["pages"]
    assert pages > 2
    for size, keep in ((1, 0), (2, 10_000)):  # pages decoded per chunk, or kept
        monkeypatch.setattr(check_inputs, "CHUNK_PAGES", size)
        monkeypatch.setattr(check_inputs, "KEEP_PAGES", keep)
        assert _report(vault, no_cache=True) == whole  # cold, chunked
        _drop_caches(vault)
        assert _report(vault, no_cache=False) == whole  # cold, storing rows chunk by chunk
        assert _report(vault, no_cache=False) == whole  # warm, from those rows
    monkeypatch.setattr(check_inputs, "CHUNK_PAGES", 10_000)
    assert _report(vault, no_cache=False) == whole  # warm, one chunk, from chunked rows


def test_edited_page_rechecked_in_chunks(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm check with chunks of one page after an edit: what a cold check reports."""
    from veriwiki.services import check_inputs

    monkeypatch.setattr(check_inputs, "CHUNK_PAGES", 1)
    monkeypatch.setattr(check_inputs, "KEEP_PAGES", 0)
    _report(vault, no_cache=False)
    page = sorted((vault / "wiki").rglob("*.md"))[0]
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [[No Such Page]].\n",
                    encoding="utf-8")
    warm = _report(vault, no_cache=False)
    assert "No Such Page" in warm
    monkeypatch.setattr(check_inputs, "CHUNK_PAGES", 10_000)
    assert _report(vault, no_cache=True) == warm


def test_chunked_check_keeps_no_page(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages decoded for a chunk are not kept once the vault needs more than one."""
    from veriwiki.adapters.check_cache import CheckCache
    from veriwiki.services import check_inputs
    from veriwiki.services.check import CACHE_FILE, _check
    from veriwiki.services.check_inputs import rule_settings
    from veriwiki.vault import open_vault

    monkeypatch.setattr(check_inputs, "CHUNK_PAGES", 2)
    monkeypatch.setattr(check_inputs, "KEEP_PAGES", 0)
    chunks: list[list[str]] = []
    kept: list[str] = []
    real = check_inputs.IndexPages.chunks

    def spy(self: check_inputs.IndexPages, paths: list[str],
            size: int | None = None) -> Iterator[list[Any]]:
        for pages in real(self, paths, size):
            before = set(self.loaded)
            yield pages
            chunk = [p.path for p in pages]
            chunks.append(chunk)
            kept.extend(p for p in chunk if p in self.loaded and p not in before)

    monkeypatch.setattr(check_inputs.IndexPages, "chunks", spy)
    opened = open_vault(vault)
    try:
        opened.use_private_caches()
        from veriwiki.services.indexing import update_index

        update_index(opened)
        cache = CheckCache(opened.cache_dir / CACHE_FILE)
        try:
            report = _check(opened, rule_settings(opened, False, None),
                            opened.index.page_blobs(), cache, None)
        finally:
            cache.close()
    finally:
        opened.close()
    assert report.pages > 2
    # the rules' pass; the cache's first pass reads the records undecoded (records())
    assert sum(map(len, chunks)) == report.pages
    assert max(map(len, chunks)) == 2
    assert kept == []


def test_cli_json_is_the_report(vault: Path) -> None:
    """``check --json`` prints the report the service returns, item by item."""
    proc = run_cli(["check", "--json", "--no-cache"], vault, VERIWIKI_TODAY=TODAY)
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stdout == _report(vault, no_cache=True) + "\n"
