"""The write side of the derived index: find changed files, parse them (in worker
processes for many), and store the results in one transaction."""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from veriwiki.adapters.fs import (
    Entry,
    Folder,
    blob_sha,
    decode_page,
    is_page_path,
    read_fd,
    walk_vault,
)
from veriwiki.adapters.sqlite_index import manifest
from veriwiki.adapters.sqlite_index.schema import SECONDARY
from veriwiki.adapters.sqlite_tx import write_transaction
from veriwiki.core.model import FileProblem, Page
from veriwiki.core.names import file_name_problem, normalize_name
from veriwiki.core.records import page_to_json
from veriwiki.core.resolve import PageNames
from veriwiki.errors import VeriwikiError

_PARALLEL_THRESHOLD = 400
_BATCH_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What an index update did."""

    parsed: int
    removed: int
    total: int
    rebuilt: bool = False
    notice: str | None = None


def target_key(target: str) -> str:
    """The link-table key of a target: its normalised last path part without ``.md``."""
    last = target.rsplit("/", 1)[-1]
    if last.lower().endswith(".md"):
        last = last[:-3]
    return normalize_name(last)


class _PageRow(NamedTuple):
    """A parsed page flattened into the values the index stores (built in workers; a
    tuple, which pickles to and from the main process several times faster than a
    frozen dataclass with slots)."""

    path: str
    title: str
    type: str | None
    summary: str
    names: str
    data: str
    link_keys: list[str]  # the target key and the line of each link
    link_lines: list[int]
    tags: tuple[str, ...]
    name_keys: list[str]
    aliases: str
    headings: str
    body: str


# A page for an emptied index: (id, size, mtime, ctime, blob, row)
_NewPage = tuple[int, int, int, int, str, _PageRow]
# A parse result: (path, size, mtime, blob, row | problem | None when the blob is unchanged)
_Row = tuple[str, int, int, str, "_PageRow | FileProblem | None"]

# Modification times closer than this to the scan are not trusted (coarse timestamps:
# 2 s on FAT, 1 s on HFS+ and some network file systems; a same-size edit within one
# tick keeps size and mtime). Such rows store mtime -1, so the next scan re-reads the
# file and compares its blob id, until the mtime is old enough to be trusted.
RACY_NS = 2_000_000_000
PATHS_LIMIT = 256  # more changed files than this: one scan (and the parse pool) is cheaper


def _page_row(page: Page) -> _PageRow:
    return _PageRow(
        page.path, page.title, page.type, page.summary, _names_json(page), page_to_json(page),
        [target_key(x.target) for x in page.links], [x.line for x in page.links], page.tags,
        sorted({normalize_name(n) for n in (page.title, *page.aliases) if n.strip()}),
        " ".join(page.aliases), " ".join(h.text for h in page.headings), page.body)


def _is_empty(conn: sqlite3.Connection) -> bool:
    """True when the index holds no page and no file problem."""
    return conn.execute("SELECT EXISTS(SELECT 1 FROM pages) OR EXISTS(SELECT 1 FROM "
                        "problems)").fetchone()[0] == 0


def _journal(conn: sqlite3.Connection, mode: str) -> bool:
    """Switch to journal ``mode``; False when another connection holds it as it is."""
    try:
        got = conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()
    except sqlite3.OperationalError:
        return False
    return got is not None and str(got[0]).lower() == mode


def _read(path: str, size: int) -> bytes:
    """The file at ``path``: one read call when its listed ``size`` still holds."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        return read_fd(fd, size)
    finally:
        os.close(fd)


_Job = tuple[str, str, int, int, int, str, bool]  # root, path, size, mtime, limit, blob, listing


def _parse_one(args: _Job) -> _Row:
    root, rel, size, mtime, max_bytes, old_blob, listing = args
    try:
        data = _read(os.path.join(root, rel), size)
    except OSError as exc:
        return (rel, size, mtime, "", FileProblem(rel, "unreadable", f"cannot read: {exc}"))
    blob = blob_sha(data)
    if blob == old_blob:
        return (rel, size, mtime, blob, None)  # only the stat data changed: no parse
    text = decode_page(rel, data, max_bytes)
    if isinstance(text, FileProblem):
        return (rel, size, mtime, blob, text)
    from veriwiki.core.parse import parse_page  # deferred: markdown-it loads only when needed

    return (rel, size, mtime, blob, _page_row(parse_page(rel, text, listing=listing)))


def _parse_batch(batch: list[_Job]) -> list[_Row]:
    return [_parse_one(a) for a in batch]


