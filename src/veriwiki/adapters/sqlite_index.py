"""The derived SQLite index under ``.veriwiki/``: pages, links, tags and an FTS5 table.

Everything here can be deleted and rebuilt from the files. Updates run in one
transaction in WAL mode, so readers never see a half-updated index.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from veriwiki.adapters.fs import Entry, blob_sha, decode_page, walk_vault
from veriwiki.adapters.writes import check_state_dir, ensure_dir
from veriwiki.core.model import FileProblem, Page
from veriwiki.core.names import normalize_name
from veriwiki.core.query import query_terms
from veriwiki.core.records import page_from_json, page_to_json
from veriwiki.core.resolve import PageNames

SCHEMA_VERSION = "6"

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE pages(
  id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, size INTEGER, mtime_ns INTEGER,
  blob TEXT, title TEXT, type TEXT, summary TEXT, names TEXT, data TEXT);
CREATE TABLE links(page_id INTEGER NOT NULL, target_key TEXT, line INTEGER);
CREATE TABLE tags(page_id INTEGER NOT NULL, tag TEXT);
CREATE TABLE names(page_id INTEGER NOT NULL, name TEXT);
CREATE TABLE problems(path TEXT PRIMARY KEY, kind TEXT, message TEXT, line INTEGER,
  size INTEGER, mtime_ns INTEGER);
CREATE TABLE attachments(path TEXT PRIMARY KEY);
CREATE VIRTUAL TABLE fts USING fts5(
  title, aliases, headings, body, tokenize='porter unicode61 remove_diacritics 2');
"""

_SECONDARY = {
    "links_page": "CREATE INDEX IF NOT EXISTS links_page ON links(page_id)",
    "links_target": "CREATE INDEX IF NOT EXISTS links_target ON links(target_key)",
    "tags_page": "CREATE INDEX IF NOT EXISTS tags_page ON tags(page_id)",
    "tags_tag": "CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag)",
    "names_page": "CREATE INDEX IF NOT EXISTS names_page ON names(page_id)",
    "names_name": "CREATE INDEX IF NOT EXISTS names_name ON names(name)",
}

# BM25 column weights: title, aliases, headings, body.
BM25_WEIGHTS = (10.0, 8.0, 3.0, 1.0)
_PARALLEL_THRESHOLD = 400


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What an index update did."""

    parsed: int
    removed: int
    total: int
    rebuilt: bool = False
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result."""

    path: str
    title: str
    score: float
    snippet: str

    def to_json(self) -> dict[str, object]:
        """The hit as ``search --json`` prints it."""
        return {"path": self.path, "title": self.title, "score": float(f"{self.score:.6g}"),
                "snippet": self.snippet}


def target_key(target: str) -> str:
    """The link-table key of a target: its normalised last path part without ``.md``."""
    last = target.rsplit("/", 1)[-1]
    if last.lower().endswith(".md"):
        last = last[:-3]
    return normalize_name(last)


@dataclass(frozen=True, slots=True)
class _PageRow:
    """A parsed page flattened into the values the index stores (built in workers)."""

    path: str
    title: str
    type: str | None
    summary: str
    names: str
    data: str
    links: list[tuple[str, int]]
    tags: tuple[str, ...]
    name_keys: list[str]
    aliases: str
    headings: str
    body: str


# A parse result: (path, size, mtime, blob, row | problem | None when the blob is unchanged)
_Row = tuple[str, int, int, str, "_PageRow | FileProblem | None"]

# Modification times closer than this to the scan are not trusted (coarse timestamps:
# 2 s on FAT, 1 s on HFS+ and some network file systems; a same-size edit within one
# tick keeps size and mtime). Such rows store mtime -1, so the next scan re-reads the
# file and compares its blob id, until the mtime is old enough to be trusted.
RACY_NS = 2_000_000_000


