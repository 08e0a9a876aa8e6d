"""The site's per-page store (services/site_store.py) and the search terms store
(services/site_terms.py): patched per changed page, they hold what a store filled from
scratch holds, a rebuild decodes only the pages around the change, and a damaged or
interrupted store costs time, never output."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Veriwiki
from helpers_site import make_site_vault
from test_site_fast import _append, _build, _same_as_cold


def _rows(vault: Path) -> dict[str, tuple[str, ...]]:
    conn = sqlite3.connect(vault / ".veriwiki" / "site-store.db")
    try:
        return {r[0]: tuple(r[1:]) for r in conn.execute("SELECT * FROM page")}
    finally:
        conn.close()


def _names(vault: Path) -> dict[tuple[str, str], str]:
    conn = sqlite3.connect(vault / ".veriwiki" / "site-store.db")
    try:
        return {(t, n): d for t, n, d in conn.execute("SELECT * FROM names")}
    finally:
        conn.close()


def _terms(vault: Path) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    conn = sqlite3.connect(vault / ".veriwiki" / "site-terms.db")
    try:
        # the postings table is left out: updated in place its lists may hold the
        # same postings in another order (the shards written are the same: the
        # cold build's comparison checks them); so is the shard record, which names
        # the files of one output folder by size, times and inode
        return ({p: (b, w) for p, b, w in conn.execute("SELECT * FROM terms")},
                dict(conn.execute("SELECT * FROM meta WHERE key NOT IN "
                                  "('table', 'shards', 'token')")))
    finally:
        conn.close()


def _postings(vault: Path) -> dict[str, dict[str, list[tuple[int, int]]]]:
    """The stored postings table by group, each term's postings as a set of pairs."""
    import json

    conn = sqlite3.connect(vault / ".veriwiki" / "site-terms.db")
    try:
        return {g: {t: sorted(zip(v[::2], v[1::2], strict=True))
                    for t, v in json.loads(d).items()}
                for g, d in conn.execute("SELECT grp, data FROM postings")}
    finally:
        conn.close()


def _stores_as_from_scratch(vault: Path) -> None:
    """The patched stores hold the rows a build without them makes."""
    patched, terms, names = _rows(vault), _terms(vault), _names(vault)
    postings = _postings(vault)
    cache = vault / ".veriwiki"
    saved = {f: f.read_bytes() for f in cache.glob("site-*") if f.is_file()}
    for f in saved:
        f.unlink()
    cold = vault.parent / "scratch-site"
    try:
        _build(vault, cold)
        assert _rows(vault) == patched
        assert _terms(vault) == terms
        assert _names(vault) == names and names  # the resolver's tables
        assert _postings(vault) == postings and postings
    finally:
        for f, data in saved.items():
            f.write_bytes(data)
        shutil.rmtree(cold, ignore_errors=True)


