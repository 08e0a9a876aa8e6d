"""Reading: home (the catalog), page views, folders, tags, sources and search."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from veriwiki.errors import InputError, PageNotFoundError
from veriwiki.web.context import WebContext, markup
from veriwiki.web.security import path_url, vault_path

SEARCH_TIMEOUT = 5.0
SEARCH_LIMIT = 20
MAX_QUERY = 300
HOME_LIST_LIMIT = 500
MAX_KEPT_VIEWS = 500  # rendered page views kept between changes


def page_html_vars(ctx: WebContext, path: str) -> dict[str, Any]:
    """The variables of a saved page's view (kept until the vault's files change)."""
    from veriwiki.web.pageview import page_document, page_text

    cache: dict[str, dict[str, Any]] = ctx.cache("page-views", dict)
    got = cache.get(path)
    if got is not None:
        return got
    vault = ctx.open_vault()
    known = ctx.caches.get("_blobs")
    if known is not None and path not in known or not (vault.root / path).is_file():
        raise PageNotFoundError(f"no page at {path}",
                                hint="search for it, or create it with New page")
    text = page_text(ctx, path)
    if text is None:
        raise InputError(f"{path} cannot be read (not UTF-8, or over the page size limit)",
                         path=path, hint="open it in a text editor")
    got = page_document(ctx, path, text)
    while len(cache) >= MAX_KEPT_VIEWS:  # bounded: oldest first (dicts keep order)
        cache.pop(next(iter(cache)))
    cache[path] = got
    return got


def _catalog(ctx: WebContext) -> dict[str, Any]:
    """The home page: the catalog page rendered and every page listed; in a vault of
    more than :data:`HOME_LIST_LIMIT` pages, the top folders and a link to the catalog
    (rendering a catalog of 10k lines costs a second and ~100 MB at its peak)."""
    from veriwiki.web.pageview import page_text

    vault = ctx.open_vault()
    rows = {p: r for p, r in vault.index.catalog_rows().items()
            if p not in (vault.index_page, vault.log_page)}
    small = len(rows) <= HOME_LIST_LIMIT
    body = None
    text = page_text(ctx, vault.index_page) if small else None
    if text is not None:  # rendered without a check: the home page shows no findings
        from veriwiki.render.markdown import parse_tokens, render_tokens
        from veriwiki.web.pageview import WebPageContext

        body = render_tokens(parse_tokens(text),
                             WebPageContext(ctx, vault.index_page, (), None)).html
    Entry = tuple[str, str, str | None]
    groups: list[tuple[str | None, list[Entry]]] = []
    if small:
        listed: list[Entry] = sorted(((r[1], path_url(p), r[3]) for p, r in rows.items()),
                                     key=lambda e: e[0].casefold())
        groups.append((f"All pages ({len(rows)})", listed))
    else:
        none: str | None = None
        groups.append(("Catalog", [("Every page, with its summary", path_url(vault.index_page),
                                    none)]))
        tops = sorted({p.rsplit("/", 1)[0] for p in rows if "/" in p})
        folders: list[Entry] = [(t + "/", "/folder/" + quote(t, safe="/"), none)
                                for t in tops][:500]
        groups.append((f"Folders ({len(rows)} pages)", folders))
    return {"title": ctx.site_name, "body": body, "groups": groups, "intro": None}


def _folder(ctx: WebContext, folder: str) -> dict[str, Any]:
    vault = ctx.open_vault()
    rows = vault.index.catalog_rows()
    prefix = folder.strip("/") + "/"
    pages: list[tuple[str, str, str | None]] = sorted(
        ((r[1], path_url(p), r[3]) for p, r in rows.items()
                    if p.startswith(prefix) and "/" not in p[len(prefix):]),
                   key=lambda r: r[0].casefold())
    subs = sorted({p[len(prefix):].split("/", 1)[0] for p in rows
                   if p.startswith(prefix) and "/" in p[len(prefix):]})
    if not pages and not subs:
        raise PageNotFoundError(f"no folder {folder} holds pages")
    groups: list[tuple[str | None, list[tuple[str, str, str | None]]]] = []
    if subs:
        folders: list[tuple[str, str, str | None]] = [
            (s + "/", "/folder/" + quote(prefix + s, safe="/"), None) for s in subs]
        groups.append(("Folders", folders))
    groups.append(("Pages", list(pages)))
    return {"title": folder, "groups": groups, "intro": None, "body": None}


def _tag(ctx: WebContext, tag: str) -> dict[str, Any]:
    vault = ctx.open_vault()
    folded = tag.casefold().lstrip("#")
    paths = [r[0] for r in vault.index.conn.execute(
        "SELECT DISTINCT p.path FROM tags t JOIN pages p ON p.id = t.page_id "
        "WHERE lower(t.tag) = ? OR lower(t.tag) LIKE ? ESCAPE '\\' ORDER BY p.path",
        (folded, folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
         + "/%"))]
    rows = vault.index.catalog_rows()
    entries = sorted(((rows[p][1], path_url(p), rows[p][3]) for p in paths if p in rows),
                     key=lambda r: r[0].casefold())
    return {"title": f"#{tag}", "groups": [(None, entries)],
            "intro": f"{len(entries)} pages tagged #{tag} (or a tag below it)", "body": None}


def _tags(ctx: WebContext) -> dict[str, Any]:
    from veriwiki.web.pageview import tag_href

    vault = ctx.open_vault()
    counts = vault.index.conn.execute(
        "SELECT tag, COUNT(DISTINCT page_id) FROM tags GROUP BY tag ORDER BY lower(tag)"
    ).fetchall()
    return {"title": "Tags", "intro": None, "body": None,
            "groups": [(None, [(f"#{t}", tag_href(t), f"{n} pages") for t, n in counts])]}


class _CitationIndex:
    """Every page's citations (source key → page, line, chip number, quote), kept across
    changes and brought up to date with the pages that changed."""

    def __init__(self, ctx: WebContext) -> None:
        self.generation = ctx.generation.number
        self.by_page: dict[str, list[tuple[str, int, int, str | None]]] = {}
        self._load(ctx, None)

    def _load(self, ctx: WebContext, paths: list[str] | None) -> None:
        vault = ctx.open_vault()
        for path in paths or ():
            self.by_page.pop(path, None)
        for page in vault.index.load_pages(paths):
            rows = []
            n = 0
            for claim in sorted(page.claims, key=lambda c: c.citations[0].line
                                if c.citations else 0):
                for cite in claim.citations:
                    n += 1
                    rows.append((f"{cite.source_id}:{cite.version or ''}", cite.line, n,
                                 cite.quote))
            if rows:
                self.by_page[page.path] = rows

    def catch_up(self, ctx: WebContext) -> None:
        """Re-read the pages changed since this index was made."""
        changes = ctx.generation.changed
        now = ctx.generation.number
        if now == self.generation:
            return
        newer = [paths for number, _, paths in changes if number > self.generation]
        if not changes or changes[0][0] > self.generation + 1 or any(not p for p in newer):
            self.by_page = {}
            self._load(ctx, None)
        else:
            self._load(ctx, sorted({p for paths in newer for p in paths if p != "*"}))
        self.generation = now

    def citing(self, key: str) -> list[tuple[str, int, int, str | None]]:
        """(page, line, chip number, quote) of every citation of ``key`` (``id:N`` or
        ``id:`` for the latest version)."""
        return [(path, line, n, q) for path, rows in sorted(self.by_page.items())
                for k, line, n, q in rows if k == key]


def _citations(ctx: WebContext) -> _CitationIndex:
    index: _CitationIndex | None = ctx.stable.get("citations")
    if index is None:
        index = ctx.stable["citations"] = _CitationIndex(ctx)
    else:
        index.catch_up(ctx)
    return index


def _source_version(ctx: WebContext, sid: str, version: int | None) -> dict[str, Any]:
    from veriwiki.services.site_pages import _highlight
    from veriwiki.web.pageview import inputs, quote_place, source_href

    got = inputs(ctx)
    source = got.sources.get(sid)
    if source is None:
        raise PageNotFoundError(f"no source with id {sid!r}",
                                hint="see the sources listed on the Sources page")
    if version is None:
        version = source.current.version
    v = source.version(version)
    if v is None:
        raise PageNotFoundError(f"source {sid} has no version {version}")
    cites = _citations(ctx)
    citing = cites.citing(f"{sid}:{version}")
    if version == source.current.version:
        citing += cites.citing(f"{sid}:")
    text = got.text(sid, version)
    spans: list[tuple[int, int, list[tuple[str, str, str]]]] = []
    missing: dict[str, list[tuple[str, str]]] = defaultdict(list)
    titles = got.resolver.pages
    for path, line, n, q in citing:
        title = titles[path].title if path in titles else path
        label = f"{title}:{line}"
        href = f"{path_url(path)}#cite-{line}-{n}"
        place = quote_place(ctx, sid, version, q) if q else None
        if place is None:
            if q:
                missing[q].append((label, href))
            continue
        spans.append((place[0], place[1], [(label, href, "cited")]))
    html = markup(_highlight(text.text, spans)) if text is not None else None
    versions = [(x.version, source_href(sid, x.version))
                for x in sorted(source.versions, key=lambda x: x.version)]
    return {"title": source.title, "sid": sid, "version": version, "file": v.file,
            "added": v.added, "sha256": v.sha256, "origin": source.origin,
            "license": source.license, "versions": versions, "cited": len(spans),
            "missing": sorted(missing.items()), "text": html}


def _sources(ctx: WebContext) -> dict[str, Any]:
    from veriwiki.web.pageview import inputs, source_href

    got = inputs(ctx)
    rows = [(s.title, source_href(s.id, s.current.version),
             f"{s.id} · {len(s.versions)} version(s)")
            for s in sorted(got.sources.values(), key=lambda s: s.title.casefold())]
    return {"title": "Sources", "groups": [(None, rows)], "intro": None, "body": None}


def search_hits(ctx: WebContext, query: str, limit: int) -> list[dict[str, Any]]:
    """Search results as JSON-able rows (the index is kept fresh by the file watch)."""
    from veriwiki.services.indexing import search
    from veriwiki.web.pageview import summaries

    vault = ctx.open_vault()
    hits = search(vault, query, limit, refresh=not ctx.live_state.get("watch"))
    notes = summaries(ctx, [h.path for h in hits])
    return [{"path": h.path, "title": h.title, "url": path_url(h.path),
             "snippet": h.snippet, "summary": notes.get(h.path) or None} for h in hits]


def _query(request: Request) -> str:
    q = " ".join(request.query_params.get("q", "").split())
    if len(q) > MAX_QUERY:
        raise InputError(f"the query is over {MAX_QUERY} characters", hint="search fewer words")
    return q


def routes(ctx: WebContext) -> list[BaseRoute]:
    """Home, page view, folders, tags, sources, search."""

    async def home(request: Request) -> Response:
        data = await ctx.run(lambda: ctx.cache("home", lambda: dict(_catalog(ctx))),
                             what="the catalog")
        data = dict(data)
        if data["body"] is not None:
            data["body"] = markup(data["body"])
        return ctx.render(request, "listing.html", main_class="wide", flash=_flash(request),
                          **data)

    async def page(request: Request) -> Response:
        raw = request.path_params["path"]
        if raw.lower().endswith(".md"):
            return RedirectResponse(path_url(raw), status_code=301)
        path = vault_path(raw)
        data = dict(await ctx.run(page_html_vars, ctx, path, what=f"rendering {path}"))
        data["body"] = markup(data["body"])
        data["graph"] = markup(data["graph"])
        data.pop("page", None)
        generated = data.pop("generated", False)
        return ctx.render(request, "page.html", page_actions=_actions(path, generated),
                          watch_path=path, flash=_flash(request), **data)

    async def folder(request: Request) -> Response:
        folder_path = vault_path(request.path_params["path"], suffix="")
        data = await ctx.run(_folder, ctx, folder_path, what="the folder")
        return ctx.render(request, "listing.html", main_class="wide", **data)

    async def tags(request: Request) -> Response:
        data = await ctx.run(_tags, ctx, what="the tags")
        return ctx.render(request, "listing.html", main_class="wide", **data)

    async def tag(request: Request) -> Response:
        name = request.path_params["tag"]
        if len(name) > 200:
            raise InputError("tag name too long")
        data = await ctx.run(_tag, ctx, name, what="the tag")
        return ctx.render(request, "listing.html", main_class="wide", **data)

    async def sources(request: Request) -> Response:
        data = await ctx.run(_sources, ctx, what="the sources")
        return ctx.render(request, "listing.html", main_class="wide", **data)

    async def source(request: Request) -> Response:
        sid = request.path_params["sid"]
        version = request.path_params.get("version")
        data = await ctx.run(_source_version, ctx, sid, version, timeout=60,
                             what="the source")
        return ctx.render(request, "source.html", main_class="wide", **data)

    async def search_page(request: Request) -> Response:
        q = _query(request)
        hits = await ctx.run(search_hits, ctx, q, SEARCH_LIMIT, timeout=SEARCH_TIMEOUT,
                             what="the search") if q else []
        return ctx.render(request, "web_search.html", title=f"Search: {q}" if q else "Search",
                          query=q, hits=hits, main_class="wide")

    async def api_search(request: Request) -> Response:
        q = _query(request)
        try:
            limit = max(1, min(int(request.query_params.get("limit", "8")), 50))
        except ValueError:
            limit = 8
        hits = await ctx.run(search_hits, ctx, q, limit, timeout=SEARCH_TIMEOUT,
                             what="the search") if q else []
        return JSONResponse({"query": q, "hits": hits})

    async def attachment(request: Request) -> Response:
        path = vault_path(request.path_params["path"], suffix="")
        data = await ctx.run(_attachment, ctx, path, what="the file")
        media = _MEDIA.get(posixpath.splitext(path)[1].lower(), "application/octet-stream")
        headers = {"content-disposition": "attachment"} if media.endswith("octet-stream") \
            else {}
        return Response(data, media_type=media, headers=headers)

    return [
        Route("/", home),
        Route("/w/{path:path}", page),
        Route("/folder/{path:path}", folder),
        Route("/tags", tags),
        Route("/tags/{tag:path}", tag),
        Route("/sources", sources),
        Route("/source/{sid}", source),
        Route("/source/{sid}/v{version:int}", source),
        Route("/search", search_page),
        Route("/api/search", api_search),
        Route("/file/{path:path}", attachment),
    ]


# images only: anything else is downloaded, never shown inline (an HTML or SVG file in
# the vault must not run as a page of this origin)
_MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
          ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
          ".bmp": "image/bmp"}


def _attachment(ctx: WebContext, path: str) -> bytes:
    vault = ctx.open_vault()
    if path not in set(vault.index.attachments()):
        raise PageNotFoundError(f"no attachment at {path}")
    full = vault.root / path
    if full.is_symlink() or not full.resolve().is_relative_to(vault.root.resolve()):
        raise InputError(f"{path} is a link; it is not served")
    with open(full, "rb") as fh:
        return fh.read(50 << 20)


def _actions(path: str, generated: bool) -> list[tuple[str, str]]:
    history = ("History", path_url(path, "/history/"))
    return [history] if generated else [("Edit", path_url(path, "/edit/")), history]


def _flash(request: Request) -> str | None:
    """What the last action did, from the redirect's query (never echoed as given)."""
    q = request.query_params
    saved = q.get("saved", "")
    if saved and len(saved) <= 40 and all(c in "0123456789abcdef" for c in saved):
        return f"Saved as commit {saved[:10]}."
    moved = q.get("moved", "")
    if moved.isdigit():
        return f"Renamed; links on {int(moved)} other page(s) rewritten."
    if q.get("deleted") == "1":
        return "Page deleted."
    return None