def _page_row(page: Page) -> _PageRow:
    return _PageRow(
        page.path, page.title, page.type, page.summary, _names_json(page), page_to_json(page),
        [(target_key(x.target), x.line) for x in page.links], page.tags,
        sorted({normalize_name(n) for n in (page.title, *page.aliases) if n.strip()}),
        " ".join(page.aliases), " ".join(h.text for h in page.headings), page.body)


def _parse_one(args: tuple[str, str, int, int, int, str]) -> _Row:
    root, rel, size, mtime, max_bytes, old_blob = args
    try:
        data = Path(root, rel).read_bytes()
    except OSError as exc:
        return (rel, size, mtime, "", FileProblem(rel, "unreadable", f"cannot read: {exc}"))
    blob = blob_sha(data)
    if blob == old_blob:
        return (rel, size, mtime, blob, None)  # only the stat data changed: no parse
    text = decode_page(rel, data, max_bytes)
    if isinstance(text, FileProblem):
        return (rel, size, mtime, blob, text)
    from veriwiki.core.parse import parse_page  # deferred: markdown-it loads only when needed

    return (rel, size, mtime, blob, _page_row(parse_page(rel, text)))


def _names_json(page: Page) -> str:
    return json.dumps([page.aliases, [h.text for h in page.headings],
                       [b for b, _ in page.block_ids]], ensure_ascii=False)


