"""The search index's term weights per page, kept for the next build.

``.veriwiki/site-terms.db`` (SQLite) holds each listed page's term weights with the
blob they were weighed from, and the postings table the build made from them (with
a digest of the page list it is for). A build reads the blobs of every row, the
weights of the changed pages only, updates the table for them and writes both back
in one transaction, so the table always goes with the rows it was made from.

With the table it keeps which shard files each group of terms was written as, with
each file's size, times and inode (:data:`ShardRecord`): a group none of whose terms
changed is kept when its files are still exactly those (never read), so a one-page
rebuild makes and compares the shards of the changed pages' terms only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from veriwiki.render.search import group_of, shard_groups

TERMS_FILE = "site-terms.db"
# group key -> [[shard key, size, mtime, ctime, ino(, digest of the bytes: a racy file)]]
ShardRecord = dict[str, list[list[Any]]]


def open_store(path: Path) -> tuple[sqlite3.Connection, dict[str, str]] | None:
    """A site store's database opened read-only, with its ``meta`` table; None when it
    is missing or unreadable (the build then fills it again)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return conn, dict(conn.execute("SELECT key, value FROM meta"))
    except sqlite3.Error:
        conn.close()
        return None


class TermsStore:
    """The rows of the last build (their blobs read at open) and how to replace them.
    What it reads is one snapshot of the file (a read transaction held until
    :meth:`close`)."""

    def __init__(self, cache_dir: Path, version: str) -> None:
        self.path = cache_dir / TERMS_FILE
        self.version = version
        self.blobs: dict[str, str] = {}
        self._listing: str | None = None
        self._token: str | None = None
        self._shards: str | None = None
        self._conn: sqlite3.Connection | None = None
        opened = open_store(self.path)
        if opened is None:
            return
        conn, meta = opened
        try:
            conn.execute("BEGIN")
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            if meta.get("version") != version:
                conn.close()
                return
            self.blobs = dict(conn.execute("SELECT path, blob FROM terms"))
            self._listing, self._token = meta.get("listing"), meta.get("token")
            self._shards = meta.get("shards")
            self._conn = conn
        except sqlite3.Error:
            conn.close()
            self.blobs = {}

    def table(self, listing: str) -> GroupedTable | None:
        """The last build's postings table when it was made for the pages ``listing``
        names, else None: its groups of terms are read when first used."""
        if self._conn is None or self._listing != listing:
            return None
        try:
            names = {g for (g,) in self._conn.execute("SELECT grp FROM postings")}
        except sqlite3.Error:
            return None
        return GroupedTable(self._read_group, names, self._token)

    def _read_group(self, group: str) -> dict[str, list[int]]:
        """One group's postings (raises ValueError when damaged or unreadable)."""
        if self._conn is None:
            raise ValueError("the terms store is closed")
        try:
            got = self._conn.execute("SELECT data FROM postings WHERE grp = ?",
                                     (group,)).fetchall()
        except sqlite3.Error as exc:
            raise ValueError(str(exc)) from exc
        if not got:
            return {}
        value = json.loads(got[0][0]) if type(got[0][0]) is str else None
        if not (isinstance(value, dict) and all(
                type(v) is list and group_of(t) == group for t, v in value.items())):
            raise ValueError(f"damaged postings of {group!r}")
        return value

    def shards(self) -> ShardRecord | None:
        """The shard files the table was written as (None when missing or damaged)."""
        try:
            record = json.loads(self._shards) if self._shards is not None else None
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        for files in record.values():
            if not (isinstance(files, list) and all(
                    isinstance(f, list) and len(f) in (5, 6) and isinstance(f[0], str)
                    and all(type(n) is int for n in f[1:5])
                    and (len(f) == 5 or isinstance(f[5], str)) for f in files)):
                return None
        return record

    def weights(self, paths: Iterable[str]) -> dict[str, dict[str, int]]:
        """The stored weights of ``paths`` (those with a row)."""
        out: dict[str, dict[str, int]] = {}
        if self._conn is None:
            return out
        try:
            for path in paths:
                got = self._conn.execute("SELECT weights FROM terms WHERE path=?",
                                         (path,)).fetchone()
                if got is not None:
                    value = json.loads(got[0])
                    if isinstance(value, dict):
                        out[path] = value
        except (sqlite3.Error, ValueError):
            return {}
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def save(self, rows: Mapping[str, tuple[str, dict[str, int] | str]], keep: set[str],
             listing: str, table: dict[str, list[int]], shards: ShardRecord) -> None:
        """Keep the rows of ``keep`` as they are, write ``rows`` (path -> blob and
        weights, as a dict or as JSON text), drop every other row and store ``table`` for ``listing``, in one
        transaction (a store that cannot be written only costs time)."""
        self.close()
        for attempt in (0, 1):
            try:
                self._save(rows, keep, listing, table, shards)
                return
            except (OSError, sqlite3.Error):
                if attempt:
                    return
                with contextlib.suppress(OSError):  # no database: made again
                    self.path.unlink(missing_ok=True)
                    keep = set()

    def _save(self, rows: Mapping[str, tuple[str, dict[str, int] | str]], keep: set[str],
              listing: str, table: dict[str, list[int]], shards: ShardRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute("CREATE TABLE IF NOT EXISTS terms (path TEXT PRIMARY KEY, "
                         "blob TEXT NOT NULL, weights TEXT NOT NULL)")
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            if meta.get("version") != self.version or not keep:
                conn.execute("DELETE FROM terms")
            else:
                old = [p for (p,) in conn.execute("SELECT path FROM terms")]
                conn.executemany("DELETE FROM terms WHERE path=?",
                                 [(p,) for p in old if p not in keep and p not in rows])
            conn.executemany("INSERT OR REPLACE INTO terms VALUES (?, ?, ?)", [
                (p, blob, w if isinstance(w, str) else dumps(w)) for p, (blob, w) in rows.items()])
            conn.execute("CREATE TABLE IF NOT EXISTS postings (grp TEXT PRIMARY KEY, "
                         "data TEXT NOT NULL) WITHOUT ROWID")
            listed = listing
            if not isinstance(table, GroupedTable):
                conn.execute("DELETE FROM postings")
                groups = shard_groups(table)
            elif meta.get("version") == self.version and meta.get("token") == table.token:
                groups = table.loaded_groups()  # the others are stored as they are
            else:  # another build wrote a table since this one was read: none is kept
                conn.execute("DELETE FROM postings")
                groups, listed = {}, ""
            conn.executemany("DELETE FROM postings WHERE grp = ?",
                             [(g,) for g, terms in groups.items() if not terms])
            conn.executemany("INSERT OR REPLACE INTO postings VALUES (?, ?)", [
                (g, dumps({t: table[t] for t in terms})) for g, terms in groups.items()
                if terms])
            conn.execute("DELETE FROM meta")
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("version", self.version), ("listing", listed), ("shards", dumps(shards)),
                ("token", secrets.token_hex(8))])
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()