@pytest.fixture
def site_vault(vw: Veriwiki, vault: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", vw.env["HOME"])
    make_site_vault(vw, vault)
    for n in range(12):  # pages no edit below reaches
        (vault / "wiki" / f"Filler {n}.md").write_text(
            f"# Filler {n}\n\nWords on their own, far from the rest.\n", encoding="utf-8")
    _build(vault)
    return vault


def test_store_patched_per_edit_equals_a_store_from_scratch(site_vault: Path) -> None:
    """After each kind of edit the rebuild's output equals a cold build and its stores
    (rows with backlinks, digests, term weights, postings) equal stores made from
    scratch."""
    vault = site_vault
    page = vault / "wiki" / "Attention.md"
    grounded = vault / "wiki" / "Grounded.md"

    def replace(path: Path, old: str, new: str) -> Callable[[], None]:
        def edit() -> None:
            text = path.read_text(encoding="utf-8")
            assert old in text, old
            path.write_text(text.replace(old, new), encoding="utf-8")
        return edit

    edits: list[tuple[str, Callable[[], None]]] = [
        ("body", lambda: _append(page, "\nA zebrafish paragraph.\n")),
        ("link added", lambda: _append(page, "\nSee [[Filler 3]] and [[Grounded]].\n")),
        ("link removed", replace(page, "See [[Filler 3]] and [[Grounded]].", "See nothing.")),
        ("tags", replace(page, "tags: [architecture]", "tags: [architecture, zebra]")),
        ("aliases", replace(page, "aliases: [self-attention, ", "aliases: [attn, ")),
        ("title", replace(grounded, "title: Grounded", "title: Grounded Claims")),
        ("citation", lambda: _append(page, '\nLlama 2 was trained on 2 trillion tokens '
                                           '[@llama2, "trained on 2 trillion tokens of '
                                           'data"].\n')),
        ("summary", replace(page, "summary: Weighting", "summary: Zebra weighting")),
        ("added", lambda: (vault / "wiki" / "Added.md").write_text(
            "# Added\n\nLinks [[Attention]].\n", encoding="utf-8")),
        ("removed", lambda: (vault / "wiki" / "Transformer.md").unlink()),
        ("renamed", lambda: (vault / "wiki" / "KV Cache.md").rename(
            vault / "wiki" / "Key Value Cache.md")),
        ("link to a filler", lambda: _append(grounded, "\nAlso [[Filler 5]].\n")),
    ]
    for what, edit in edits:
        edit()
        _build(vault)
        try:
            _stores_as_from_scratch(vault)
            _same_as_cold(vault)
        except AssertionError as exc:
            raise AssertionError(f"after the edit {what!r}") from exc
    assert "wiki/Grounded.md" in _rows(vault)["wiki/Filler 5.md"][4]  # its backlinks


def test_one_page_rebuild_decodes_only_the_pages_around_it(
        site_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki.services import site_cache

    decoded: list[str] = []
    real = site_cache.page_of

    def spy(path: str, rec: object) -> object:
        decoded.append(path)
        return real(path, rec)  # type: ignore[arg-type]

    monkeypatch.setattr(site_cache, "page_of", spy)
    _append(site_vault / "wiki" / "Filler 1.md", "\nOne more word.\n")
    assert _build(site_vault)["rendered"] == 1
    assert decoded == []  # nothing links to it, it links nowhere: only it, from the index
    _append(site_vault / "wiki" / "Attention.md", "\nOne more word.\n")
    assert _build(site_vault)["rendered"] >= 1
    assert decoded and not any("Filler" in p for p in decoded)
    _same_as_cold(site_vault)


def test_damaged_or_interrupted_stores_cost_time_never_output(
        site_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki.services import site

    vault = site_vault
    store = vault / ".veriwiki" / "site-store.db"
    terms = vault / ".veriwiki" / "site-terms.db"

    def sql(path: Path, statement: str) -> None:
        conn = sqlite3.connect(path)
        conn.execute(statement)
        assert conn.total_changes or statement.startswith("DROP"), statement  # a real damage
        conn.commit()
        conn.close()

    damages: list[Callable[[], None]] = [
        lambda: sql(store, "DELETE FROM page WHERE path='wiki/Grounded.md'"),
        lambda: sql(store, "UPDATE meta SET value='x' WHERE key='names'"),
        # the resolver's tables: a damaged entry read (the edited page's links are
        # resolved again) or a table gone makes the build answer from the index and
        # write them again
        lambda: sql(store, "UPDATE names SET data='{' WHERE tab='by_stem'"),
        lambda: sql(store, "DROP TABLE names"),
        lambda: sql(terms, "DELETE FROM terms WHERE path='wiki/Grounded.md'"),
        lambda: sql(terms, "UPDATE meta SET value='x' WHERE key='listing'"),
        # a group of the postings table read (the edit's words) that does not decode,
        # and the table gone: every page's weights merged again
        lambda: sql(terms, "UPDATE postings SET data='[' WHERE grp='ed'"),
        lambda: sql(terms, "UPDATE postings SET data='{\"zz\": [0, 1]}' WHERE grp='ze'"),
        lambda: sql(terms, "DROP TABLE postings"),
        lambda: store.write_bytes(store.read_bytes()[:2048]),
        lambda: terms.write_bytes(b"not a database"),
    ]
    for n, damage in enumerate(damages):
        damage()
        # words new at each edit, so their groups ("ed", "ze") are read and written
        _append(vault / "wiki" / "Attention.md",
                f"\nEdit {n}, a zebrafish, ed{'x' * (n + 1)} ze{'q' * (n + 1)}.\n")
        _build(vault)
        _same_as_cold(vault)
        _stores_as_from_scratch(vault)

    # a build stopped after the store was written, before the page keys were
    real = site.pages_to_key

    def stop(*args: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(site, "pages_to_key", stop)
    _append(vault / "wiki" / "Attention.md", "\nSee [[Filler 2]].\n")
    with pytest.raises(KeyboardInterrupt):
        _build(vault)
    monkeypatch.setattr(site, "pages_to_key", real)
    _append(vault / "wiki" / "Filler 2.md", "\nAnd back to [[Attention]].\n")
    _build(vault)
    _same_as_cold(vault)
    _stores_as_from_scratch(vault)


def test_pages_rendered_in_forked_workers_from_a_patched_store(
        site_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers get the store's rows in memory (they do not share its connection): a new
    day renders every page again, in workers, from rows read lazily until then."""
    import os

    from veriwiki.services import site_render

    if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        pytest.skip("rendering in workers needs fork and two cores")
    monkeypatch.setattr(site_render, "FORK_PAGES", 1)
    _append(site_vault / "wiki" / "Attention.md", "\nSee [[Filler 4]].\n")
    _build(site_vault)
    monkeypatch.setenv("VERIWIKI_TODAY", "2031-01-02")
    summary = _build(site_vault)
    assert summary["rendered"] == summary["pages"]
    _same_as_cold(site_vault)


def _shard_groups_made(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the groups of search terms the next builds make again (one number a build)."""
    from veriwiki.services import site_parts

    made: list[int] = []
    real = site_parts.group_shards

    def spy(*args: object) -> object:
        made[-1] += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(site_parts, "group_shards", spy)
    return made


def test_search_shards_of_unchanged_terms_are_kept_only_when_untouched(
        site_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-page edit makes again only the shard groups of its terms; a shard file
    changed, replaced or removed outside the build is made again, and so is everything
    a build stopped midway wrote (the search group's key alone would match the last
    finished build's again once the page is edited back), so the output stays that
    of a cold build."""
    import time

    from veriwiki.services import site_parts

    vault = site_vault
    search = vault / "site" / "_vw" / "search"
    shard = search / "t-qu.json"
    made = _shard_groups_made(monkeypatch)

    # with the default margin, a file written by the last build is not trusted: a
    # change of the same size made within the same clock tick is still repaired
    made.append(0)
    _append(vault / "wiki" / "Filler 1.md", "\nQuokka.\n")
    _build(vault)
    shard.write_bytes(shard.read_bytes().replace(b"quokka", b"quakka"))
    _append(vault / "wiki" / "Filler 7.md", "\nLine.\n")
    _build(vault)
    _same_as_cold(vault)

    monkeypatch.setattr(site_parts, "RACY_NS", 0)  # every file time trusted from here
    for n in range(2):  # the first records every group, the second keeps most
        made.append(0)
        _append(vault / "wiki" / "Filler 1.md", f"\nQuokka {n}.\n")
        _build(vault)
    total = len(list(search.glob("t-*.json")))
    assert 0 < made[-1] < total / 2, (made, total)  # "filler", "quokka", ... only
    _same_as_cold(vault)

    outside: list[Callable[[], None]] = [
        lambda: shard.write_bytes(b"{}"),  # another size
        lambda: shard.write_bytes(shard.read_bytes().replace(b"quokka", b"quakka")),
        lambda: shard.unlink(),
    ]
    for n, change in enumerate(outside):
        time.sleep(0.05)  # a later clock tick than the build's own write
        change()
        made.append(0)
        _append(vault / "wiki" / "Filler 7.md", f"\nLine {n}.\n")  # far from "qu"
        _build(vault)
        assert made[-1] >= 1
        _same_as_cold(vault)

    # a build stopped after writing the shards, before the terms store; the page then
    # edited back, so the next build sees no change in its terms
    real = site_parts.TermsStore.save

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    page = vault / "wiki" / "Filler 9.md"
    before = page.read_text(encoding="utf-8")
    _append(page, "\nQuince quartz.\n")
    monkeypatch.setattr(site_parts.TermsStore, "save", stop)
    with pytest.raises(KeyboardInterrupt):
        _build(vault)
    monkeypatch.setattr(site_parts.TermsStore, "save", real)
    mark = vault / "site" / ".veriwiki-site.building"
    assert mark.is_file()  # the stopped build's mark: nothing of it is reused
    page.write_text(before, encoding="utf-8")
    _build(vault)
    assert not mark.exists()
    _same_as_cold(vault)


def test_many_changed_pages_merge_every_weight_as_a_cold_build_does(
        site_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above ``MAX_UPDATE`` changed pages the postings table is merged from every page's
    weights (the changed ones kept as JSON text, the others read a chunk at a time)
    instead of updated in place: same files, same stores as from scratch."""
    from veriwiki.services import site_parts

    updates: list[int] = []
    real = site_parts.update_table

    def spy(table: object, changes: list[object]) -> bool:
        updates.append(len(changes))
        return real(table, changes)  # type: ignore[arg-type]

    monkeypatch.setattr(site_parts, "update_table", spy)
    _append(site_vault / "wiki" / "Filler 1.md", "\nA zebrafish word.\n")
    _build(site_vault)
    assert updates == [1]  # one page: the table updated in place
    monkeypatch.setattr(site_parts, "MAX_UPDATE", 1)
    _append(site_vault / "wiki" / "Filler 2.md", "\nA narwhal word.\n")
    _append(site_vault / "wiki" / "Attention.md", "\nA narwhal again.\n")
    _build(site_vault)
    assert updates == [1]  # two pages over the bound: merged
    weights = _terms(site_vault)[0]
    assert '"narwhal"' in weights["wiki/Filler 2.md"][1]
    _same_as_cold(site_vault)
    _stores_as_from_scratch(site_vault)


def test_lean_build_holds_rows_only_and_makes_the_same_site(
        site_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store filled for many pages (``LEAN_PAGES``) holds the rows only: pages are
    decoded from them when asked for and at most ``LEAN_KEEP`` are kept, in the parent
    and in each forked render worker. The site and the stores are those of a build that
    holds every page."""
    from veriwiki.services import site, site_cache, site_render

    vault = site_vault
    decoded: list[str] = []
    real = site_cache.page_of

    def spy(path: str, rec: object) -> object:
        decoded.append(path)
        return real(path, rec)  # type: ignore[arg-type]

    for f in (vault / ".veriwiki").glob("site-*"):
        f.unlink()
    shutil.rmtree(vault / "site")
    monkeypatch.setattr(site_cache, "page_of", spy)
    monkeypatch.setattr(site, "LEAN_PAGES", 1)
    monkeypatch.setattr(site, "LEAN_KEEP", 3)
    monkeypatch.setattr(site_render, "FORK_PAGES", 1)  # the workers decode their own pages
    monkeypatch.setattr(site_render, "CHUNK_PAGES", 2)  # and each is replaced after two pages
    monkeypatch.setattr(site_render, "LEAN_TASKS", 1)
    # the bigger half of the pages rendered by the build itself after the workers
    sizes = sorted(f.stat().st_size for f in (vault / "wiki").rglob("*.md"))
    monkeypatch.setattr(site_render, "BIG_PAGE", sizes[len(sizes) // 2])
    alone: list[str] = []  # the pages rendered in this process (the workers' are not seen)
    real_render = site_render.docs.render_page

    def render(model: object, path: str) -> str:
        alone.append(path)
        return real_render(model, path)  # type: ignore[arg-type]

    monkeypatch.setattr(site_render.docs, "render_page", render)
    released: list[int] = []
    for module in (site, site_render):
        monkeypatch.setattr(module, "release", lambda: released.append(1) or True)
    from veriwiki.services import site_store

    # the resolver made from the index is let go once its tables are in the store: the
    # build and its workers read them name by name
    stored: list[object] = []
    real_saved = site_store.SiteStore.saved_resolver

    def saved(self: site_store.SiteStore, build: Callable[[], object]) -> object:
        stored.append(real_saved(self, build))  # type: ignore[arg-type]
        return stored[-1]

    monkeypatch.setattr(site_store.SiteStore, "saved_resolver", saved)
    got = _build(vault)
    assert len(stored) == 1 and type(stored[0]).__name__ == "StoredResolver"
    assert 0 < len(alone) < len(sizes) and alone == sorted(alone)
    # freed memory handed back after the pages are read, after the search step and
    # before the workers are forked
    assert len(released) == 3
    pages = int(str(got["pages"]))
    assert got["rendered"] == pages > 10
    # every page decoded from its row in this process, some of them again after the
    # memo started afresh (the workers' decodings are not seen here)
    assert set(decoded) >= set(_rows(vault)) and len(decoded) > pages
    monkeypatch.setattr(site, "LEAN_PAGES", 50_000)
    monkeypatch.setattr(site_cache, "page_of", real)
    monkeypatch.setattr(site_render.docs, "render_page", real_render)
    _same_as_cold(vault)
    assert len(released) == 3 and len(stored) == 1  # not in a build that holds its pages
    _stores_as_from_scratch(vault)


def test_shards_just_written_are_compared_by_content_not_made_again(
        site_vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after a build that wrote every shard (their times too recent to trust),
    a one-page edit makes again only its terms' groups: the others are compared with
    the digest recorded for them. A shard changed in a way its times cannot show (the
    record made to match the changed file, as a coarse clock would leave it) is still
    made again."""
    import json

    vault = site_vault
    search = vault / "site" / "_vw" / "search"
    shutil.rmtree(vault / "site")
    _build(vault)  # every shard written now
    record = json.loads(sqlite3.connect(vault / ".veriwiki" / "site-terms.db").execute(
        "SELECT value FROM meta WHERE key = 'shards'").fetchone()[0])
    assert all(len(f) == 6 for files in record.values() for f in files)  # all racy
    made = _shard_groups_made(monkeypatch)
    made.append(0)
    _append(vault / "wiki" / "Filler 1.md", "\nQuokka.\n")
    _build(vault)
    total = len(list(search.glob("t-*.json")))
    assert 0 < made[-1] < total / 2, (made, total)
    _same_as_cold(vault)

    # a shard's bytes changed, its recorded identity made to match (a clock too coarse
    # to show the change): the digest tells
    shard = search / "t-fi.json"
    assert b'"filler"' in shard.read_bytes()
    shard.write_bytes(shard.read_bytes().replace(b'"filler"', b'"fillur"'))
    conn = sqlite3.connect(vault / ".veriwiki" / "site-terms.db")
    record = json.loads(conn.execute(
        "SELECT value FROM meta WHERE key = 'shards'").fetchone()[0])
    st = shard.stat()
    entries = [f for files in record.values() for f in files if f[0] == "fi"]
    assert len(entries) == 1 and len(entries[0]) == 6
    entries[0][1:5] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    conn.execute("UPDATE meta SET value = ? WHERE key = 'shards'", (json.dumps(record),))
    conn.commit()
    conn.close()
    _append(vault / "wiki" / "Filler 7.md", "\nLine.\n")
    _build(vault)
    assert b"fillur" not in shard.read_bytes()
    _same_as_cold(vault)

    # once their times are old enough (no margin here), the digests are dropped: the
    # next builds compare identities only
    from veriwiki.services import site_parts

    monkeypatch.setattr(site_parts, "RACY_NS", 0)
    _append(vault / "wiki" / "Filler 7.md", "\nAnother line.\n")
    _build(vault)
    record = json.loads(sqlite3.connect(vault / ".veriwiki" / "site-terms.db").execute(
        "SELECT value FROM meta WHERE key = 'shards'").fetchone()[0])
    assert all(len(f) == 5 for files in record.values() for f in files)
    _same_as_cold(vault)