class SqliteIndex:
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

    # -- connection ---------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        folder = self.db_path.parent
        # no link in the state folder may send the database (or a cache beside it) elsewhere
        check_state_dir(folder.parent, folder.name)
        ensure_dir(folder, folder.parent)
        conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 60000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _drop_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(self.db_path) + suffix)

    @property
    def conn(self) -> sqlite3.Connection:
        """An open connection with the current schema; recreates a bad database."""
        if self._conn is not None:
            return self._conn
        reason = None
        if self.db_path.exists():
            try:
                conn = self._connect()
                row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row and row[0] == SCHEMA_VERSION:
                    self._conn = conn
                    return conn
                else:
                    reason = "had an older format"
                conn.close()
            except sqlite3.DatabaseError:
                reason = "was corrupt"
            self._drop_files()
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name='meta'").fetchone()
            if not exists:  # another process may have created it meanwhile
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                for ddl in _SECONDARY.values():
                    conn.execute(ddl)
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
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

    # -- updating ------------------------------------------------------------------

    def update(self, rebuild: bool = False) -> IndexStats:
        """Bring the index in line with the files; only changed files are parsed.

        A database that turns out to be damaged is deleted and rebuilt once.
        """
        try:
            return self._update(rebuild)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            self.close()
            self._drop_files()
            stats = self._update(True)
            self.notice = (f"the index ({self.db_path.name}) was corrupt ({exc}); "
                           "rebuilt it from the files")
            return IndexStats(stats.parsed, stats.removed, stats.total, True, self.notice)

    def _update(self, rebuild: bool) -> IndexStats:
        conn = self.conn
        limit = conn.execute("SELECT value FROM meta WHERE key='max_page_bytes'").fetchone()
        if limit is None or limit[0] != str(self.max_page_bytes):
            rebuild = True  # the size limit changed: every file must be judged again
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('max_page_bytes', ?)",
                         (str(self.max_page_bytes),))
        trusted_before = time.time_ns() - RACY_NS  # taken before the walk stats any file
        walk = walk_vault(self.root, self.pages_root, self.exclude)
        known: dict[str, tuple[int, int, int, str]] = {}
        if not rebuild:
            for pid, path, size, mtime, blob in conn.execute(
                    "SELECT id, path, size, mtime_ns, blob FROM pages"):
                known[path] = (pid, size, mtime, blob)
            for path, size, mtime in conn.execute(
                    "SELECT path, size, mtime_ns FROM problems WHERE size IS NOT NULL"):
                known.setdefault(path, (-1, size, mtime, ""))
        todo: list[Entry] = []
        seen = set()
        for entry in walk.pages:
            seen.add(entry.path)
            old = known.get(entry.path)
            if old is None or old[1] != entry.size or old[2] != entry.mtime_ns:
                todo.append(entry)
        removed = [p for p in known if p not in seen]
        attachments = sorted(walk.attachments)
        old_attachments = None if rebuild else [
            r[0] for r in conn.execute("SELECT path FROM attachments ORDER BY path")]
        link_problems = {p.path: p for p in walk.problems}
        old_link_problems = {r[0] for r in conn.execute(
            "SELECT path FROM problems WHERE size IS NULL")}
        if (not todo and not removed and attachments == old_attachments
                and set(link_problems) == old_link_problems and not rebuild):
            total = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
            return IndexStats(0, 0, total, notice=self.notice)

        parsed = 0
        bulk = rebuild or len(todo) > 2000
        pending_links: list[tuple[int, str, int]] = []
        pending_tags: list[tuple[int, str]] = []
        pending_names: list[tuple[int, str]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            if rebuild:
                for table in ("pages", "links", "tags", "names", "problems", "attachments",
                              "fts"):
                    conn.execute(f"DELETE FROM {table}")
            if bulk:  # secondary indexes are cheaper to build once at the end
                for name in _SECONDARY:
                    conn.execute(f"DROP INDEX IF EXISTS {name}")
            for path in removed:
                self._delete(conn, path)
            for row in self._parse_all(todo, known):
                path, size, mtime, blob, result = row
                mtime = mtime if mtime < trusted_before else -1
                old = known.get(path)
                if old is not None and old[0] >= 0 and old[3] == blob:
                    conn.execute("UPDATE pages SET size=?, mtime_ns=? WHERE id=?",
                                 (size, mtime, old[0]))
                    continue
                assert result is not None  # None only for a blob equal to the stored one
                self._delete(conn, path)
                if isinstance(result, FileProblem):
                    conn.execute("INSERT INTO problems VALUES (?,?,?,?,?,?)",
                                 (path, result.kind, result.message, result.line, size, mtime))
                else:
                    pid = self._insert(conn, result, size, mtime, blob)
                    pending_links += ((pid, key, line) for key, line in result.links)
                    pending_tags += ((pid, t) for t in result.tags)
                    pending_names += ((pid, n) for n in result.name_keys)
                    if len(pending_links) > 20000:
                        self._flush(conn, pending_links, pending_tags, pending_names)
                parsed += 1
            self._flush(conn, pending_links, pending_tags, pending_names)
            if bulk:
                for ddl in _SECONDARY.values():
                    conn.execute(ddl)
            if attachments != old_attachments:
                conn.execute("DELETE FROM attachments")
                conn.executemany("INSERT INTO attachments VALUES (?)",
                                 ((a,) for a in attachments))
            conn.execute("DELETE FROM problems WHERE size IS NULL")
            conn.executemany("INSERT OR REPLACE INTO problems VALUES (?,?,?,?,NULL,NULL)",
                             ((p.path, p.kind, p.message, p.line)
                              for p in link_problems.values()))
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        total = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
        return IndexStats(parsed, len(removed), total, rebuilt=rebuild or self.recreated,
                          notice=self.notice)

    def _parse_all(self, todo: list[Entry], known: dict[str, tuple[int, int, int, str]]
                   ) -> Iterator[_Row]:
        args = [(str(self.root), e.path, e.size, e.mtime_ns,
                 self.max_page_bytes if e.path not in self.generated else 1 << 40,
                 known[e.path][3] if e.path in known and known[e.path][0] >= 0 else "")
                for e in todo]
        workers = min(os.cpu_count() or 1, 8)
        if len(args) >= _PARALLEL_THRESHOLD and workers > 1 and sys.platform != "win32":
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(workers) as pool:
                yield from pool.imap(_parse_one, args, chunksize=64)
        else:
            for a in args:
                yield _parse_one(a)

    @staticmethod
    def _delete(conn: sqlite3.Connection, path: str) -> None:
        row = conn.execute("SELECT id FROM pages WHERE path=?", (path,)).fetchone()
        if row:
            pid = row[0]
            conn.execute("DELETE FROM pages WHERE id=?", (pid,))
            conn.execute("DELETE FROM links WHERE page_id=?", (pid,))
            conn.execute("DELETE FROM tags WHERE page_id=?", (pid,))
            conn.execute("DELETE FROM names WHERE page_id=?", (pid,))
            conn.execute("DELETE FROM fts WHERE rowid=?", (pid,))
        conn.execute("DELETE FROM problems WHERE path=?", (path,))

    @staticmethod
    def _flush(conn: sqlite3.Connection, links: list[tuple[int, str, int]],
               tags: list[tuple[int, str]], names: list[tuple[int, str]]) -> None:
        conn.executemany("INSERT INTO links VALUES (?,?,?)", links)
        conn.executemany("INSERT INTO tags VALUES (?,?)", tags)
        conn.executemany("INSERT INTO names VALUES (?,?)", names)
        links.clear()
        tags.clear()
        names.clear()

    @staticmethod
    def _insert(conn: sqlite3.Connection, row: _PageRow, size: int, mtime: int, blob: str) -> int:
        cur = conn.execute(
            "INSERT INTO pages(path, size, mtime_ns, blob, title, type, summary, names, data) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (row.path, size, mtime, blob, row.title, row.type, row.summary, row.names, row.data))
        pid = int(cur.lastrowid or 0)
        conn.execute(
            "INSERT INTO fts(rowid, title, aliases, headings, body) VALUES (?,?,?,?,?)",
            (pid, row.title, row.aliases, row.headings, row.body))
        return pid

    # -- reading -------------------------------------------------------------------

    def page_count(self) -> int:
        """Number of indexed pages."""
        return int(self.conn.execute("SELECT count(*) FROM pages").fetchone()[0])

    def paths(self, page_type: str | None = None) -> list[str]:
        """Every indexed page path (of ``page_type`` if given), sorted."""
        if page_type is not None:
            return [r[0] for r in self.conn.execute(
                "SELECT path FROM pages WHERE type=? ORDER BY path", (page_type,))]
        return [r[0] for r in self.conn.execute("SELECT path FROM pages ORDER BY path")]

    def page_blobs(self) -> dict[str, str]:
        """Path → blob id (git hash of the file) of every indexed page, in path order."""
        return dict(self.conn.execute("SELECT path, blob FROM pages ORDER BY path"))

    def names_digest(self) -> str:
        """A hash of all that link resolution reads: every page's path, title, aliases,
        headings and block ids, and the attachments."""
        import hashlib

        h = hashlib.sha1()
        for path, title, names in self.conn.execute(
                "SELECT path, title, names FROM pages ORDER BY path"):
            h.update(f"{path}\0{title}\0{names}\1".encode("utf-8", "surrogatepass"))
        h.update(b"\2")
        for (path,) in self.conn.execute("SELECT path FROM attachments ORDER BY path"):
            h.update(path.encode("utf-8", "surrogatepass") + b"\1")
        return h.hexdigest()

    def load_pages(self, paths: Iterable[str] | None = None) -> list[Page]:
        """Parsed pages (without bodies), all or the given ones."""
        return [page for page, _ in self.load_pages_blobs(paths)]

    def load_pages_blobs(self, paths: Iterable[str] | None = None) -> list[tuple[Page, str]]:
        """Parsed pages with the blob id they were parsed from, all or the given ones."""
        if paths is None:
            rows = self.conn.execute(
                "SELECT path, data, blob FROM pages ORDER BY path").fetchall()
        else:
            rows = []
            for p in paths:
                rows += self.conn.execute("SELECT path, data, blob FROM pages WHERE path=?",
                                          (p,)).fetchall()
        return [(page_from_json(path, data), blob) for path, data, blob in rows]

    def page_names(self) -> list[PageNames]:
        """What link resolution needs of every page."""
        out = []
        for path, title, names in self.conn.execute("SELECT path, title, names FROM pages"):
            aliases, headings, blocks = json.loads(names)
            out.append(PageNames(path, title, tuple(aliases), tuple(headings), tuple(blocks)))
        return out

    def catalog_rows(self) -> dict[str, tuple[str, str, str | None, str]]:
        """Path → (blob id, title, type, summary) for building the catalog."""
        return {path: (blob, title, typ, summary) for path, blob, title, typ, summary in
                self.conn.execute("SELECT path, blob, title, type, summary FROM pages")}

    def attachments(self) -> list[str]:
        """Every non-page file in the vault."""
        return [r[0] for r in self.conn.execute("SELECT path FROM attachments")]

    def problems(self) -> list[FileProblem]:
        """Files the index refused to read."""
        return [FileProblem(p, k, m, line or 1) for p, k, m, line in self.conn.execute(
            "SELECT path, kind, message, line FROM problems ORDER BY path")]

    def pages_linking_to(self, keys: Iterable[str]) -> list[str]:
        """Pages holding a link whose target key is one of ``keys`` (candidates only)."""
        keys = list(set(keys))
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        return [r[0] for r in self.conn.execute(
            f"SELECT DISTINCT p.path FROM links l JOIN pages p ON p.id = l.page_id "
            f"WHERE l.target_key IN ({marks})", keys)]

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Ranked pages for ``query``.

        Pages whose title or alias is exactly the query come first; then BM25 over all
        words (every word must match, falling back to any word when none does).
        """
        words = list(query_terms(query).words)  # distinct and capped: bounded work
        if not words:
            return []
        quoted = [f'"{w}"' for w in words]
        quoted[-1] += "*" if len(words[-1]) >= 3 else ""
        match = " AND ".join(quoted)
        hits = self._search(match, limit)
        if not hits and len(words) > 1:
            match = " OR ".join(quoted)
            hits = self._search(match, limit)
        exact = [r[0] for r in self.conn.execute(
            "SELECT DISTINCT p.path FROM names n JOIN pages p ON p.id = n.page_id "
            "WHERE n.name = ? ORDER BY p.path", (normalize_name(query),))]
        if not exact:
            return hits
        top = max((h.score for h in hits), default=0.0)
        found = {h.path: h for h in hits}
        first = []
        for path in exact:
            hit = found.pop(path, None) or self._one(match, path)
            first.append(SearchHit(hit.path, hit.title, top + 1.0, hit.snippet))
        return (first + [h for h in hits if h.path in found])[:limit]

    def _one(self, match: str, path: str) -> SearchHit:
        row = self.conn.execute(
            "SELECT p.title, snippet(fts, -1, '<mark>', '</mark>', '…', 12) FROM fts "
            "JOIN pages p ON p.id = fts.rowid WHERE fts MATCH ? AND p.path = ?",
            (match, path)).fetchone()
        if row is None:
            title = self.conn.execute("SELECT title FROM pages WHERE path=?",
                                      (path,)).fetchone()
            return SearchHit(path, title[0] if title else path, 0.0, "")
        return SearchHit(path, row[0], 0.0, " ".join(row[1].split()))

    def _search(self, match: str, limit: int) -> list[SearchHit]:
        w = BM25_WEIGHTS
        sql = (
            "SELECT p.path, p.title, bm25(fts, ?, ?, ?, ?) AS rank, "
            "snippet(fts, -1, '<mark>', '</mark>', '…', 12) "
            "FROM fts JOIN pages p ON p.id = fts.rowid WHERE fts MATCH ? "
            "ORDER BY rank LIMIT ?")
        try:
            rows = self.conn.execute(sql, (*w, match, limit)).fetchall()
        except sqlite3.OperationalError:
            return []
        return [SearchHit(path, title, -rank, " ".join(snip.split())) for path, title, rank, snip
                in rows]
