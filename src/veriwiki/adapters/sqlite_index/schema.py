"""Schema of the derived index and opening it: a database of another format, or a
corrupt one, is deleted and created again (everything in it comes from the files)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from veriwiki.adapters.index_light import SCHEMA_VERSION  # kept there for the fast path
from veriwiki.adapters.writes import check_state_dir, ensure_dir

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE pages(
  id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, size INTEGER, mtime_ns INTEGER,
  ctime_ns INTEGER, blob TEXT, title TEXT, type TEXT, summary TEXT, names TEXT, data TEXT);
CREATE TABLE links(page_id INTEGER NOT NULL, target_key TEXT, line INTEGER);
CREATE TABLE tags(page_id INTEGER NOT NULL, tag TEXT);
CREATE TABLE names(page_id INTEGER NOT NULL, name TEXT);
CREATE TABLE problems(path TEXT PRIMARY KEY, kind TEXT, message TEXT, line INTEGER,
  size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER);
CREATE TABLE attachments(path TEXT PRIMARY KEY);
CREATE VIRTUAL TABLE fts USING fts5(
  title, aliases, headings, body, tokenize='porter unicode61 remove_diacritics 2');
"""

# Secondary indexes, by name: a bulk update drops them and builds them once at the end.
SECONDARY = {
    "links_page": "CREATE INDEX IF NOT EXISTS links_page ON links(page_id)",
    "links_target": "CREATE INDEX IF NOT EXISTS links_target ON links(target_key)",
    "tags_page": "CREATE INDEX IF NOT EXISTS tags_page ON tags(page_id)",
    "tags_tag": "CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag)",
    "names_page": "CREATE INDEX IF NOT EXISTS names_page ON names(page_id)",
    "names_name": "CREATE INDEX IF NOT EXISTS names_name ON names(name)",
}


def connect(db_path: Path) -> sqlite3.Connection:
    """A connection in WAL mode; the state folder must not hold a link."""
    folder = db_path.parent
    # no link in the state folder may send the database (or a cache beside it) elsewhere
    check_state_dir(folder.parent, folder.name)
    ensure_dir(folder, folder.parent)
    conn = sqlite3.connect(db_path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def drop_files(db_path: Path) -> None:
    """Delete the database and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(db_path) + suffix)


def open_current(db_path: Path) -> tuple[sqlite3.Connection | None, str | None]:
    """A connection to an existing database of the current schema, or ``(None, why)``.

    A database of another format or a corrupt one is deleted (with its WAL files);
    ``why`` is None when there was no database.
    """
    if not db_path.exists():
        return None, None
    try:
        conn = connect(db_path)
        row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row and row[0] == SCHEMA_VERSION:
            return conn, None
        reason = "had an older format"
        conn.close()
    except sqlite3.DatabaseError:
        reason = "was corrupt"
    drop_files(db_path)
    return None, reason


def create(db_path: Path) -> sqlite3.Connection:
    """Create the schema (unless another process just did) and return the connection."""
    conn = connect(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
        if not exists:  # another process may have created it meanwhile
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for ddl in SECONDARY.values():
                conn.execute(ddl)
            conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    return conn