class GroupedTable(dict[str, list[int]]):
    """A stored postings table, each group of terms (:func:`group_of`) read on the
    first use of one of its terms; :meth:`terms_in` and :meth:`group_names` answer
    for the whole table. A group that does not decode raises ValueError."""

    def __init__(self, read: Callable[[str], dict[str, list[int]]], names: set[str],
                 token: str | None = None) -> None:
        super().__init__()
        self.token = token  # of the stored table it reads
        self._read = read
        self._names = set(names)  # groups stored (or made here)
        self._loaded: set[str] = set()

    def _load(self, group: str) -> None:
        if group not in self._loaded:
            self._loaded.add(group)
            if group in self._names:
                dict.update(self, self._read(group))
            self._names.add(group)

    def get(self, term: str, default: Any = None) -> Any:  # type: ignore[override]
        self._load(group_of(term))
        return dict.get(self, term, default)

    def __getitem__(self, term: str) -> list[int]:
        self._load(group_of(term))
        return dict.__getitem__(self, term)

    def __setitem__(self, term: str, value: list[int]) -> None:
        self._load(group_of(term))
        dict.__setitem__(self, term, value)

    def pop(self, term: str, *default: Any) -> Any:  # type: ignore[override]
        self._load(group_of(term))
        return dict.pop(self, term, *default)

    def __contains__(self, term: object) -> bool:
        if not isinstance(term, str):
            return False
        self._load(group_of(term))
        return dict.__contains__(self, term)

    def group_names(self) -> list[str]:
        """Every group that holds or held terms, sorted."""
        return sorted(self._names)

    def terms_in(self, group: str) -> list[str]:
        """The sorted terms of ``group`` (read now when not yet read)."""
        self._load(group)
        return sorted(t for t in dict.keys(self) if group_of(t) == group)

    def loaded_groups(self) -> dict[str, list[str]]:
        """The groups read (and perhaps changed) so far, with their terms now."""
        out: dict[str, list[str]] = {g: [] for g in self._loaded}
        for term in dict.keys(self):
            out[group_of(term)].append(term)
        return out


def dumps(value: Any) -> str:
    """JSON as the store keeps it (compact)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


UNKNOWN = [-1, -1, -1, -1]


def shard_entry(path: Any, key: str, blob: bytes, recent: int) -> list[Any]:
    """What the next build compares a shard file with: its identity, and for a file
    changed after ``recent`` (ns) a digest of the bytes written."""
    ident = _identity(path)
    if ident is None:
        return [key, *UNKNOWN]
    if max(ident[1], ident[2]) < recent:
        return [key, *ident]
    return [key, *ident, hashlib.sha256(blob).hexdigest()[:32]]


def shard_unchanged(path: Any, entry: list[Any]) -> bool:
    """The file is the one ``entry`` recorded (by identity, and by content when the
    entry holds a digest)."""
    if _identity(path) != entry[1:5]:
        return False
    if len(entry) == 5:
        return True
    try:
        with open(path, "rb") as fh:
            return bool(hashlib.sha256(fh.read()).hexdigest()[:32] == entry[5])
    except OSError:
        return False


def _identity(path: Any) -> list[int] | None:
    """Size, change times and inode of a file; None when it is not a plain file."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
