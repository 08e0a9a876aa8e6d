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
    """Key → JSON value, loaded on first use and written back by :meth:`flush`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, Any] | None = None
        self._new: dict[str, str] = {}

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
        return self._data

    def get(self, key: str) -> Any:
        """The cached value, or None."""
        raw = self._load().get(key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any) -> None:
        """Remember ``value`` (written by :meth:`flush`)."""
        raw = json.dumps(value, ensure_ascii=False)
        self._load()[key] = raw
        self._new[key] = raw

    def flush(self) -> None:
        """Write new entries; a damaged cache file is replaced."""
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
