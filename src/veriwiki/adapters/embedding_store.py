"""Page vectors for ``ask``, kept in ``.veriwiki/embeddings.db``.

A separate database rather than a table of the index: the index is dropped and rebuilt
whenever its format changes, but vectors cost model calls (minutes for a large vault
on a local model) and depend only on (embedding model, page content). Rows are keyed by
model id and page path and carry the page's content hash (its git blob id); a row
whose hash no longer matches the page is stale and is recomputed. Deleting the file
only costs time.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from array import array
from collections.abc import Iterable
from pathlib import Path

from veriwiki.adapters.sqlite_tx import write_transaction

SCHEMA_VERSION = "1"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS vectors(model TEXT NOT NULL, path TEXT NOT NULL, "
    "hash TEXT NOT NULL, dims INTEGER NOT NULL, vector BLOB NOT NULL, "
    "PRIMARY KEY(model, path))",
)


def pack(vector: list[float]) -> bytes:
    """A vector as little-endian float32 bytes."""
    data = array("f", vector)
    if data.itemsize != 4:  # pragma: no cover - every supported platform has 4-byte floats
        raise RuntimeError("float32 arrays are required")
    return data.tobytes()


def unpack(blob: bytes) -> list[float]:
    """The vector stored by :func:`pack`."""
    data = array("f")
    data.frombytes(blob)
    return data.tolist()


class EmbeddingStore:
    """Vectors per (model, page path) with the content hash they were computed from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 60000")
        for ddl in _SCHEMA:
            conn.execute(ddl)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise sqlite3.DatabaseError("embedding store of another format")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """An open connection; a damaged or foreign-format file is replaced (it is a cache)."""
        if self._conn is None:
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(str(self.path) + suffix)
                self._conn = self._open()
        return self._conn

    def load(self, model: str) -> dict[str, tuple[str, list[float]]]:
        """Path → (content hash, vector) for every page vector of ``model``."""
        return {path: (digest, unpack(blob)) for path, digest, blob in self.conn.execute(
            "SELECT path, hash, vector FROM vectors WHERE model=?", (model,))}

    def save(self, model: str, rows: Iterable[tuple[str, str, list[float]]]) -> None:
        """Store (path, content hash, vector) rows of ``model`` in one transaction."""
        conn = self.conn
        with write_transaction(conn):
            conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?,?,?,?,?)",
                             ((model, p, h, len(v), pack(v)) for p, h, v in rows))

    def remove(self, model: str, paths: Iterable[str]) -> None:
        """Forget the vectors of ``paths`` (pages that no longer exist)."""
        conn = self.conn
        conn.executemany("DELETE FROM vectors WHERE model=? AND path=?",
                         ((model, p) for p in paths))

    def count(self, model: str | None = None) -> int:
        """Number of stored vectors (of ``model``, or of every model)."""
        if model is None:
            return int(self.conn.execute("SELECT count(*) FROM vectors").fetchone()[0])
        return int(self.conn.execute("SELECT count(*) FROM vectors WHERE model=?",
                                     (model,)).fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
