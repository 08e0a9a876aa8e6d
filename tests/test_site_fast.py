"""The one-page rebuild's shortcuts (issue 14): each gives the bytes of a cold build.

``llms-full.txt`` patched from the last build's parts (services/site_llms.py), the
resolver's tables read back from the last build (services/site_cache.py); the site's
per-page store has its own tests (tests/test_site_store.py).
Every case builds in-process, changes the vault one way, builds again and compares the
whole output folder with a build into an empty folder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Veriwiki
from helpers_site import make_site_vault


def _build(vault: Path, out: Path | None = None) -> dict[str, object]:
    from veriwiki.services.site import build_site
    from veriwiki.vault import open_vault

    return build_site(open_vault(vault), out).to_json()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".veriwiki-site.json"}


def _same_as_cold(vault: Path) -> None:
    cold = vault.parent / "cold-site"
    shutil.rmtree(cold, ignore_errors=True)
    cache = vault / ".veriwiki"
    saved = {f: f.read_bytes() for f in cache.glob("site-*") if f.is_file()}
    for f in saved:  # the cold build must not read the warm build's caches
        f.unlink()
    try:
        _build(vault, cold)
    finally:
        for f, data in saved.items():
            f.write_bytes(data)
    warm, cold_tree = _tree(vault / "site"), _tree(cold)
    assert warm.keys() == cold_tree.keys()
    assert [k for k in warm if warm[k] != cold_tree[k]] == []
    shutil.rmtree(cold)


@pytest.fixture
def segments(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pages whose llms-full.txt part was made from their text."""
    from veriwiki.services import site_pages

    made: list[str] = []
    real = site_pages.llms_full_segment

    def spy(model: object, path: str) -> str:
        made.append(path)
        return real(model, path)  # type: ignore[arg-type]

    monkeypatch.setattr(site_pages, "llms_full_segment", spy)
    return made


