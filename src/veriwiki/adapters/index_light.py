"""The index read without the index package: is it current, and ranked search.

``veriwiki search --json`` runs in agents' loops, so its start-up is part of every
answer. This module lets the CLI's fast path (:mod:`veriwiki.cli.fast_search`) answer
from the index with the standard library only: it proves the index current from the
scan manifest the last update stored (:mod:`veriwiki.adapters.sqlite_index.manifest`
writes it; this module only reads it) and runs the same ranked query
:class:`~veriwiki.adapters.sqlite_index.SqliteIndex` runs. Anything it cannot prove
current is answered "no", and the caller takes the full path, which re-indexes.

It imports no other veriwiki module besides ``core.query`` and ``core.names`` (pure,
standard library only); ``tests/test_startup.py`` pins that.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat

from veriwiki.core.names import normalize_name
from veriwiki.core.query import query_terms

SCHEMA_VERSION = "12"  # of the index: bump it when the schema or what the parser stores changes
MANIFEST_VERSION = 2  # of the scan manifest (manifest.py writes it)
MANIFEST_KEY = "scan"  # its row in the meta table
SITE_MARK = ".veriwiki-site.json"  # a folder holding it is a built site, not content

# BM25 column weights: title, aliases, headings, body.
BM25_WEIGHTS = (10.0, 8.0, 3.0, 1.0)

Row = tuple[str, str, float, str]  # path, title, score, snippet


def manifest_settings(pages_root: str, exclude: list[str] | tuple[str, ...]) -> list[object]:
    """What a manifest records of the settings it was made with."""
    return [MANIFEST_VERSION, pages_root, list(exclude)]


def index_current(conn: sqlite3.Connection, root: str, pages_root: str,
                  exclude: list[str] | tuple[str, ...], max_page_bytes: int) -> bool:
    """True when the index provably holds what the vault's files hold now.

    Every folder the last scan listed must still have the stat it recorded (adding,
    removing or renaming an entry changes a folder's mtime and ctime; replacing it
    changes its inode), and every page the exact size, mtime and ctime the index holds
    for it. That is what the full scan (``fs.walk_vault`` with the manifest's folders)
    concludes for an unchanged vault, without building its lists. A folder recorded
    without a stat (its times were too recent to trust), a folder the scan did not list,
    a page written too recently to trust (stored with mtime -1), other settings or any
    doubt give False.
    """
    if os.stat not in os.supports_dir_fd or not hasattr(os, "O_DIRECTORY"):
        return False  # no stat relative to an open folder here (Windows): full path
    try:
        rows = dict(conn.execute(
            "SELECT key, value FROM meta WHERE key IN ('schema', 'max_page_bytes', ?)",
            (MANIFEST_KEY,)).fetchall())
        if (rows.get("schema") != SCHEMA_VERSION
                or rows.get("max_page_bytes") != str(max_page_bytes)
                or MANIFEST_KEY not in rows):
            return False
        d = json.loads(rows[MANIFEST_KEY])
        if d["settings"] != manifest_settings(pages_root, exclude) or d["missing"]:
            return False
        return _folders_unchanged(root, d["folders"], d["files"], set(d["link_problems"]))
    except (sqlite3.Error, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return False


def _folders_unchanged(root: str, folders: dict[str, list], files: int,
                       link_problems: set[str]) -> bool:
    pages = 0
    problems: set[str] = set()
    todo = [""]
    while todo:
        rel = todo.pop()
        record = folders.get(rel)
        path = os.path.join(root, rel) if rel else root
        if record is None:
            # the scan skips a built site; any other folder it did not list is a doubt
            if rel and os.path.isfile(os.path.join(path, SITE_MARK)):
                continue
            return False
        sig, kinds, names, sizes, mtimes, ctimes, folder_problems = record
        if not sig or len(kinds) != len(names):
            return False
        if not _same_files(path, sig, kinds, names, sizes, mtimes, ctimes):
            return False
        pages += len(sizes)
        problems.update(p[0] for p in folder_problems)
        prefix = rel + "/" if rel else ""
        todo += (prefix + n for k, n in zip(kinds, names, strict=True) if k == "d")
    return pages == files and problems == link_problems


def _same_files(folder: str, sig: list[int], kinds: str, names: list[str],
                sizes: list[int], mtimes: list[int], ctimes: list[int]) -> bool:
    """The folder still has stat ``sig`` and each page in it the stored stat."""
    try:
        st = os.stat(folder)
        if [st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev] != sig:
            return False
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        i = 0
        for kind, name in zip(kinds, names, strict=True):
            if kind != "p":
                continue
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if (not stat.S_ISREG(st.st_mode) or st.st_size != sizes[i]
                    or st.st_mtime_ns != mtimes[i] or st.st_ctime_ns != ctimes[i]):
                return False
            i += 1
        return i == len(sizes) == len(mtimes) == len(ctimes)
    except (OSError, IndexError, ValueError):
        return False
    finally:
        os.close(fd)


def search(conn: sqlite3.Connection, query: str, limit: int) -> list[Row]:
    """Ranked pages for ``query``: pages whose title or alias is exactly the query come
    first; then BM25 over all words (every word must match, falling back to any word
    when none does). At most ``limit`` rows."""
    words = list(query_terms(query).words)  # distinct and capped: bounded work
    if not words:
        return []
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*" if len(words[-1]) >= 3 else ""
    match = " AND ".join(quoted)
    hits = _ranked(conn, match, limit)
    if not hits and len(words) > 1:
        match = " OR ".join(quoted)
        hits = _ranked(conn, match, limit)
    exact = [r[0] for r in conn.execute(
        "SELECT DISTINCT p.path FROM names n JOIN pages p ON p.id = n.page_id "
        "WHERE n.name = ? ORDER BY p.path", (normalize_name(query),))]
    if not exact:
        return hits
    top = max((h[2] for h in hits), default=0.0)
    found = {h[0]: h for h in hits}
    first = []
    for path in exact:
        hit = found.pop(path, None) or _one(conn, match, path)
        first.append((hit[0], hit[1], top + 1.0, hit[3]))
    return (first + [h for h in hits if h[0] in found])[:limit]


def _one(conn: sqlite3.Connection, match: str, path: str) -> Row:
    row = conn.execute(
        "SELECT p.title, snippet(fts, -1, '<mark>', '</mark>', '…', 12) FROM fts "
        "JOIN pages p ON p.id = fts.rowid WHERE fts MATCH ? AND p.path = ?",
        (match, path)).fetchone()
    if row is None:
        title = conn.execute("SELECT title FROM pages WHERE path=?", (path,)).fetchone()
        return (path, title[0] if title else path, 0.0, "")
    return (path, row[0], 0.0, " ".join(row[1].split()))


def _ranked(conn: sqlite3.Connection, match: str, limit: int) -> list[Row]:
    sql = ("SELECT p.path, p.title, bm25(fts, ?, ?, ?, ?) AS rank, "
           "snippet(fts, -1, '<mark>', '</mark>', '…', 12) "
           "FROM fts JOIN pages p ON p.id = fts.rowid WHERE fts MATCH ? "
           "ORDER BY rank LIMIT ?")
    try:
        rows = conn.execute(sql, (*BM25_WEIGHTS, match, limit)).fetchall()
    except sqlite3.OperationalError:
        return []
    return [(path, title, -rank, " ".join(snip.split())) for path, title, rank, snip in rows]


def hit_json(path: str, title: str, score: float, snippet: str) -> dict[str, object]:
    """A hit as ``search --json`` prints it."""
    return {"path": path, "title": title, "score": float(f"{score:.6g}"), "snippet": snippet}
