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
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from veriwiki.errors import InputError
from veriwiki.services.site_terms import open_store

if TYPE_CHECKING:
    from veriwiki.core.model import Page
    from veriwiki.core.resolve import Resolver
    from veriwiki.services.site_cache import Previous
    from veriwiki.services.site_model import LinkTables

STORE_FILE = "site-store.db"
FORMAT = 3  # 3: the resolver's tables in ``names``
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


def row_of(page: Page, blob: str, tables: LinkTables, back: list[str] | None = None
           ) -> Row:
    """The row of a slimmed ``page`` whose links ``tables`` holds (its backlinks from
    them too unless given)."""
    path = page.path
    return make_row(page, blob, tables.outlinks[path], tables.embeds[path],
                    sorted(tables.back.get(path, ())) if back is None else back,
                    tables.page_attachments[path])


def patch_rows(rows: dict[str, Row], full: Callable[[str], Row], loaded: dict[str, Page],
               blobs: dict[str, str], tables: LinkTables, previous: Previous) -> set[str]:
    """Put the rows of the pages ``loaded`` (changed since the last build) into ``rows``
    (which holds the last build's rows; ``full`` reads one with its heavy columns) and
    patch the backlinks of the pages they link to now or linked to before: the paths of
    the other rows changed."""
    back: dict[str, set[str]] = {}

    def back_of(path: str) -> set[str]:
        if path not in back:
            back[path] = set(json.loads(full(path).back))
        return back[path]

    for path in loaded:  # every old row read before the first is replaced
        before = json.loads(full(path).outs)
        back_of(path)
        if previous.token is not None:
            previous.outs[path] = before
        after = tables.outlinks[path]
        for target in set(before) - set(after):
            if target in rows:
                back_of(target).discard(path)
        for target in set(after) - set(before):
            if target in rows:
                back_of(target).add(path)
    for path, page in loaded.items():
        rows[path] = row_of(page, blobs[path], tables, sorted(back_of(path)))
    others = {p for p in back if p not in loaded and p in rows}
    for path in others:
        rows[path] = with_back(full(path), sorted(back[path]))
    return others


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
        self._built: Resolver | None = None  # made from the index (the rows did not hold)
        self._names: StoredNames | None = None  # the resolver's tables kept
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

    def resolver(self, build: Callable[[], Resolver]) -> Resolver:
        """The link resolver of the rows' names: read from the store name by name while
        its rows hold (:class:`StoredNames`), else ``build()`` (whose tables the next
        :meth:`save` writes, since every row is written again then)."""
        if self.token is None:
            self._built = build()
            return self._built
        from veriwiki.services.resolver_tables import StoredResolver

        self._names = StoredNames(self.path, self.meta, build)
        return StoredResolver(self._names, self.meta["root"])

    def saved_resolver(self, build: Callable[[], Resolver]) -> Resolver:
        """After a :meth:`save` that wrote the resolver's tables: a resolver reading them
        name by name (each process with its own connection), the one made in memory let
        go; ``build()`` answers if the tables fail."""
        from veriwiki.services.resolver_tables import StoredResolver

        self._built = None
        self._names = StoredNames(self.path, self.meta, build)
        return StoredResolver(self._names, self.meta["root"])

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
        tables = self._built if whole else self._names.made if self._names else None
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
            if whole or tables is not None:  # the resolver's tables go with the rows
                # (the same names); damaged ones are written again
                from veriwiki.services.resolver_tables import entries

                if tables is None:
                    raise sqlite3.DatabaseError("no resolver to keep with the rows")
                conn.execute("DROP TABLE IF EXISTS names")
                conn.execute("CREATE TABLE names (tab TEXT NOT NULL, name TEXT NOT NULL, "
                             "data TEXT NOT NULL, PRIMARY KEY (tab, name)) WITHOUT ROWID")
                conn.executemany("INSERT OR REPLACE INTO names VALUES (?, ?, ?)",
                                 entries(tables))
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


