"""The scan manifest: what the last index update saw of the vault.

It is one JSON value in the ``meta`` table, written in the same transaction as the
rows it describes. The next freshness scan hands its folders to
:func:`veriwiki.adapters.fs.walk_vault` (so only folders that changed are listed
again) and compares every page's stat with the stat the index holds for it, without
reading the pages table. Anything that does not match sends the update down the full
path, which reads the pages table as before.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from itertools import compress
from typing import Any

from veriwiki.adapters.fs import Folder, Walk
from veriwiki.adapters.index_light import MANIFEST_KEY as _KEY
from veriwiki.adapters.index_light import manifest_settings
from veriwiki.adapters.sqlite_tx import write_transaction
from veriwiki.core.model import FileProblem


@dataclass(frozen=True, slots=True)
class Manifest:
    """A stored manifest, decoded."""

    raw: str  # as stored, to notice that another process rewrote it meanwhile
    folders: dict[str, Folder]
    files: dict[str, tuple[int, int, int]]  # path -> (size, mtime_ns, ctime_ns) as indexed
    attachments: list[str]  # sorted
    link_problems: set[str]
    total: int  # pages in the index


def _settings(pages_root: str, exclude: tuple[str, ...]) -> list[Any]:
    return manifest_settings(pages_root, exclude)


def load(conn: sqlite3.Connection, pages_root: str, exclude: tuple[str, ...]
         ) -> Manifest | None:
    """The stored manifest, or None when there is none, it was made with other
    settings, or it lists a page the index does not hold (or cannot be read: the full
    scan is always a safe answer)."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_KEY,)).fetchone()
    if row is None:
        return None
    try:
        d = json.loads(row[0])
        if d["settings"] != _settings(pages_root, exclude) or d["missing"]:
            return None
        folders: dict[str, Folder] = {}
        files: dict[str, tuple[int, int, int]] = {}
        # built with C-level zips: this runs before every search
        for rel, (sig, kinds, names, sizes, mtimes, ctimes, problems) in d["folders"].items():
            prefix = rel + "/" if rel else ""
            rels = [prefix + n for n in names] if prefix else list(names)
            if len(kinds) != len(rels):
                return None
            pages = list(compress(rels, map("p".__eq__, kinds)))
            if not len(pages) == len(sizes) == len(mtimes) == len(ctimes):
                return None
            files.update(zip(pages, zip(sizes, mtimes, ctimes, strict=True), strict=True))
            folders[rel] = Folder(tuple(sig) if sig else None,  # type: ignore[arg-type]
                                  tuple(zip(kinds, rels, strict=True)),
                                  tuple(FileProblem(*x) for x in problems))
        if len(files) != d["files"]:
            return None  # the index holds a file no folder lists: scan in full
        return Manifest(row[0], folders, files, list(d["attachments"]),
                        set(d["link_problems"]), int(d["total"]))
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def is_current(manifest: Manifest, walk: Walk) -> bool:
    """True when ``walk`` found exactly what the index holds, every page unchanged."""
    files = manifest.files
    if len(walk.pages) != len(files):
        return False
    for e in walk.pages:
        old = files.get(e.path)
        if old is None or old[0] != e.size or old[1] != e.mtime_ns or old[2] != e.ctime_ns:
            return False
    return (sorted(walk.attachments) == manifest.attachments
            and {p.path for p in walk.problems} == manifest.link_problems)


