"""Per-page check results, reused by the next check: ``.veriwiki/check-cache.db``.

One row per page (see :class:`PageRow`), valid only for the page's blob (git hash of
its file); each facet's findings in it are valid only under that facet's key, a hash of
every other input of the facet's rules (the check service computes and compares them).
Parsed source sidecars are kept too, by a hash of their path and text, and the name
tables of the last link resolver (:class:`NameTables`), so a check that resolves the
links of a few pages looks their targets up instead of reading every page's names.

The ``report`` table keeps, for the site build's check, the report part of each page
that check found nothing new on, under a hash of what it is made from
(:mod:`veriwiki.services.check_quiet`).

The whole file is read at once (one snapshot) and written back in one transaction. It
is derived state: a damaged or foreign file is deleted and rebuilt without a word, and
a failure to read or write it only costs time.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Collection
from dataclasses import astuple, dataclass
from pathlib import Path

from veriwiki.adapters.sqlite_tx import write_transaction

FORMAT = "1"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS info(key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS pages(path TEXT PRIMARY KEY, blob TEXT NOT NULL, "
    "blocks INTEGER NOT NULL, quoted TEXT NOT NULL, cited TEXT NOT NULL, "
    "dvec TEXT NOT NULL, facets TEXT NOT NULL, findings TEXT NOT NULL, "
    "targets TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS sidecars(hash TEXT PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS names(tab TEXT NOT NULL, name TEXT NOT NULL, "
    "data TEXT NOT NULL, PRIMARY KEY (tab, name)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS report(key TEXT PRIMARY KEY, data TEXT NOT NULL) "
    "WITHOUT ROWID",
)


_TEXT = ("path", "blob", "quoted", "cited", "dvec", "facets", "findings", "targets")


@dataclass(slots=True)
class PageRow:
    """What the last check stored for one page; every text field is '' when empty.

    ``quoted`` lists the source versions the page quotes and ``cited`` the source ids it
    cites; ``dvec`` the hashes of the cited sources when the ``sources`` facet ran;
    ``facets`` each facet's key and rules; ``findings`` (JSON) the findings per rule;
    ``targets`` (JSON) the pages and files its links reach. The check service encodes
    and decodes them.
    """

    blob: str
    blocks: int
    quoted: str
    cited: str
    dvec: str
    facets: str
    findings: str
    targets: str


class NameTables:
    """Stored name tables, read one entry at a time from one snapshot of the file.

    ``tab`` names a table (the check service chooses them), ``name`` a key in it; each
    entry is JSON. Valid only for the key they were stored with (:meth:`CheckCache.names`
    checks it in the same snapshot). Any read error reads as a missing entry.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn

    def get(self, tab: str, name: str) -> str | None:
        """The JSON stored under ``name`` in ``tab``, or None."""
        if self._conn is None:
            return None
        try:
            row = self._conn.execute("SELECT data FROM names WHERE tab = ? AND name = ?",
                                     (tab, name)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row is not None and isinstance(row[0], str) else None

    def close(self) -> None:
        """End the snapshot."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


class CheckCache:
    """The rows of the previous check, and the rows this check writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._new_names: tuple[str, list[tuple[str, str, str]]] | None = None
        self._tables: NameTables | None = None
        self._rows: dict[str, PageRow] = {}
        self._sidecars: dict[str, str] = {}
        self._new: dict[str, PageRow] = {}
        self._new_sidecars: dict[str, str] = {}
        self._used_sidecars: set[str] = set()
        self._reports: dict[str, str] | None = None  # key -> a page's report (JSON)
        self._new_reports: dict[str, str] = {}
        self._used_reports: set[str] | None = None  # None: the reports were not used

    def load(self) -> dict[str, PageRow]:
        """Path → row of every page the last check stored ({} when there is no cache)."""
        if not self.path.exists():
            return {}
        try:
            conn = sqlite3.connect(self.path, timeout=10)
            try:
                conn.execute("BEGIN")
                row = conn.execute("SELECT value FROM info WHERE key='format'").fetchone()
                if row is None or row[0] != FORMAT:
                    raise sqlite3.DatabaseError("not a check cache of this format")
                self._rows = {r[0]: PageRow(*r[1:]) for r in conn.execute(
                    "SELECT path, blob, blocks, quoted, cited, dvec, facets, findings, "
                    "targets FROM pages WHERE " + " AND ".join(
                        f"typeof({c}) = 'text'" for c in _TEXT) +
                    " AND typeof(blocks) = 'integer'")}  # other rows are damaged: unused
                self._sidecars = dict(conn.execute("SELECT hash, data FROM sidecars"))
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self._rows, self._sidecars = {}, {}
            if not _busy(exc):
                self._drop()
        return self._rows

    def reports(self) -> dict[str, str]:
        """Every stored page report (key -> JSON; the check service makes and checks
        them), read once; {} when there are none or they cannot be read."""
        if self._reports is None:
            self._reports = {}
            if self.path.exists():
                try:
                    conn = sqlite3.connect(self.path, timeout=10)
                    try:
                        self._reports = {k: v for k, v in conn.execute(
                            "SELECT key, data FROM report") if type(v) is str}
                    finally:
                        conn.close()
                except sqlite3.Error:
                    self._reports = {}
        return self._reports

    def use_reports(self, used: set[str], new: dict[str, str]) -> None:
        """The page reports this check used (the others are dropped by :meth:`flush`)
        and the new ones to write."""
        self._used_reports = used
        self._new_reports = new

    def sidecar(self, digest: str) -> str | None:
        """The stored parse of a sidecar (JSON), or None."""
        raw = self._new_sidecars.get(digest) or self._sidecars.get(digest)
        if raw is not None:
            self._used_sidecars.add(digest)
        return raw

    def put_sidecar(self, digest: str, data: str) -> None:
        """Remember the parse of a sidecar (JSON)."""
        self._used_sidecars.add(digest)
        self._new_sidecars[digest] = data

    def names(self, key: str) -> NameTables | None:
        """The stored name tables when they were stored under ``key``, else None."""
        if not self.path.exists():
            return None
        try:
            conn = sqlite3.connect(self.path, timeout=10)  # only read through
        except sqlite3.Error:
            return None
        try:
            conn.execute("BEGIN")  # one snapshot: the key and every entry read after it
            row = conn.execute("SELECT value FROM info WHERE key = 'names'").fetchone()
            found = conn.execute("SELECT value FROM info WHERE key = 'format'").fetchone()
        except sqlite3.Error:
            row = found = None
        if row is None or row[0] != key or found is None or found[0] != FORMAT:
            conn.close()
            return None
        self._tables = NameTables(conn)
        return self._tables

    def close(self) -> None:
        """End the snapshot of :meth:`names` (also done by :meth:`flush`)."""
        if self._tables is not None:
            self._tables.close()
            self._tables = None

    def put_names(self, key: str, entries: list[tuple[str, str, str]]) -> None:
        """Replace the name tables by ``entries`` (table, name, JSON), valid for ``key``
        (written by :meth:`flush`)."""
        self._new_names = (key, entries)

    def put(self, path: str, row: PageRow) -> None:
        """Remember a page's row (written by :meth:`flush`)."""
        if self._rows.get(path) != row:
            self._new[path] = row

    def flush(self, paths: Collection[str]) -> None:
        """Write the new rows; drop those of pages not in ``paths`` and unused sidecars."""
        gone = [p for p in self._rows if p not in paths]
        old_sidecars = [h for h in self._sidecars if h not in self._used_sidecars]
        self.close()
        old_reports = [k for k in (self._reports or ()) if self._used_reports is not None
                       and k not in self._used_reports]
        if not (self._new or self._new_sidecars or gone or old_sidecars or self._new_names
                or self._new_reports or old_reports):
            return
        for attempt in range(2):
            try:
                self._write(gone, old_sidecars, old_reports)
                break
            except sqlite3.Error as exc:
                if attempt or _busy(exc):
                    return  # another check is writing, or no luck: this only costs time
                self._drop()  # damaged: start a new file
                gone, old_sidecars, old_reports = [], [], []
            except OSError:
                return
        self._new.clear()
        self._new_sidecars.clear()
        self._new_names = None
        self._new_reports = {}

    def _write(self, gone: list[str], old_sidecars: list[str], old_reports: list[str]
               ) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            with write_transaction(conn):
                for ddl in _SCHEMA:
                    conn.execute(ddl)
                row = conn.execute("SELECT value FROM info WHERE key='format'").fetchone()
                if row is None or row[0] != FORMAT:
                    conn.execute("DELETE FROM pages")
                    conn.execute("DELETE FROM sidecars")
                    conn.execute("DELETE FROM names")
                    conn.execute("DELETE FROM report")
                    conn.execute("DELETE FROM info WHERE key = 'names'")
                    conn.execute("INSERT OR REPLACE INTO info VALUES ('format', ?)", (FORMAT,))
                conn.executemany("DELETE FROM pages WHERE path = ?", ((p,) for p in gone))
                conn.executemany("DELETE FROM sidecars WHERE hash = ?",
                                 ((h,) for h in old_sidecars))
                conn.executemany("INSERT OR REPLACE INTO pages VALUES (?,?,?,?,?,?,?,?,?)",
                                 ((p, *astuple(r)) for p, r in self._new.items()))
                conn.executemany("INSERT OR REPLACE INTO sidecars VALUES (?, ?)",
                                 self._new_sidecars.items())
                conn.executemany("DELETE FROM report WHERE key = ?", ((k,) for k in old_reports))
                conn.executemany("INSERT OR REPLACE INTO report VALUES (?, ?)",
                                 self._new_reports.items())
                if self._new_names is not None:
                    key, entries = self._new_names
                    conn.execute("DELETE FROM info WHERE key = 'names'")
                    conn.execute("DELETE FROM names")
                    conn.executemany("INSERT OR REPLACE INTO names VALUES (?, ?, ?)", entries)
                    conn.execute("INSERT INTO info VALUES ('names', ?)", (key,))
        finally:
            conn.close()

    def _drop(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(str(self.path) + suffix)


def _busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)