def _batches(args: list[_Job]) -> Iterator[list[_Job]]:
    """Work for the parse pool in order: up to 64 pages or ``_BATCH_BYTES`` each, so a
    folder of large pages (changelogs) is shared between the workers, not one's chunk."""
    batch: list[_Job] = []
    size = 0
    for a in args:
        if batch and (len(batch) == 64 or size + a[2] > _BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(a)
        size += a[2]
    if batch:
        yield batch


def _names_json(page: Page) -> str:
    return PageNames(page.path, page.title, page.aliases, tuple(h.text for h in page.headings),
                     tuple(b for b, _ in page.block_ids), page.anchors).names_json()


class IndexWriter(ABC):
    """Bringing the index in line with the files; the class using it provides ``conn``
    and the vault settings."""

    root: Path
    exclude: tuple[str, ...]
    generated: set[str]
    pages_root: str
    max_page_bytes: int
    notice: str | None
    recreated: bool

    @property
    @abstractmethod
    def conn(self) -> sqlite3.Connection:
        """An open connection with the current schema."""

    def _update(self, rebuild: bool) -> IndexStats:
        conn = self.conn
        limit = conn.execute("SELECT value FROM meta WHERE key='max_page_bytes'").fetchone()
        if limit is None or limit[0] != str(self.max_page_bytes):
            rebuild = True  # the size limit changed: every file must be judged again
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('max_page_bytes', ?)",
                         (str(self.max_page_bytes),))
        trusted_before = time.time_ns() - RACY_NS  # taken before the walk stats any file
        last = None if rebuild else manifest.load(conn, self.pages_root, self.exclude)
        walk = walk_vault(self.root, self.pages_root, self.exclude,
                          previous=last.folders if last else None,
                          trusted_before=trusted_before)
        if last is not None and manifest.is_current(last, walk):
            if manifest.has_new_folders(last, walk):
                manifest.refresh_folders(conn, last, walk, self.pages_root, self.exclude)
            return IndexStats(0, 0, last.total, notice=self.notice)
        if last is not None:
            # a few files changed: update just their rows and patch the manifest (no
            # read of every page row, no rewrite of the whole manifest)
            changed = manifest.changed_paths(last, walk, PATHS_LIMIT)
            if changed is not None:
                done = self._update_paths(changed, walk.folders)
                if done is not None:
                    return done
        known: dict[str, tuple[int, int, int, int, str]] = {}
        if not rebuild:
            for pid, path, size, mtime, ctime, blob in conn.execute(
                    "SELECT id, path, size, mtime_ns, ctime_ns, blob FROM pages"):
                known[path] = (pid, size, mtime, ctime, blob)
            for path, size, mtime, ctime in conn.execute(
                    "SELECT path, size, mtime_ns, ctime_ns FROM problems "
                    "WHERE size IS NOT NULL"):
                known.setdefault(path, (-1, size, mtime, ctime, ""))
        todo: list[Entry] = []
        seen = set()
        for entry in walk.pages:
            seen.add(entry.path)
            old = known.get(entry.path)
            if (old is None or old[1] != entry.size or old[2] != entry.mtime_ns
                    or old[3] != entry.ctime_ns):
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
            with write_transaction(conn):  # the index is current: record what was seen
                manifest.store(conn, walk, self.pages_root, self.exclude)
            total = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
            return IndexStats(0, 0, total, notice=self.notice)

        bulk = rebuild or len(todo) > 2000
        # a first fill of an empty database writes straight into its file (a rollback
        # journal of nothing) instead of through the WAL, which the commit would then
        # copy into the file: ~0.3 s of a 10k cold index, spent after the parse
        journal = bulk and not known and _is_empty(conn) and _journal(conn, "delete")
        with write_transaction(conn):
            empty = rebuild or _is_empty(conn)  # (checked again inside the transaction)
            if rebuild:
                for table in ("pages", "links", "tags", "names", "problems", "attachments",
                              "fts"):
                    conn.execute(f"DELETE FROM {table}")
            if bulk:  # secondary indexes are cheaper to build once at the end
                for name in SECONDARY:
                    conn.execute(f"DROP INDEX IF EXISTS {name}")
            for path in removed:
                self._delete(conn, path)
            parsed = self._store(conn, todo, known, trusted_before, empty=empty)
            if bulk:
                for ddl in SECONDARY.values():
                    conn.execute(ddl)
            if attachments != old_attachments:
                conn.execute("DELETE FROM attachments")
                conn.executemany("INSERT INTO attachments VALUES (?)",
                                 ((a,) for a in attachments))
            conn.execute("DELETE FROM problems WHERE size IS NULL")
            conn.executemany(
                "INSERT OR REPLACE INTO problems VALUES (?,?,?,?,NULL,NULL,NULL)",
                ((p.path, p.kind, p.message, p.line) for p in link_problems.values()))
            manifest.store(conn, walk, self.pages_root, self.exclude)
        if journal:
            _journal(conn, "wal")  # (every connection asks for WAL again anyway)
        total = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
        return IndexStats(parsed, len(removed), total, rebuilt=rebuild or self.recreated,
                          notice=self.notice)

    def _update_paths(self, paths: Collection[str],
                      seen: dict[str, Folder] | None = None) -> IndexStats | None:
        """Bring the rows of ``paths`` (files a write just made or removed) in line with
        the files, and the scan manifest with them; None when that cannot be done
        exactly (no manifest, another size limit, a path in a folder the last scan did
        not list, a link or anything else the scan would report), and only then."""
        conn = self.conn
        limit = conn.execute("SELECT value FROM meta WHERE key='max_page_bytes'").fetchone()
        if limit is None or limit[0] != str(self.max_page_bytes):
            return None
        root = str(self.root)
        real_root = os.path.realpath(root)
        with write_transaction(conn):
            last = manifest.load_folders(conn, self.pages_root, self.exclude)
            if last is None:
                return None
            trusted_before = time.time_ns() - RACY_NS  # taken before any stat
            kinds: dict[str, str | None] = {}
            todo: list[Entry] = []
            for path in sorted(set(paths)):
                parts = path.split("/")
                if any(p.startswith(".") for p in parts):
                    continue  # the scan never looks into dot-folders or at dot-files
                folder = path.rpartition("/")[0]
                if (manifest.listed(last, path) not in ("p", "a", "") or "" in parts
                        or file_name_problem(parts[-1]) is not None
                        or (folder and os.path.realpath(os.path.join(root, *parts[:-1]))
                            != os.path.join(real_root, *parts[:-1]))):
                    return None  # a folder the scan did not list, a folder, a problem
                try:
                    st = os.lstat(os.path.join(root, *parts))
                except FileNotFoundError:
                    kinds[path] = None
                    continue
                except OSError:
                    return None
                if not stat.S_ISREG(st.st_mode):
                    return None  # a link or a folder: the scan's rules apply
                if is_page_path(path, self.pages_root, self.exclude):
                    kinds[path] = "p"
                    todo.append(Entry(path, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
                else:
                    kinds[path] = "a"
            known: dict[str, tuple[int, int, int, int, str]] = {}
            for path in kinds:
                for row in conn.execute("SELECT id, size, mtime_ns, ctime_ns, blob FROM pages "
                                        "WHERE path=?", (path,)):
                    known[path] = row
                for row in conn.execute("SELECT -1, size, mtime_ns, ctime_ns, '' FROM problems"
                                        " WHERE path=? AND size IS NOT NULL", (path,)):
                    known.setdefault(path, row)
            removed = 0
            for path, kind in kinds.items():
                if kind != "p" and path in known:
                    self._delete(conn, path)
                    removed += known[path][0] >= 0  # a page, not a problem
                if kind == "a":
                    conn.execute("INSERT OR IGNORE INTO attachments VALUES (?)", (path,))
                else:
                    conn.execute("DELETE FROM attachments WHERE path=?", (path,))
            parsed = self._store(conn, todo, known, trusted_before)
            stats: dict[str, tuple[int, int, int]] = {}
            for e in todo:
                for size, mtime, ctime in conn.execute(
                        "SELECT size, mtime_ns, ctime_ns FROM pages WHERE path=? UNION ALL "
                        "SELECT size, mtime_ns, ctime_ns FROM problems WHERE path=?",
                        (e.path, e.path)):
                    stats[e.path] = (size, mtime, ctime)
            total = conn.execute("SELECT count(*) FROM pages").fetchone()[0]
            manifest.patch(conn, last, kinds, stats, total, seen)
        return IndexStats(parsed, removed, total, notice=self.notice)

    def _store(self, conn: sqlite3.Connection, todo: list[Entry],
               known: dict[str, tuple[int, int, int, int, str]], trusted_before: int,
               empty: bool = False) -> int:
        """Read, parse and store the files of ``todo``; the number whose rows changed.

        ``empty`` says the tables were just emptied (a rebuild): nothing needs deleting,
        and rows go in by batches with the ids SQLite would give them (1, 2, ...)."""
        parsed = 0
        links: list[tuple[int, str, int]] = []
        tags: list[tuple[int, str]] = []
        names: list[tuple[int, str]] = []
        pages: list[_NewPage] = []
        ctimes = {e.path: e.ctime_ns for e in todo}
        next_id = 1
        for row in self._parse_all(todo, known):
            path, size, mtime, blob, result = row
            ctime = ctimes[path]
            # a time too recent to trust is stored as -1: the next scan reads the file
            mtime = mtime if max(mtime, ctime) < trusted_before else -1
            old = known.get(path)
            if old is not None and old[0] >= 0 and old[4] == blob:
                conn.execute("UPDATE pages SET size=?, mtime_ns=?, ctime_ns=? WHERE id=?",
                             (size, mtime, ctime, old[0]))
                continue
            assert result is not None  # None only for a blob equal to the stored one
            if not empty:
                self._delete(conn, path)
            if isinstance(result, FileProblem):
                conn.execute("INSERT INTO problems VALUES (?,?,?,?,?,?,?)",
                             (path, result.kind, result.message, result.line, size, mtime,
                              ctime))
            else:
                if empty:
                    pid = next_id
                    next_id += 1
                    pages.append((pid, size, mtime, ctime, blob, result))
                else:
                    pid = self._insert(conn, result, size, mtime, ctime, blob)
                links += zip(repeat(pid), result.link_keys, result.link_lines)
                tags += zip(repeat(pid), result.tags)
                names += zip(repeat(pid), result.name_keys)
                if len(links) > 20000 or len(pages) >= 500:
                    self._flush(conn, links, tags, names, pages)
            parsed += 1
        self._flush(conn, links, tags, names, pages)
        return parsed

    def _parse_all(self, todo: list[Entry], known: dict[str, tuple[int, int, int, int, str]]
                   ) -> Iterator[_Row]:
        args = [(str(self.root), e.path, e.size, e.mtime_ns,
                 self.max_page_bytes if e.path not in self.generated else 1 << 40,
                 known[e.path][4] if e.path in known and known[e.path][0] >= 0 else "",
                 e.path in self.generated)  # the catalog and log: read as listings
                for e in todo]
        workers = min(os.cpu_count() or 1, 8)
        # fork only a single-threaded process: a child forked while another thread holds
        # a lock can wait on it forever (seen in 'veriwiki serve', whose review gate and
        # health trends index a scratch worktree of every page)
        if len(args) >= _PARALLEL_THRESHOLD and workers > 1 and sys.platform != "win32" \
                and threading.active_count() == 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, process

            import veriwiki.core.parse  # noqa: F401 - loaded once, here: the workers inherit it
            # not multiprocessing.Pool: a thread of it spins while results are read, and it
            # hangs when a worker dies; an error storing rows cancels the batches not begun
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            try:
                for rows in pool.map(_parse_batch, _batches(args)):
                    yield from rows
            except process.BrokenProcessPool:
                raise VeriwikiError("a process parsing pages died (killed? out of memory?); "
                                    "nothing was stored: run the command again") from None
            finally:
                pool.shutdown(cancel_futures=True)
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
               tags: list[tuple[int, str]], names: list[tuple[int, str]],
               pages: list[_NewPage]) -> None:
        if pages:  # (id, size, mtime, ctime, blob, row) of pages new to an emptied index
            conn.executemany(_INSERT_PAGE, (
                (pid, r.path, size, mtime, ctime, blob, r.title, r.type, r.summary, r.names,
                 r.data) for pid, size, mtime, ctime, blob, r in pages))
            conn.executemany(_INSERT_FTS, (
                (pid, r.title, r.aliases, r.headings, r.body)
                for pid, _, _, _, _, r in pages))
            pages.clear()
        conn.executemany("INSERT INTO links VALUES (?,?,?)", links)
        conn.executemany("INSERT INTO tags VALUES (?,?)", tags)
        conn.executemany("INSERT INTO names VALUES (?,?)", names)
        links.clear()
        tags.clear()
        names.clear()

    @staticmethod
    def _insert(conn: sqlite3.Connection, row: _PageRow, size: int, mtime: int, ctime: int,
                blob: str) -> int:
        cur = conn.execute(_INSERT_PAGE, (None, row.path, size, mtime, ctime, blob, row.title,
                                          row.type, row.summary, row.names, row.data))
        pid = int(cur.lastrowid or 0)
        conn.execute(_INSERT_FTS, (pid, row.title, row.aliases, row.headings, row.body))
        return pid


_INSERT_PAGE = ("INSERT INTO pages(id, path, size, mtime_ns, ctime_ns, blob, title, type, "
                "summary, names, data) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
_INSERT_FTS = "INSERT INTO fts(rowid, title, aliases, headings, body) VALUES (?,?,?,?,?)"