def _encode(walk: Walk, pages_root: str, exclude: tuple[str, ...],
            files: dict[str, tuple[int, int, int]], total: int) -> str:
    """The manifest as stored. Per folder: its stat, the kinds of its entries as one
    string ("p" page, "a" attachment, "d" folder), their names, the stat the index holds
    for each page (size, mtime and ctime lists), and its file problems. ``missing``
    counts listed pages the index holds no stat for (such a manifest is never used)."""
    folders = {}
    missing = 0
    for rel, f in walk.folders.items():
        cut = len(rel) + 1 if rel else 0
        sizes: list[int] = []
        mtimes: list[int] = []
        ctimes: list[int] = []
        for kind, path in f.items:
            if kind == "p":
                stat = files.get(path)
                if stat is None:
                    missing += 1
                    stat = (-1, -1, -1)
                sizes.append(stat[0])
                mtimes.append(stat[1])
                ctimes.append(stat[2])
        folders[rel] = [list(f.sig) if f.sig else None, "".join(k for k, _ in f.items),
                        [path[cut:] for _, path in f.items], sizes, mtimes, ctimes,
                        [[p.path, p.kind, p.message, p.line] for p in f.problems]]
    return json.dumps({
        "settings": _settings(pages_root, exclude),
        "folders": folders,
        "files": len(files),
        "missing": missing,
        "attachments": sorted(walk.attachments),
        "link_problems": sorted({p.path for p in walk.problems}),
        "total": total,
    }, ensure_ascii=False, separators=(",", ":"))


def store(conn: sqlite3.Connection, walk: Walk, pages_root: str,
          exclude: tuple[str, ...]) -> None:
    """Record ``walk`` with the stats the index now holds (inside the update's
    transaction, after its rows are written)."""
    files: dict[str, tuple[int, int, int]] = {}
    for path, size, mtime, ctime in conn.execute(
            "SELECT path, size, mtime_ns, ctime_ns FROM pages"):
        files[path] = (size, mtime, ctime)
    total = len(files)
    for path, size, mtime, ctime in conn.execute(
            "SELECT path, size, mtime_ns, ctime_ns FROM problems WHERE size IS NOT NULL"):
        files.setdefault(path, (size, mtime, ctime))
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                 (_KEY, _encode(walk, pages_root, exclude, files, total)))


def changed_paths(manifest: Manifest, walk: Walk, limit: int) -> list[str] | None:
    """The files ``walk`` found added, changed or removed since the manifest (pages and
    attachments), or None when there are more than ``limit`` or anything else differs
    (a file problem, a link): then only the full update judges the scan."""
    if ({p.path for p in walk.problems} != manifest.link_problems
            or walk.folders.keys() != manifest.folders.keys()):
        return None  # a folder came, went or became a built site: the scan's rules
    files = manifest.files
    out = []
    kept = 0  # pages found that the manifest lists
    for e in walk.pages:
        old = files.get(e.path)
        if old is not None:
            kept += 1
        if old is None or old[0] != e.size or old[1] != e.mtime_ns or old[2] != e.ctime_ns:
            out.append(e.path)
            if len(out) > limit:
                return None
    if kept != len(files):  # some listed page is gone
        seen = {e.path for e in walk.pages}
        out += (p for p in files if p not in seen)
    attachments = set(walk.attachments)
    old_attachments = set(manifest.attachments)
    if attachments != old_attachments:
        out += sorted(attachments ^ old_attachments)
    return out if len(out) <= limit else None


def has_new_folders(manifest: Manifest, walk: Walk) -> bool:
    """True when ``walk`` listed a folder it may reuse next time but the manifest
    would not let it (a folder whose times have become old enough to trust)."""
    return any(f.sig is not None and manifest.folders.get(rel) is not f
               for rel, f in walk.folders.items())


def refresh_folders(conn: sqlite3.Connection, manifest: Manifest, walk: Walk,
                    pages_root: str, exclude: tuple[str, ...]) -> None:
    """Store ``walk``'s folders with the manifest's page stats, when the index is
    current and no other process has rewritten the manifest since it was read.

    Only a speed-up: a busy or read-only database is left as it is.
    """
    value = _encode(walk, pages_root, exclude, manifest.files, manifest.total)
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("PRAGMA busy_timeout = 50")
        try:
            with write_transaction(conn):
                row = conn.execute("SELECT value FROM meta WHERE key=?", (_KEY,)).fetchone()
                if row is not None and row[0] == manifest.raw:
                    conn.execute("UPDATE meta SET value=? WHERE key=?", (value, _KEY))
        finally:
            conn.execute("PRAGMA busy_timeout = 60000")