def _append(page: Path, text: str) -> None:
    page.write_text(page.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_llms_full_is_patched_and_equals_a_cold_build(
        vw: Veriwiki, vault: Path, segments: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", vw.env["HOME"])
    make_site_vault(vw, vault)
    _build(vault)
    listed = len(segments)
    assert listed > 5
    record = vault / ".veriwiki" / "site-llms-full.json"
    assert record.is_file()

    # a body edited: only that page's part is read
    segments.clear()
    _append(vault / "wiki" / "Attention.md", "\nA zebrafish line for agents.\n")
    _build(vault)
    assert segments == ["wiki/Attention.md"]
    assert "zebrafish line" in (vault / "site" / "llms-full.txt").read_text(encoding="utf-8")
    _same_as_cold(vault)

    # a title changed in the frontmatter
    page = vault / "wiki" / "Grounded.md"
    page.write_text(page.read_text(encoding="utf-8").replace("title: Grounded",
                                                             "title: Grounded Claims"),
                    encoding="utf-8")
    segments.clear()
    _build(vault)
    assert segments == ["wiki/Grounded.md"]
    _same_as_cold(vault)

    # a page added, one removed, one renamed
    (vault / "wiki" / "Added Page.md").write_text("# Added Page\n\nNew words.\n",
                                                  encoding="utf-8")
    (vault / "wiki" / "Transformer.md").unlink()
    (vault / "wiki" / "KV Cache.md").rename(vault / "wiki" / "Key Value Cache.md")
    segments.clear()
    _build(vault)
    assert sorted(segments) == ["wiki/Added Page.md", "wiki/Key Value Cache.md"]
    _same_as_cold(vault)

    damages: list[Callable[[], None]] = [
        # the file edited by hand, same size: its digest no longer matches
        lambda: (vault / "site" / "llms-full.txt").write_bytes(
            (vault / "site" / "llms-full.txt").read_bytes().replace(b"New words", b"Old words")),
        # the record cut short, then one with parts that lie outside the file
        lambda: record.write_bytes(record.read_bytes()[:100]),
        lambda: record.write_text(json.dumps({
            **json.loads(record.read_text(encoding="utf-8")),
            "parts": [["wiki/Attention.md", "x", "y", 0, 10 ** 9]]}), encoding="utf-8"),
    ]
    for n, damage in enumerate(damages):
        damage()
        _append(vault / "wiki" / "Attention.md", f"\nEdit {n}.\n")
        segments.clear()
        _build(vault)
        assert len(segments) == listed  # every part made again (one page added, one gone)
        _same_as_cold(vault)


def _tables(resolver: object) -> dict[str, object]:
    from veriwiki.services.resolver_tables import TABLES as _TABLES

    out: dict[str, object] = {"pages": dict(resolver.pages),  # type: ignore[attr-defined]
                              "root": resolver.pages_root}  # type: ignore[attr-defined]
    for name in _TABLES:
        out[name] = {k: sorted(v) if isinstance(v, list) else v
                     for k, v in getattr(resolver, name).items() if v}
    return out


def test_resolver_read_back_only_while_the_names_hold(
        vw: Veriwiki, vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build reads the last build's resolver tables (kept in the site store) instead
    of building them while the names digest is the same; they equal a resolver built
    from the index, and any change of names (title, alias, heading, page added or gone)
    builds them again."""
    import sqlite3

    from veriwiki.render.layout import code_version
    from veriwiki.services import site
    from veriwiki.services.indexing import build_resolver, update_index
    from veriwiki.services.site_cache import state_version
    from veriwiki.services.site_store import STORE_FILE, SiteStore
    from veriwiki.settings import CONFIG_FILE
    from veriwiki.vault import open_vault

    monkeypatch.setenv("HOME", vw.env["HOME"])
    make_site_vault(vw, vault)
    built: list[int] = []
    real = site.build_resolver

    def counted(v: object) -> object:
        built.append(1)
        return real(v)  # type: ignore[arg-type]

    monkeypatch.setattr(site, "build_resolver", counted)

    def stored_matches_index() -> None:
        v = open_vault(vault)
        update_index(v)
        version = state_version(code_version(), (vault / CONFIG_FILE).read_bytes())
        store = SiteStore(v.cache_dir, version, v.index.names_digest(), v.pages_root)
        assert store.token is not None

        def unwanted() -> object:
            raise AssertionError("the stored tables did not hold")

        got = store.resolver(unwanted)  # type: ignore[arg-type]
        store.close()
        got.source.fill(got)  # type: ignore[attr-defined]
        assert got.source.complete  # type: ignore[attr-defined]
        assert _tables(got) == _tables(build_resolver(v))
        got.source.close()  # type: ignore[attr-defined]

    _build(vault)
    assert built == [1]
    stored_matches_index()
    page = vault / "wiki" / "Attention.md"
    edits: list[tuple[str, Callable[[], None], int]] = [
        ("body", lambda: _append(page, "\nMore words, [[Grounded]].\n"), 0),
        ("title", lambda: page.write_text(page.read_text(encoding="utf-8").replace(
            "title: Attention", "title: Attention Mechanism"), encoding="utf-8"), 1),
        ("alias", lambda: page.write_text(page.read_text(encoding="utf-8").replace(
            "aliases: [self-attention, ", "aliases: [attn, "), encoding="utf-8"), 1),
        ("heading", lambda: _append(page, "\n## A new heading\n\nText.\n"), 1),
        ("added", lambda: (vault / "wiki" / "New One.md").write_text("# New One\n",
                                                                    encoding="utf-8"), 1),
        ("removed", lambda: (vault / "wiki" / "New One.md").unlink(), 1),
        ("renamed", lambda: (vault / "wiki" / "Grounded.md").rename(
            vault / "wiki" / "Grounded Again.md"), 1),
    ]
    for what, edit, builds in edits:
        edit()
        built.clear()
        _build(vault)
        assert len(built) == builds, what
        stored_matches_index()
        _same_as_cold(vault)
    # damaged tables are built again (and kept again: the next build reads them)
    for damage in ("UPDATE names SET data = '[' WHERE tab = 'by_stem'", "DROP TABLE names",
                   "UPDATE names SET data = '[1, 2]' WHERE tab = 'pages'"):
        conn = sqlite3.connect(vault / ".veriwiki" / STORE_FILE)
        conn.execute(damage)
        conn.commit()
        conn.close()
        _append(page, "\nOnce more, [[Grounded Again]] and [[Attention Mechanism#Gone]].\n")
        built.clear()
        _build(vault)
        assert built == [1], damage
        _same_as_cold(vault)
        stored_matches_index()
        _append(page, "\nAnd again.\n")
        built.clear()
        _build(vault)
        assert built == [], damage
        _same_as_cold(vault)


def test_a_one_page_rebuild_does_not_import_the_settings_schema(
        vw: Veriwiki, vault: Path) -> None:
    """The build's own process reads the validated settings, not the pydantic schema
    (its import is ~0.3 s; the check, in its child, builds it there)."""
    import subprocess
    import sys

    make_site_vault(vw, vault)
    code = ("import sys\nfrom veriwiki.services.site import build_site\n"
            "from veriwiki.vault import open_vault\n"
            "build_site(open_vault(sys.argv[1]))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic')[:3])\n")
    for _ in range(2):  # the first build makes the settings snapshot
        _append(vault / "wiki" / "Attention.md", "\nAnother line.\n")
        proc = subprocess.run([sys.executable, "-c", code, str(vault)], capture_output=True,
                              text=True, env=vw.env, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_page_records_give_back_the_page(vw: Veriwiki, vault: Path) -> None:
    """Every example page, slimmed, comes back from its state record as it went in."""
    from veriwiki.services.indexing import update_index
    from veriwiki.services.site_cache import page_of, page_record
    from veriwiki.services.site_model import slim
    from veriwiki.vault import open_vault

    make_site_vault(vw, vault)
    v = open_vault(vault)
    update_index(v)
    pages = v.index.load_pages()
    assert any(p.claims for p in pages) and any(p.frontmatter for p in pages)
    for page in pages:
        record = json.loads(json.dumps(page_record(slim(page)), ensure_ascii=False))
        assert page_of(page.path, record) == slim(page)


def test_the_forked_check_gives_the_report_of_an_in_process_check(
        vw: Veriwiki, vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build's check child sends its findings as plain tuples; the parent's report
    equals the one ``check_vault`` returns in-process, field for field."""
    from veriwiki.services.check import check_vault
    from veriwiki.services.indexing import update_index
    from veriwiki.services.site_check import start_check
    from veriwiki.vault import open_vault

    monkeypatch.setenv("HOME", vw.env["HOME"])
    make_site_vault(vw, vault)
    v = open_vault(vault)
    update_index(v)
    forked = start_check(v)()
    local = check_vault(open_vault(vault), refresh=False)
    assert forked.pages == local.pages
    assert len(forked.findings) > 3
    assert {f.rule for f in forked.findings} >= {"broken-link", "quote-not-found"}
    assert any(f.hint for f in forked.findings) and any(f.column for f in forked.findings)
    assert forked.findings == local.findings  # every field, origin too
