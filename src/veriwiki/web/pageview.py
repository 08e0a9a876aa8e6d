"""A page as the static site shows it, rendered on request for the web app.

The body goes through the site's renderer (:mod:`veriwiki.render`) and the site's own
``page.html`` template, so chips, popovers, badge, properties, backlinks and the local
graph follow the HTML contract of docs/site.md. Only the URLs differ: app paths
(``/w/wiki/Page``, ``/source/ID/vN``, ``/tags/TAG``) instead of relative ``.html`` files.
Everything here runs on the worker thread and reads the index, never the whole vault;
results are kept until the vault's files change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from veriwiki.core.facts import Fact, index_facts, norm_key
from veriwiki.core.markdown.citations import CiteParts
from veriwiki.core.model import Finding, Link, LinkKind, Page, Severity
from veriwiki.core.names import normalize_name
from veriwiki.core.parse import parse_page
from veriwiki.core.resolve import PageNames, github_slug
from veriwiki.render.chips import SourceView, Verdict, chip_html, cite_key, page_verdicts
from veriwiki.render.graph import local_graph_svg
from veriwiki.render.markdown import (
    FactView,
    LinkView,
    parse_tokens,
    render_tokens,
    section_tokens,
)
from veriwiki.render.properties import properties
from veriwiki.render.title import fold_title
from veriwiki.web.context import WebContext
from veriwiki.web.pagecheck import Inputs, check_page, inputs
from veriwiki.web.security import path_url

_MAX_BACKLINKS = 500


def source_href(sid: str, version: int | None = None) -> str:
    """The app URL of a source (a version's page when ``version`` is given)."""
    base = "/source/" + quote(sid, safe="")
    return f"{base}/v{version}" if version else base


def tag_href(tag: str) -> str:
    """The app URL of a tag's page."""
    return "/tags/" + quote(tag, safe="")


def markdown_link(href: str) -> Link:
    """A :class:`Link` for a markdown link target as the parser builds it."""
    from urllib.parse import unquote

    target, hash_, fragment = unquote(href).partition("#")
    if target.lower().endswith(".md"):
        target = target[:-3]
    return Link("markdown", target, fragment if hash_ else None, None, href, 0, 0)


def anchor(names: PageNames, fragment: str) -> str:
    """The HTML id a ``#Heading`` or ``#^block`` fragment lands on (as the site makes)."""
    last = fragment.split("#")[-1].strip()
    if last.startswith("^"):
        return "^" + last[1:].lower()
    want = normalize_name(last)
    seen: dict[str, int] = {}
    for text in names.headings:
        base = github_slug(text) or "section"
        n = seen.get(base, 0)
        seen[base] = n + 1
        if normalize_name(text) == want or github_slug(text) == github_slug(last):
            return base if n == 0 else f"{base}-{n}"
    return github_slug(last)


class Facts:
    """The vault's facts by key, and the entity each page alias names."""

    def __init__(self, got: Inputs) -> None:
        self.by_key = index_facts(got.facts)
        self.alias_entity: dict[str, str] = {}
        for names in got.resolver.pages.values():
            for alias in names.aliases:
                self.alias_entity.setdefault(norm_key(alias), names.title)

    def latest(self, entity: str, attribute: str) -> Fact | None:
        """The newest fact for the key (the entity may be an alias of its page)."""
        found = self.by_key.get((norm_key(entity), norm_key(attribute)))
        if not found:
            title = self.alias_entity.get(norm_key(entity))
            if title is not None:
                found = self.by_key.get((norm_key(title), norm_key(attribute)))
        return max(found, key=lambda f: f.as_of or "") if found else None


class WebPageContext:
    """The renderer's questions about the vault while rendering one page for the app."""

    def __init__(self, ctx: WebContext, path: str, findings: Iterable[Finding],
                 page: Page | None, depth: int = 0) -> None:
        self.ctx = ctx
        self.got = inputs(ctx)
        self.path = path
        self.verdicts = {k: list(v) for k, v in page_verdicts(page, findings).items()} \
            if page is not None else {}
        self.chip_count = 0
        self.depth = depth
        self.checked = ctx.cache("today", _today)

    def link(self, kind: LinkKind, target: str, fragment: str | None, raw: str) -> LinkView:
        """Resolve a link to an app URL."""
        if kind in ("markdown", "image"):
            link = markdown_link(raw)
        else:
            t = target[:-3] if target.lower().endswith(".md") else target
            link = Link(kind, t, fragment, None, raw, 0, 0)
        res = self.got.resolver.resolve(link, self.path)
        if res.status == "ambiguous":
            return LinkView(None, link.target, "ambiguous", res.problem)
        if not res.is_ok or res.path is None:
            return LinkView(None, link.target, "broken", res.problem or "broken link")
        names = self.got.resolver.pages.get(res.path)
        if res.is_attachment or names is None:
            return LinkView("/file/" + quote(res.path, safe="/"),
                            res.path.rsplit("/", 1)[-1], is_attachment=True, path=res.path)
        url = path_url(res.path)
        if link.fragment:
            url += "#" + quote(anchor(names, link.fragment), safe="^-_.~")
        return LinkView(url, names.title, path=res.path)

    def chip(self, line: int, cite: CiteParts) -> str:
        """A citation chip with its verdict and the source's details."""
        key = cite_key(line, cite.source_id, cite.version, cite.quote)
        queue = self.verdicts.get(key)
        verdict = queue.pop(0) if queue else Verdict("verified" if cite.quote else "no-quote")
        source = self.got.sources.get(cite.source_id)
        view = None
        if source is not None:
            version = source.current.version if cite.version is None else cite.version
            v = source.version(version)
            if v is not None:
                where = quote_place(self.ctx, cite.source_id, version, cite.quote) \
                    if cite.quote is not None else None
                view = SourceView(source.title, version, source_href(cite.source_id, version),
                                  where[2] if where else None, v.added)
        self.chip_count += 1
        html = chip_html(cite.source_id, cite.version, cite.locator, cite.quote, verdict,
                         view, self.checked)
        if self.depth:
            return html
        return f'<span class="cite-anchor" id="cite-{line}-{self.chip_count}"></span>' + html

    def fact(self, entity: str, attribute: str) -> FactView | None:
        """The latest fact for ``entity.attribute``."""
        facts = self.got.memo.get("facts")
        if facts is None:
            facts = self.got.memo["facts"] = Facts(self.got)
        found = facts.latest(entity, attribute)
        if found is None:
            return None
        href = path_url(found.origin) if found.origin in self.got.resolver.pages else None
        return FactView(found.display, found.where, href, found.source_id)

    def embed(self, view: LinkView, fragment: str | None) -> str | None:
        """An embedded page's section, rendered one level deep."""
        if view.path is None or view.path == self.path or self.depth >= 1:
            return None
        text = page_text(self.ctx, view.path)
        if text is None:
            return None
        tokens = section_tokens(parse_tokens(text), fragment)
        page = parse_page(view.path, text)
        inner = WebPageContext(self.ctx, view.path, (), page, self.depth + 1)
        return render_tokens(tokens, inner, depth=inner.depth).html

    def tag_href(self, tag: str) -> str:
        """The tag's page."""
        return tag_href(tag)


def _today() -> str:
    from veriwiki.services.freshness import today

    return today().isoformat()


def quote_place(ctx: WebContext, sid: str, version: int, quote_text: str | None
                ) -> tuple[int, int, str] | None:
    """Where a quote is in a source version: (start, end, "p. 4, line 12"), or None."""
    if quote_text is None:
        return None
    places = inputs(ctx).quote_places
    key = (sid, version, quote_text)
    if key not in places:
        from veriwiki.core.quotes import find_quote

        text = inputs(ctx).text(sid, version)
        found = find_quote(text.text, quote_text) if text is not None else None
        places[key] = None if found is None else (
            found.start, found.end,
            f"p. {found.page}, line {found.line}" if found.page else f"line {found.line}")
    return places[key]


def page_text(ctx: WebContext, path: str) -> str | None:
    """The text of a page on disk (None when it cannot be read)."""
    from veriwiki.adapters.fs import read_page_text

    vault = ctx.open_vault()
    limit = vault.config.vault.max_page_bytes
    if path in (vault.index_page, vault.log_page):
        limit = 1 << 40
    try:
        return read_page_text(vault.root, path, limit)
    except Exception:  # noqa: BLE001 - the page view says it cannot be read
        return None


def _outlinks(got: Inputs, page: Page) -> list[str]:
    outs = set()
    for link in page.links:
        res = got.resolver.resolve(link, page.path)
        if res.is_ok and res.path in got.resolver.pages and res.path != page.path:
            outs.add(res.path)
    return sorted(outs)


def _key_owner(got: Inputs, key: str) -> str | None:
    """The one page a link-table key (a normalised file stem, title or alias) names."""
    r = got.resolver
    owners = {*r.by_stem.get(key, ()), *r.by_alias.get(key, ())}
    return next(iter(owners)) if len(owners) == 1 else None


def _link_rows(ctx: WebContext, column: str, values: list[str]) -> list[tuple[str, str]]:
    """(page path, link target key) rows of the index's link table."""
    if not values:
        return []
    vault = ctx.open_vault()
    out: list[tuple[str, str]] = []
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        marks = ",".join("?" * len(chunk))
        out += vault.index.conn.execute(
            "SELECT DISTINCT p.path, l.target_key FROM links l JOIN pages p ON p.id = l.page_id "
            f"WHERE {column} IN ({marks})", chunk).fetchall()
    return out


def backlinks(ctx: WebContext, path: str) -> list[str]:
    """Pages whose links reach ``path`` (kept until the files change).

    The index's link table says which pages link to one of the page's names; a name only
    this page answers to needs no more. Pages linking by a name other pages share too
    are loaded and their links resolved.
    """
    from veriwiki.adapters.sqlite_index import target_key

    cache: dict[str, list[str]] = ctx.cache("backlinks", dict)
    if path in cache:
        return cache[path]
    got = inputs(ctx)
    names = got.resolver.pages.get(path)
    found: set[str] = set()
    unsure: set[str] = set()
    if names is not None:
        keys = {normalize_name(names.title), *(normalize_name(a) for a in names.aliases),
                target_key(path)}
        for source, key in _link_rows(ctx, "l.target_key", sorted(k for k in keys if k)):
            if source == path:
                continue
            if _key_owner(got, key) == path:
                found.add(source)
            else:
                unsure.add(source)
        unsure -= found
        for page in ctx.open_vault().index.load_pages(sorted(unsure)[:_MAX_BACKLINKS]):
            if path in _outlinks(got, page):
                found.add(page.path)
    cache[path] = sorted(found)
    return cache[path]


def neighbour_edges(ctx: WebContext, shown: list[str]) -> set[tuple[str, str]]:
    """Links among the pages of a local graph (by names only one page answers to)."""
    keys = set(shown)
    edges: set[tuple[str, str]] = set()
    got = inputs(ctx)
    for source, key in _link_rows(ctx, "p.path", shown):
        target = _key_owner(got, key)
        if target is not None and target in keys and target != source:
            edges.add((source, target) if source < target else (target, source))
    return edges


def catalog_rows(ctx: WebContext) -> dict[str, tuple[str, str, str | None, str]]:
    """Path → (blob, title, type, summary) of every page (kept until the files change)."""
    rows: dict[str, tuple[str, str, str | None, str]] = ctx.cache(
        "catalog-rows", lambda: ctx.open_vault().index.catalog_rows())
    return rows


def summaries(ctx: WebContext, paths: list[str]) -> dict[str, str]:
    """The summary of each indexed page among ``paths``."""
    known: dict[str, str] = ctx.cache("summaries", dict)
    missing = [p for p in paths if p not in known]
    conn = ctx.open_vault().index.conn
    for start in range(0, len(missing), 500):
        chunk = missing[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for path, summary in conn.execute(
                f"SELECT path, summary FROM pages WHERE path IN ({marks})", chunk):
            known[path] = summary or ""
    return {p: known[p] for p in paths if p in known}


def badge(page: Page, findings: list[Finding], verdicts: dict[Any, list[Verdict]]
          ) -> dict[str, Any]:
    """Claims verified / claims, stale claims, error findings, last reviewed (as the site)."""
    queues = {k: list(v) for k, v in verdicts.items()}
    verified = 0
    for claim in page.claims:
        names = set()
        for c in claim.citations:
            queue = queues.get((c.line, c.source_id, c.version, c.quote))
            names.add(queue.pop(0).name if queue else "verified")
        if names == {"verified"}:
            verified += 1
    reviewed = page.frontmatter.get("reviewed") if isinstance(page.frontmatter, dict) else None
    return {"claims": len(page.claims), "verified": verified,
            "stale": sum(1 for vs in verdicts.values() for v in vs if v.name == "stale"),
            "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
            "reviewed": str(reviewed) if reviewed else None}


def page_findings(ctx: WebContext, page: Page, saved: bool) -> list[Finding]:
    """The page's findings: the faceted rules, and orphan-page for a saved page."""
    from veriwiki.checks import all_rules

    vault = ctx.open_vault()
    background = ctx.services.get("check")
    if saved and background is not None:
        reported = background.findings(page.path)
        if reported is not None:
            return reported  # every rule's findings, as the site shows them
    found = check_page(ctx, page)
    if saved and background is not None and background.report is not None:
        faceted = {r.id for r, _ in inputs(ctx).rules}
        found += [f for f in background.report.by_path.get(page.path, ())
                  if f.rule not in faceted and f.rule != "orphan-page"]
    if saved and page.path not in (vault.index_page, vault.log_page):
        rule = {r.id: r for r in all_rules()}.get("orphan-page")
        severity = vault.config.checks.get("orphan-page", rule.default if rule else None)
        if rule is not None and severity not in (None, Severity.OFF):
            others = [p for p in backlinks(ctx, page.path)
                      if p not in (vault.index_page, vault.log_page)]
            if not others:
                found.append(Finding("orphan-page", severity, page.path, 1,
                                     "no other page links here",
                                     "link it from a related page"))
    return found


def page_document(ctx: WebContext, path: str, text: str, *, saved: bool = True
                  ) -> dict[str, Any]:
    """Everything ``page.html`` needs for the page at ``path`` with ``text``."""
    page = parse_page(path, text)
    findings = page_findings(ctx, page, saved)
    verdicts = page_verdicts(page, findings)
    render_ctx = WebPageContext(ctx, path, findings, page)
    rendered = render_tokens(parse_tokens(text), render_ctx)
    body = fold_title(rendered.html, rendered.toc, page.title)
    typed, props = properties(page)
    got = inputs(ctx)
    vault = ctx.open_vault()
    skip = {vault.index_page, vault.log_page, path}
    back = backlinks(ctx, path) if saved else []
    outs = _outlinks(got, page)
    around = sorted({p for p in (*back, *outs) if p not in skip and p in got.resolver.pages},
                    key=lambda p: (got.resolver.pages[p].title.casefold(), p))
    shown = around[:24]
    edges = neighbour_edges(ctx, shown)
    graph = local_graph_svg((page.title, path_url(path)),
                            [(p, got.resolver.pages[p].title, path_url(p)) for p in shown],
                            edges, len(around))
    notes = summaries(ctx, back[:_MAX_BACKLINKS])
    back_rows = [(got.resolver.pages[p].title if p in got.resolver.pages else p,
                  path_url(p), notes.get(p) or None) for p in back[:_MAX_BACKLINKS]]
    err = page.frontmatter_error
    folders = path.split("/")[:-1]
    crumbs = [(name, "/folder/" + quote("/".join(folders[: i + 1]), safe="/"))
              for i, name in enumerate(folders)]
    return {
        "title": page.title, "path": path, "page_type": page.type,
        "file_name": path.rsplit("/", 1)[-1], "crumbs": crumbs,
        "badge": badge(page, findings, verdicts), "typed": typed, "properties": props,
        "fm_error": f"{err.message} (line {err.line})" if err else None,
        "tags": [(t, tag_href(t)) for t in page.tags], "body": body.html, "toc": body.toc,
        "title_id": body.anchor,
        "graph": graph, "backlinks": back_rows, "findings": findings,
        "checked": render_ctx.checked,
        "generated": path in (vault.index_page, vault.log_page),
    }