def load_folders(conn: sqlite3.Connection, pages_root: str, exclude: tuple[str, ...]
                 ) -> dict[str, Any] | None:
    """The stored manifest as decoded JSON, for :func:`patch` (None as for :func:`load`;
    no Folder objects are built: a write that changed a few files reads it this way)."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (_KEY,)).fetchone()
    if row is None:
        return None
    try:
        d = json.loads(row[0])
        if (d["settings"] != _settings(pages_root, exclude) or d["missing"]
                or not isinstance(d["folders"], dict)):
            return None
        return d
    except (ValueError, KeyError, TypeError):
        return None


def listed(d: dict[str, Any], path: str) -> str | None:
    """How folder record of ``d`` lists ``path``: "p", "a", "d", "!" for a file problem,
    "" for not at all, None when the manifest has no record of its folder."""
    rel, _, name = path.rpartition("/")
    record = d["folders"].get(rel)
    if record is None:
        return None
    if any(p[0] == path for p in record[6]):
        return "!"
    kinds, names = record[1], record[2]
    return kinds[names.index(name)] if name in names else ""


def patch(conn: sqlite3.Connection, d: dict[str, Any], kinds: dict[str, str | None],
          stats: dict[str, tuple[int, int, int]], total: int,
          seen: dict[str, Folder] | None = None) -> None:
    """Store ``d`` (from :func:`load_folders`) after an update of only the paths in
    ``kinds``, which left them as it says ("p" page, "a" attachment, None gone), the
    pages with the index's ``stats`` (inside that update's transaction; each path's
    folder has a record, see :func:`listed`).

    Nothing else is taken as seen: a folder whose listing changes here loses its stat,
    so the next scan lists it again, and every other file keeps the stat the index held
    before, so a change made meanwhile by anyone else still shows in the next scan.
    ``seen``: the folders of the scan that found ``kinds``' paths changed (the update
    then covers every change it saw); a folder it recorded with a stat, listed as the
    patched record lists it, takes that stat, as a full update would store it.
    """
    attachments = set(d["attachments"])
    for path, kind in kinds.items():
        rel, _, name = path.rpartition("/")
        sig, listing, names, sizes, mtimes, ctimes, problems = d["folders"][rel]
        kind_list = list(listing)
        was_listed = name in names
        if was_listed:
            at = names.index(name)
            if kind_list[at] == "p":
                page_at = kind_list[:at].count("p")
                del sizes[page_at], mtimes[page_at], ctimes[page_at]
                d["files"] -= 1
            del names[at], kind_list[at]
        attachments.discard(path)
        if kind is not None:
            at = next((i for i, n in enumerate(names) if n > name), len(names))
            names.insert(at, name)
            kind_list.insert(at, kind)
            if kind == "p":
                page_at = kind_list[:at].count("p")
                sizes.insert(page_at, stats[path][0])
                mtimes.insert(page_at, stats[path][1])
                ctimes.insert(page_at, stats[path][2])
                d["files"] += 1
            else:
                attachments.add(path)
        if was_listed != (kind is not None):
            sig = None  # the listing changed: the next scan lists this folder again
        d["folders"][rel] = [sig, "".join(kind_list), names, sizes, mtimes, ctimes, problems]
    for rel, folder in (seen or {}).items():
        record = d["folders"].get(rel)
        if folder.sig is None or record is None:
            continue
        cut = len(rel) + 1 if rel else 0
        if (record[1] == "".join(k for k, _ in folder.items)
                and record[2] == [path[cut:] for _, path in folder.items]):
            record[0] = list(folder.sig)
    d["attachments"] = sorted(attachments)
    d["total"] = total
    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                 (_KEY, json.dumps(d, ensure_ascii=False, separators=(",", ":"))))
