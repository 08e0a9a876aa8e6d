"""The derived SQLite index under ``.veriwiki/``: pages, links, tags and an FTS5 table.

Everything here can be deleted and rebuilt from the files. Updates run in one
transaction in WAL mode, so readers never see a half-updated index. The schema lives in
:mod:`.schema`, the write path in :mod:`.write`, the queries in :mod:`.query`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection
from pathlib import Path

from veriwiki.adapters.sqlite_index import schema
from veriwiki.adapters.sqlite_index.query import BM25_WEIGHTS, IndexReader, SearchHit
from veriwiki.adapters.sqlite_index.schema import SCHEMA_VERSION
from veriwiki.adapters.sqlite_index.write import (
    PATHS_LIMIT,
    RACY_NS,
    IndexStats,
    IndexWriter,
    target_key,
)

__all__ = ["BM25_WEIGHTS", "RACY_NS", "SCHEMA_VERSION", "IndexStats", "SearchHit",
           "SqliteIndex", "target_key"]


class SqliteIndex(IndexWriter, IndexReader):
    """The vault's derived index database."""

    def __init__(self, root: Path, db_path: Path, pages_root: str, max_page_bytes: int,
                 exclude: tuple[str, ...] = (), generated: tuple[str, ...] = ()) -> None:
        self.root = root
        self.exclude = exclude
        self.generated = set(generated)  # catalog and log: exempt from the size limit
        self.db_path = db_path
        self.pages_root = pages_root
        self.max_page_bytes = max_page_bytes
        self._conn: sqlite3.Connection | None = None
        self.notice: str | None = None
        self.recreated = False

    @property
    def conn(self) -> sqlite3.Connection:
        """An open connection with the current schema; recreates a bad database."""
        if self._conn is not None:
            return self._conn
        conn, reason = schema.open_current(self.db_path)
        if conn is not None:
            self._conn = conn
            return conn
        conn = schema.create(self.db_path)
        verb = "rebuilt" if reason else "built"
        self.notice = (f"the index ({self.db_path.name}) {reason or 'was missing'}; "
                       f"{verb} it from the files")
        self.recreated = True
        self._conn = conn
        return conn

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def note(self, key: str) -> str | None:
        """A value another part of veriwiki keeps with the index to save work, or None
        (derived state too: lost with the database; an unreadable one reads as None)."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key=?",
                                    (f"note:{key}",)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    def set_note(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` (see :meth:`note`); a database that cannot take
        it now is left as it is."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                              (f"note:{key}", value))

    def update(self, rebuild: bool = False, paths: Collection[str] | None = None
               ) -> IndexStats:
        """Bring the index in line with the files; only changed files are parsed.

        With ``paths`` (the files a write just made, changed or removed) only those are
        looked at, with no scan of the vault, when the scan manifest lists their
        folders; the manifest keeps every other file as last seen, so the next full
        update still finds what anyone else changed. Otherwise, and for more than
        ``PATHS_LIMIT`` paths, the whole vault is scanned as without ``paths``.
        A database that turns out to be damaged is deleted and rebuilt once.
        """
        try:
            if paths is not None and not rebuild and len(paths) <= PATHS_LIMIT:
                done = self._update_paths(paths)
                if done is not None:
                    return done
            return self._update(rebuild)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            self.close()
            schema.drop_files(self.db_path)
            stats = self._update(True)
            self.notice = (f"the index ({self.db_path.name}) was corrupt ({exc}); "
                           "rebuilt it from the files")
            return IndexStats(stats.parsed, stats.removed, stats.total, True, self.notice)
