"""The site's per-page store: what a build keeps of each page for the next one.

``.veriwiki/site-store.db`` (SQLite) holds one row per page: its blob id, the page as
the site keeps it (:func:`site_cache.page_record`, as JSON text), where its links lead
(outlinks, embeds and the pages linking to it, as JSON lists of paths; attachments),
its title and summary, and short digests of what the groups of outputs read of it
(the listing line, the claims, the review fields). A build reads every row's columns
as text and decodes a page only when something asks for it (:class:`StoredPages`), so
a one-page rebuild decodes the changed pages and their neighbours only; it then
rewrites the rows of the changed pages and of the pages whose backlinks they changed,
in one transaction.

The rows hold while the store's version (site code, ``veriwiki.core``, the vault's
configuration), the names digest (every page's path and link names: the rows' links
were resolved against them) and the pages root are those of the build; otherwise every
row is made again from the index. A build that stops half-way leaves the last
committed rows, which still match their blobs; the build token in ``site-keys.json``
tells whether the page keys were written after them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from veriwiki.errors import InputError
from veriwiki.services.site_terms import open_store

if TYPE_CHECKING:
    from veriwiki.core.model import Page

STORE_FILE = "site-store.db"
FORMAT = 2
_COLUMNS = "blob, rec, outs, embeds, back, atts, title, summary, aliases, listing, claims, review"
_HEAVY = "rec, outs, embeds, back"
HELD = "held"  # a row's record once its page is held decoded (never valid JSON of a record)
_LIGHT = "atts, title, summary, aliases, listing, claims, review"


class Row(NamedTuple):
    """One page's row, every column as stored (text)."""

    blob: str
    rec: str  # JSON of site_cache.page_record ("": not read yet, with the next three)
    outs: str  # JSON list of the pages it links to
    embeds: str  # JSON list of the pages it embeds
    back: str  # JSON list of the pages linking to it
    atts: str  # JSON list of the attachments it uses
    title: str
    summary: str
    aliases: str  # JSON list
    listing: str  # digest of what the listings show of it
    claims: str  # digest of its claims ("" without claims)
    review: str  # digest of its type and review date


def _digest(value: Any) -> str:
    raw = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_row(page: Page, blob: str, outs: list[str], embeds: list[str], back: list[str],
             atts: list[str]) -> Row:
    """The row of a (slimmed) page whose links were just resolved."""
    from veriwiki.services.site_cache import page_record

    claims = ([[c.line, [[x.source_id, x.version, x.quote, x.line] for x in c.citations]]
               for c in page.claims])
    return Row(blob, _dumps(page_record(page)), _dumps(outs), _dumps(embeds), _dumps(back),
               _dumps(atts), page.title, page.summary, _dumps(list(page.aliases)),
               _digest([page.path, page.title, page.summary, list(page.tags)]),
               _digest([page.path, page.title, claims]) if claims else "",
               _digest([page.path, page.type, page.frontmatter.get("reviewed")]))


def with_back(row: Row, back: list[str]) -> Row:
    """``row`` with other backlinks."""
    return row._replace(back=_dumps(back))


