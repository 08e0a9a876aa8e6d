"""The first fill of an empty index: rows go in by batches (nothing to delete) and, for
many pages, straight into the database file under a rollback journal before the index
returns to WAL. Each way must give the index a rebuild gives, and leave it in WAL."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from conftest import Git, write
from test_write_fast import PAGES, dump
from veriwiki import api
from veriwiki.adapters.sqlite_index import SqliteIndex, manifest
from veriwiki.vault import Vault


def _journal(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def assert_like_a_rebuild(v: Vault, tmp_path: Path) -> None:
    """Every row by path (problems and attachments too) as an index filled row by row
    has them (one that was not empty: a file problem of a file gone seeds it), and a
    manifest the next scan can use."""
    other = SqliteIndex(v.root, tmp_path / "row-by-row.db", v.pages_root,
                        v.config.vault.max_page_bytes, tuple(v.config.vault.exclude),
                        (v.index_page, v.log_page))
    other.conn.execute("INSERT INTO problems VALUES ('wiki/gone.md', 'unreadable', 'x', "
                       "NULL, 1, 1, 1)")
    other.update()
    assert dump(v.index) == dump(other)
    assert dump(v.index)["problems"]  # the file and the link problem are there
    other.close()
    assert manifest.load(v.index.conn, v.pages_root, tuple(v.config.vault.exclude))


def _fill(vault: Path, git: Git, extra: int) -> None:
    for rel, text in PAGES.items():
        write(vault, rel, text)
    for n in range(extra):
        write(vault, f"wiki/many/Page {n}.md", f"# Page {n}\n\nSee [[Page {n + 1}]]. #t{n % 7}\n")
    (vault / "wiki" / "bad.md").write_bytes(b"\xff\xfe not text")  # a file problem
    write(vault, "wiki/pic.png", "not really a picture")  # an attachment
    os.symlink("/etc/hostname", vault / "wiki" / "out.md")  # a link problem
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "pages")


def test_a_first_index_equals_a_rebuild(vault: Path, git: Git, tmp_path: Path) -> None:
    _fill(vault, git, 10)
    v = api.open_vault(vault)
    try:
        stats = api.update_index(v)  # few pages: batches, no journal switch
        assert stats.total >= len(PAGES) + 10 and not stats.rebuilt
        assert_like_a_rebuild(v, tmp_path)
        assert _journal(v.index.db_path) == "wal"
    finally:
        v.close()


def test_a_first_index_of_many_pages_equals_a_rebuild(vault: Path, git: Git,
                                                      tmp_path: Path) -> None:
    _fill(vault, git, 2100)  # more than a bulk update's 2,000: the rollback journal
    v = api.open_vault(vault)
    try:
        api.update_index(v)
        assert _journal(v.index.db_path) == "wal"
        assert_like_a_rebuild(v, tmp_path)
        api.update_index(v)  # and the next update finds nothing to do
        assert v.index.conn.execute("SELECT count(*) FROM pages").fetchone()[0] > 2100
    finally:
        v.close()


def test_a_first_fill_while_another_connection_is_open(vault: Path, git: Git,
                                                       tmp_path: Path) -> None:
    """The journal cannot change under a reader: the fill goes through the WAL."""
    _fill(vault, git, 2100)
    v = api.open_vault(vault)
    db = tmp_path / "held.db"
    index = SqliteIndex(v.root, db, v.pages_root, v.config.vault.max_page_bytes,
                        tuple(v.config.vault.exclude), (v.index_page, v.log_page))
    index.conn  # noqa: B018 - creates the database
    reader = sqlite3.connect(db)
    try:
        reader.execute("SELECT count(*) FROM pages").fetchone()
        index.update()
        assert _journal(db) == "wal"
        api.update_index(v)
        assert dump(index) == dump(v.index)
    finally:
        reader.close()
        index.close()
        v.close()


def test_a_parse_worker_that_dies_fails_the_index_and_stores_nothing(
        vault: Path, git: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-parse (the OOM killer, say): the index stops with a message
    instead of waiting for it forever, and the index keeps what it had."""
    import multiprocessing

    from veriwiki.adapters.sqlite_index import write as index_write
    from veriwiki.errors import VeriwikiError

    if "fork" not in multiprocessing.get_all_start_methods() or (os.cpu_count() or 1) < 2:
        pytest.skip("the parse pool needs fork and 2 cores; one process parses instead")
    _fill(vault, git, 450)  # over the pool's threshold of 400 pages
    v = api.open_vault(vault)
    try:
        api.update_index(v)
        before = dump(v.index)
        for n in range(450):
            write(vault, f"wiki/many/Page {n}.md", f"# Page {n}\n\nChanged {n}.\n")
        parse = index_write._parse_one

        def dies_on_one(job: tuple[str, str, int, int, int, str, bool]) -> object:
            if job[1].endswith("Page 123.md"):
                os._exit(9)  # in the forked worker: no exception, the process is gone
            return parse(job)

        monkeypatch.setattr(index_write, "_parse_one", dies_on_one)
        with pytest.raises(VeriwikiError, match="died"):
            api.update_index(v)
        assert dump(v.index) == before
        monkeypatch.setattr(index_write, "_parse_one", parse)
        assert api.update_index(v).parsed >= 450  # (and a row whose time was too recent)
        assert v.index.conn.execute("SELECT count(*) FROM fts WHERE fts MATCH ?",
                                    ('"changed 123"',)).fetchone()[0] == 1
    finally:
        v.close()
