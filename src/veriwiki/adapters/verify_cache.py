"""A persistent cache of verification results, keyed by content.

Results of pure computations (does this quote occur in this source text; which numbers
of this sentence its quotes do not state) depend only on their inputs, so they are
stored under a hash of those inputs in ``.veriwiki/verify-cache.db`` and reused by the
next check. Deleting the file only costs time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from veriwiki import __version__

# bump when the meaning of a cached result changes
_SALT = f"v1|{__version__}"


def content_key(*parts: str) -> str:
    """The cache key of a computation over ``parts``."""
    h = hashlib.sha1(_SALT.encode())
    for part in parts:
        h.update(b"\0")
        h.update(part.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class VerifyCache:
    """Key → JSON value, read on demand and written back by :meth:`flush`.

    The first lookups query the file one key at a time (a re-check of a few pages reads
    a few rows); after :data:`BULK_AFTER` of them the whole table is read at once.
    """

    BULK_AFTER = 500

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] | None = None
        self._new: dict[str, str] = {}
        self._conn: sqlite3.Connection | None = None
        self._lookups = 0

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            self._data = {}
            with contextlib.suppress(sqlite3.Error, OSError):
                if self.path.exists():
                    conn = sqlite3.connect(self.path)
                    try:
                        self._data = dict(conn.execute("SELECT k, v FROM cache"))
                    finally:
                        conn.close()
            self._close()
        return self._data

    def _one(self, key: str) -> str | None:
        """One stored value, read from the file (None when absent or unreadable)."""
        if self._conn is None:
            if not self.path.exists():
                self._data = {}  # nothing stored yet: every lookup misses
                return None
            try:
                self._conn = sqlite3.connect(self.path, check_same_thread=False)
            except sqlite3.Error:
                self._data = {}
                return None
        try:
            row = self._conn.execute("SELECT v FROM cache WHERE k = ?", (key,)).fetchone()
        except sqlite3.Error:
            self._close()
            self._data = {}  # damaged or not a cache yet: flush replaces it
            return None
        return None if row is None else str(row[0])

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def get(self, key: str) -> Any:
        """The cached value, or None."""
        raw = self._new.get(key)
        if raw is None:
            if self._data is None and self._lookups < self.BULK_AFTER:
                self._lookups += 1
                raw = self._one(key)
            else:
                raw = self._load().get(key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any) -> None:
        """Remember ``value`` (written by :meth:`flush`)."""
        raw = json.dumps(value, ensure_ascii=False)
        if self._data is not None:
            self._data[key] = raw
        self._new[key] = raw

    def flush(self) -> None:
        """Write new entries; a damaged cache file is replaced."""
        self._close()
        if not self._new:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(2):
            try:
                conn = sqlite3.connect(self.path, timeout=30)
                try:
                    conn.execute("CREATE TABLE IF NOT EXISTS cache (k TEXT PRIMARY KEY, v TEXT)")
                    with conn:
                        conn.executemany("INSERT OR REPLACE INTO cache VALUES (?, ?)",
                                         self._new.items())
                finally:
                    conn.close()
                break
            except sqlite3.DatabaseError:
                if attempt:
                    return  # the cache is an optimisation; never fail a check over it
                self.path.unlink(missing_ok=True)
        self._new.clear()