class SiteStore:
    """The rows of the last build and how to replace them. Opening reads every row's
    short columns; the page record and the link lists ("heavy", ~80% of the bytes) are
    read when asked for (:meth:`full`), or all at once (:meth:`fill`)."""

    def __init__(self, cache_dir: Path, version: str, names: str, pages_root: str) -> None:
        self.path = cache_dir / STORE_FILE
        self.meta = {"format": str(FORMAT), "version": version, "names": names,
                     "root": pages_root}
        self.token: str | None = None  # of the rows read (None: no usable rows)
        self.rows: dict[str, Row] = {}
        self._conn: sqlite3.Connection | None = None
        opened = open_store(self.path)
        if opened is None:
            return
        conn, meta = opened
        try:
            if any(meta.get(k) != v for k, v in self.meta.items()) or not meta.get("token"):
                conn.close()
                return
            text = " AND ".join(f"typeof({c}) = 'text'" for c in ("path", "blob",
                                                                    *_LIGHT.split(", ")))
            rows = {path: Row(blob, "", "", "", "", *rest) for path, blob, *rest in conn.execute(
                f"SELECT path, blob, {_LIGHT} FROM page WHERE {text} ORDER BY path")}  # noqa: S608
            # a row of other types is left out: the paths then differ from the pages'
            # and the build fills the store again
            self.rows, self.token, self._conn = rows, meta["token"], conn
        except (sqlite3.Error, TypeError, ValueError):
            conn.close()

    def full(self, rows: dict[str, Row], path: str) -> Row:
        """``rows[path]`` with its heavy columns, read from the store when missing (the
        row the store holds for the same blob). Raises :class:`InputError` when it is
        gone (another build changed the store meanwhile)."""
        row = rows[path]
        if row.rec:
            return row
        got = None
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                got = self._conn.execute(f"SELECT {_HEAVY} FROM page WHERE path=? AND blob=?",
                                         (path, row.blob)).fetchall()  # noqa: S608
            got = got[0] if got else None  # fetchall: no statement left holding a lock
        if got is None or not all(type(v) is str and v for v in got):
            raise InputError(f"the site store lost the row of {path} during the build",
                             hint="build again (another build may have run at the same time)")
        rows[path] = row = row._replace(rec=got[0], outs=got[1], embeds=got[2], back=got[3])
        return row

    def fill(self, rows: dict[str, Row]) -> None:
        """Read the heavy columns of every row that lacks them (before forking workers:
        they do not share the connection)."""
        if self._conn is None or all(r.rec for r in rows.values()):
            return
        for path, blob, *heavy in self._conn.execute(
                f"SELECT path, blob, {_HEAVY} FROM page"):  # noqa: S608
            row = rows.get(path)
            if row is not None and not row.rec and row.blob == blob:
                rows[path] = row._replace(rec=heavy[0], outs=heavy[1], embeds=heavy[2],
                                          back=heavy[3])
        for path in rows:
            self.full(rows, path)  # raises for a row that was not there

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def save(self, rows: Mapping[str, Row], changed: set[str]) -> str | None:
        """Write the new rows (all of them when the old ones were unusable, else the
        ``changed`` ones and remove the rows of pages gone) in one transaction; the new
        token, or None when the store could not be written (it only costs time). A file
        that is no database (damaged) is replaced."""
        got = self._save(rows, changed)
        if got is None and self.token is None:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)
                got = self._save(rows, changed)
        return got

    def _save(self, rows: Mapping[str, Row], changed: set[str]) -> str | None:
        token = secrets.token_hex(8)
        whole = self.token is None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error):
            return None
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            if whole:  # made again (a table of an older format too)
                conn.execute("DROP TABLE IF EXISTS page")
            conn.execute("CREATE TABLE IF NOT EXISTS page (path TEXT PRIMARY KEY, "
                         + ", ".join(f"{c} TEXT NOT NULL" for c in _COLUMNS.split(", "))
                         + ")")  # rowid: rows of ~1 kB, read in path order
            conn.execute("DELETE FROM meta")
            if whole:
                todo: Iterator[str] = iter(rows)
            else:
                gone = [(p,) for p in self.rows if p not in rows]
                conn.executemany("DELETE FROM page WHERE path=?", gone)
                todo = iter(sorted(changed & rows.keys()))
            marks = ", ".join("?" * (len(Row._fields) + 1))
            conn.executemany(f"INSERT OR REPLACE INTO page VALUES ({marks})",  # noqa: S608
                             ((p, *rows[p]) for p in todo))
            conn.executemany("INSERT INTO meta VALUES (?, ?)",
                             [*self.meta.items(), ("token", token)])
            conn.execute("COMMIT")
            return token
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return None
        finally:
            conn.close()


class StoredPages(Mapping[str, "Page"]):
    """The build's pages by path, in path order: a page is decoded from its row the
    first time it is asked for (pages loaded from the index this build are given)."""

    def __init__(self, paths: list[str], rows: dict[str, Row], loaded: dict[str, Page],
                 store: SiteStore | None = None) -> None:
        self._paths = paths
        self.rows = rows
        self._pages = loaded
        self.store = store

    def full(self, path: str) -> Row:
        """The row of ``path`` with its heavy columns."""
        row = self.rows[path]
        return row if row.rec or self.store is None else self.store.full(self.rows, path)

    def fill(self) -> None:
        """Every row's heavy columns in memory (before forking workers)."""
        if self.store is not None:
            self.store.fill(self.rows)

    def __getitem__(self, path: str) -> Page:
        got = self._pages.get(path)
        if got is None:
            from veriwiki.services.site_cache import page_of

            got = self._pages[path] = page_of(path, json.loads(self.full(path).rec))
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, path: object) -> bool:
        return path in self.rows


class StoredLinks(Mapping[str, list[str]]):
    """One link column of the rows (outs, embeds or back), decoded when asked for."""

    def __init__(self, pages: StoredPages, column: str) -> None:
        self._pages = pages
        self._rows = pages.rows
        self._at = Row._fields.index(column)
        self._memo: dict[str, list[str]] = {}

    def __getitem__(self, path: str) -> list[str]:
        got = self._memo.get(path)
        if got is None:
            raw = self._pages.full(path)[self._at]
            got = self._memo[path] = json.loads(raw) if raw != "[]" else []
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, path: object) -> bool:
        return path in self._rows
