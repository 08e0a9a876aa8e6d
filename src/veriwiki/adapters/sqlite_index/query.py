"""The read side of the derived index: page data, names, links and ranked search."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from veriwiki.adapters import index_light
from veriwiki.core.model import FileProblem, Page
from veriwiki.core.records import page_from_json
from veriwiki.core.resolve import PageNames

_BATCH = 500  # paths a query names (SQLite allows 999 parameters in old builds)

BM25_WEIGHTS = index_light.BM25_WEIGHTS  # title, aliases, headings, body


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result."""

    path: str
    title: str
    score: float
    snippet: str

    def to_json(self) -> dict[str, object]:
        """The hit as ``search --json`` prints it."""
        return index_light.hit_json(self.path, self.title, self.score, self.snippet)


class IndexReader(ABC):
    """Queries over the index; the class using it provides ``conn``."""

    @property
    @abstractmethod
    def conn(self) -> sqlite3.Connection:
        """An open connection with the current schema."""

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
            rows = self.page_rows(paths)
        return [(page_from_json(path, data), blob) for path, data, blob in rows]

    def page_rows(self, paths: Iterable[str]) -> list[tuple[str, str, str]]:
        """(path, stored page record, blob) of the given pages, in the order asked
        (pages not in the index are left out): the records undecoded."""
        wanted = list(paths)
        found: dict[str, tuple[str, str, str]] = {}
        for start in range(0, len(wanted), _BATCH):  # one query a batch, not a path
            part = wanted[start:start + _BATCH]
            found.update((row[0], row) for row in self.conn.execute(
                "SELECT path, data, blob FROM pages WHERE path IN "
                f"({','.join('?' * len(part))})", part))
        return [found[p] for p in wanted if p in found]

    def page_names(self) -> list[PageNames]:
        """What link resolution needs of every page."""
        out = []
        for path, title, names in self.conn.execute("SELECT path, title, names FROM pages"):
            out.append(PageNames.from_json(path, title, names))
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
        """Ranked pages for ``query`` (see :func:`veriwiki.adapters.index_light.search`:
        the CLI's fast path runs the same query without this package)."""
        return [SearchHit(*row) for row in index_light.search(self.conn, query, limit)]