class StoredNames:
    """The resolver's tables in the store, one entry read at a time (in a read
    transaction that also checks the store still holds the names of this build: another
    build may have filled it again meanwhile). A damaged or missing entry table, or a
    store that changed, makes every answer come from ``build()`` from then on. A
    process forked from the one that opened it opens its own connection."""

    def __init__(self, path: Path, meta: dict[str, str], build: Callable[[], Resolver]
                 ) -> None:
        self.path = path
        self.meta = meta
        self._build = build
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._full: Resolver | None = None
        self.complete = False  # every entry read (:meth:`fill`): no entry read again

    @property
    def made(self) -> Resolver | None:
        """The resolver made from the index because the tables failed (else None)."""
        return self._full

    def _read(self, query: str, args: tuple[str, ...] = ()) -> list[Any]:
        """The rows of ``query`` read in one snapshot with the store's meta, which must
        be this build's; raises sqlite3.Error otherwise."""
        if self._conn is None or self._pid != os.getpid():
            self._conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                         isolation_level=None)
            self._pid = os.getpid()
        conn = self._conn
        conn.execute("BEGIN")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if any(meta.get(k) != v for k, v in self.meta.items()):
                raise sqlite3.DatabaseError("the site store changed during the build")
            return conn.execute(query, args).fetchall()
        finally:
            conn.execute("COMMIT")

    def lookup(self, attr: str, name: str) -> Any:
        """One entry's value (None when there is none)."""
        from veriwiki.services.resolver_tables import Damaged, value_of

        if self._full is None and not self.complete:
            try:
                got = self._read("SELECT data FROM names WHERE tab = ? AND name = ?",
                                 (attr, name))
                if not got:
                    return None
                if type(got[0][0]) is str:
                    return value_of(attr, name, got[0][0])
            except (sqlite3.Error, ValueError, Damaged):
                pass  # answered from the resolver made from the index from now on
        elif self._full is None:
            return None  # every entry was read into the tables
        if self._full is None:
            self._full = self._build()
        table = getattr(self._full, attr, None)
        return table.get(name) if table is not None else None

    def fill(self, resolver: Resolver) -> None:
        """Read every entry into ``resolver``'s tables at once (before forking render
        workers: each would otherwise read the entries it needs on its own)."""
        from veriwiki.services.resolver_tables import TABLES, Damaged, value_of

        if self._full is not None or self.complete:
            return
        try:
            got = self._read("SELECT tab, name, data FROM names")
            values = [(tab, name, value_of(tab, name, data)) for tab, name, data in got
                      if tab in TABLES]
        except (sqlite3.Error, ValueError, TypeError, Damaged):
            self._full = self._build()
            return
        for tab, name, value in values:
            dict.__setitem__(getattr(resolver, tab), name, value)
        self.complete = True
        self.close()

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


class StoredPages(Mapping[str, "Page"]):
    """The build's pages by path, in path order: a page is decoded from its row the
    first time it is asked for (pages loaded from the index this build are given).
    With ``keep`` (and no page given), at most that many decoded pages are kept: the
    next one decoded past it starts the memo afresh."""

    def __init__(self, paths: list[str], rows: dict[str, Row], loaded: dict[str, Page],
                 store: SiteStore | None = None, keep: int | None = None) -> None:
        self._paths = paths
        self.rows = rows
        self._pages = loaded
        self.store = store
        self._keep = keep if keep is not None and not loaded else None
        self.own_path = {p: p for p in rows}.get  # a path as the rows' key string

    @property
    def lean(self) -> bool:
        """Only rows are held (a bounded number of decoded pages and link lists)."""
        return self._keep is not None

    def full(self, path: str) -> Row:
        """The row of ``path`` with its heavy columns."""
        row = self.rows[path]
        return row if row.rec or self.store is None else self.store.full(self.rows, path)

    def fill(self, *_: object) -> None:
        """Every row's heavy columns in memory (before forking workers)."""
        if self.store is not None:
            self.store.fill(self.rows)

    def __getitem__(self, path: str) -> Page:
        got = self._pages.get(path)
        if got is None:
            from veriwiki.services.site_cache import page_of

            got = page_of(path, json.loads(self.full(path).rec))
            if self._keep is not None and len(self._pages) >= self._keep:
                self._pages.clear()
            self._pages[path] = got
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
            # the paths are the rows' own strings (a million links: one string each)
            own = self._pages.own_path
            got = self._memo[path] = [own(p, p) for p in json.loads(raw)] if raw != "[]" else []
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, path: object) -> bool:
        return path in self._rows
