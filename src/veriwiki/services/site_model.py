"""What the static site is built from: pages, findings, links, sources, facts.

:func:`collect_site` gathers it once per build (after the same check run ``veriwiki
check`` makes); :class:`PageContext` answers the renderer's questions for one page.
Site URLs are relative to the site root: a page keeps its vault path with ``.html``
(``wiki/ml/Attention.md`` → ``wiki/ml/Attention.html``); everything the build adds lives
under ``_vw/``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from veriwiki.core.facts import Fact, index_facts, norm_key
from veriwiki.core.markdown.citations import CiteParts
from veriwiki.core.model import Finding, Link, LinkKind, Page, Source, SourceText
from veriwiki.core.names import normalize_name
from veriwiki.core.resolve import Resolver, github_slug
from veriwiki.render.chips import SourceView, Verdict, chip_html, cite_key
from veriwiki.render.markdown import FactView, LinkView, render_tokens, section_tokens
from veriwiki.services.check_report import CheckReport
from veriwiki.services.site_check import PageFindings, SiteCheckReport, finding_digests
from veriwiki.services.site_derived import PageVerdicts, QuotePlaces, texts_digest

ASSETS = "_vw"


def page_url(path: str) -> str:
    """Site-root URL path of a page (not percent-encoded)."""
    return (path[:-3] if path.lower().endswith(".md") else path) + ".html"


def source_url(sid: str, version: int | None = None) -> str:
    """Site-root URL path of a source (its version page when ``version`` is given)."""
    return f"{ASSETS}/sources/{sid}/" + (f"v{version}.html" if version else "index.html")


def tag_slug(tag: str) -> str:
    """A file-safe, case-folded name for a tag."""
    slug = github_slug(tag.replace("/", "--"))
    return slug or hashlib.sha1(tag.encode()).hexdigest()[:10]


def tag_url(tag: str) -> str:
    """Site-root URL path of a tag page."""
    return f"{ASSETS}/tags/{tag_slug(tag)}.html"


_KEEP = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"  # ASCII quote() keeps
_PATH = {i: f"%{i:02X}" for i in range(128) if chr(i) not in _KEEP + "/"}  # quote(safe="/-_.~")
_FRAG = {i: f"%{i:02X}" for i in range(128) if chr(i) not in _KEEP + "^"}  # quote(safe="^-_.~")


def rel_url(from_url: str, to_url: str) -> str:
    """``to_url`` relative to the page at ``from_url``, percent-encoded for an href."""
    return _rel_url(from_url[:from_url.rfind("/") + 1], to_url)  # only its folder matters


@lru_cache(maxsize=65536)
def _rel_url(from_url: str, to_url: str) -> str:
    frag = ""
    if "#" in to_url:
        to_url, frag = to_url.split("#", 1)
        frag = "#" + (frag.translate(_FRAG) if frag.isascii() else quote(frag, safe="^-_.~"))
    src = from_url.split("/")[:-1]
    dst = to_url.split("/")
    common = 0
    while common < len(src) and common < len(dst) - 1 and src[common] == dst[common]:
        common += 1
    rel = "/".join([".."] * (len(src) - common) + dst[common:])
    return (rel.translate(_PATH) if rel.isascii() else quote(rel, safe="/-_.~")) + frag


@dataclass
class SiteModel:
    """Everything one build renders from."""

    vault_name: str
    root: Any  # pathlib.Path of the vault
    pages: Mapping[str, Page]  # site_store.StoredPages: decoded when asked for
    blobs: dict[str, str]
    resolver: Resolver
    report: CheckReport
    findings: Mapping[str, list[Finding]]  # by page (site_check.PageFindings: made when asked)
    sources: dict[str, Source]
    texts: dict[tuple[str, int], SourceText]
    facts: list[Fact]
    checked: str
    names_digest: str
    index_page: str
    log_page: str
    base_url: str = ""
    backlinks: Mapping[str, list[str]] = field(default_factory=dict)
    outlinks: Mapping[str, list[str]] = field(default_factory=dict)
    embeds: Mapping[str, list[str]] = field(default_factory=dict)
    attachments_used: set[str] = field(default_factory=set)
    matches: QuotePlaces = field(default_factory=lambda: QuotePlaces({}))
    verdicts: PageVerdicts = field(default_factory=lambda: PageVerdicts(None))
    fact_index: dict[tuple[str, str], list[Fact]] = field(default_factory=dict)
    embed_cache: dict[tuple[str, str | None, str], str] = field(default_factory=dict)
    link_views: dict[tuple[Any, ...], LinkView] = field(default_factory=dict)  # PageContext.link
    finding_digests: dict[str, str] = field(default_factory=dict)  # path -> its findings
    loaded: set[str] = field(default_factory=set)  # pages read from the index this build
    state_token: str | None = None  # the site state this build wrote (site_cache)
    previous: Any = None  # site_cache.Previous: what the last build's keys came from
    _alias_entity: dict[str, str] | None = None
    rows: Any = None  # site_store rows by path (title, summary, digests) when pages has them

    def title_of(self, path: str) -> str:
        """A page's title (from its stored row when it has one: nothing decoded)."""
        rows = self.rows
        return rows[path].title if rows is not None else self.pages[path].title

    def summary_of(self, path: str) -> str:
        """A page's summary (from its stored row when it has one)."""
        rows = self.rows
        return rows[path].summary if rows is not None else self.pages[path].summary

    def alias_title(self, key: str) -> str | None:
        """The title of the first page (in path order) with an alias whose key is
        ``key`` (made on first use from the rows' aliases)."""
        if self._alias_entity is None:
            rows = getattr(self.pages, "rows", None)
            found: dict[str, str] = {}
            for path in self.pages:
                if rows is not None and rows[path].aliases == "[]":
                    continue
                page = self.pages[path]
                for alias in page.aliases:
                    found.setdefault(norm_key(alias), page.title)
            self._alias_entity = found
        return self._alias_entity.get(key)

    def neighbours(self, path: str, limit: int = 24) -> list[str]:
        """The pages shown in a page's local graph: links both ways, catalog and log
        left out, ordered by title, at most ``limit``."""
        skip = (self.index_page, self.log_page, path)
        found = {p for p in (*self.backlinks.get(path, ()), *self.outlinks.get(path, ()))
                 if p not in skip}
        return sorted(found, key=lambda p: (self.title_of(p).casefold(), p))[:limit]

    def graph_edges(self, shown: list[str]) -> list[tuple[str, str]]:
        """Links among the shown neighbours, as sorted pairs."""
        keys = set(shown)
        out = set()
        for a in shown:
            for b in self.outlinks.get(a, ()):
                if b in keys and b != a:
                    out.add((a, b) if a < b else (b, a))
        return sorted(out)

    def version_of(self, sid: str, version: int | None) -> int | None:
        """The version number a citation means (latest when not given), or None."""
        source = self.sources.get(sid)
        if source is None:
            return None
        if version is None:
            return source.current.version
        return version if source.version(version) is not None else None

    def page_text(self, path: str) -> str:
        """The text of a page, read from the vault (not kept: 100k pages would not fit)."""
        from veriwiki.adapters.fs import read_page_text

        try:
            return read_page_text(self.root, path, 50_000_000)
        except Exception:  # noqa: BLE001 - unreadable pages render empty, check reports them
            return ""

    def resolve(self, link: Link, page: str) -> LinkView:
        """Where ``link`` on ``page`` leads, as a site URL relative to the site root."""
        res = self.resolver.resolve(link, page)
        if res.status == "ambiguous":
            return LinkView(None, link.target, "ambiguous", res.problem)
        if not res.is_ok or res.path is None:
            return LinkView(None, link.target, "broken", res.problem or "broken link")
        if res.is_attachment or res.path not in self.pages:
            return LinkView(res.path, res.path.rsplit("/", 1)[-1], is_attachment=True,
                            path=res.path)
        url = page_url(res.path)
        if link.fragment:  # the target's headings are read only for a fragment
            url += "#" + self.anchor(self.pages[res.path], link.fragment)
        return LinkView(url, self.title_of(res.path), path=res.path)

    def anchor(self, target: Page, fragment: str) -> str:
        """The HTML id a ``#Heading`` or ``#^block`` fragment of ``target`` lands on."""
        last = fragment.split("#")[-1].strip()
        if last.startswith("^"):
            return "^" + last[1:].lower()
        want = normalize_name(last)
        seen: dict[str, int] = {}
        for h in target.headings:
            base = github_slug(h.text) or "section"
            n = seen.get(base, 0)
            seen[base] = n + 1
            if normalize_name(h.text) == want or github_slug(h.text) == github_slug(last):
                return base if n == 0 else f"{base}-{n}"
        return github_slug(last)


def markdown_link(kind: LinkKind, href: str) -> Link:
    """A :class:`Link` for a markdown link or image target as ``core.parse`` builds it."""
    target, hash_, fragment = unquote(href).partition("#")
    if target.lower().endswith(".md"):
        target = target[:-3]
    return Link(kind, target, fragment if hash_ else None, None, href, 0, 0)


class PageContext:
    """The renderer's view of the vault while rendering one page (or an embed in it)."""

    def __init__(self, model: SiteModel, path: str, url: str | None = None) -> None:
        self.model = model
        self.path = path
        self.url = url or page_url(path)
        self.folders = (path[:path.rfind("/") + 1], self.url[:self.url.rfind("/") + 1])
        self.verdicts = {k: list(v) for k, v in model.verdicts.get(path, {}).items()}
        self.chip_count = 0
        self.depth = 0

    def link(self, kind: LinkKind, target: str, fragment: str | None, raw: str) -> LinkView:
        """Resolve a link, its URL relative to this page (remembered by the link and the
        two folders it depends on, unless its target is empty: the page itself)."""
        key = (kind, target, fragment, raw, self.folders)
        got = self.model.link_views.get(key)
        if got is None:
            if kind in ("markdown", "image"):
                link = markdown_link(kind, raw)
            else:
                t = target[:-3] if target.lower().endswith(".md") else target
                link = Link(kind, t, fragment, None, raw, 0, 0)
            got = self.model.resolve(link, self.path)
            if got.href is not None:
                got = LinkView(rel_url(self.url, got.href), got.title, got.status, got.problem,
                               got.is_attachment, got.path)
            if link.target.strip() and len(self.model.link_views) < 65536:  # ~20 MB
                self.model.link_views[key] = got
        return got

    def chip(self, line: int, cite: CiteParts) -> str:
        """A chip with the citation's verdict and the source's details."""
        m = self.model
        key = cite_key(line, cite.source_id, cite.version, cite.quote)
        queue = self.verdicts.get(key)
        verdict = queue.pop(0) if queue else Verdict("verified" if cite.quote else "no-quote")
        version = m.version_of(cite.source_id, cite.version)
        view = None
        if version is not None:
            src = m.sources[cite.source_id]
            where = None
            if cite.quote is not None:
                got = m.matches.get((cite.source_id, version, cite.quote))
                where = got[2] if got else None
            v = src.version(version)
            view = SourceView(src.title, version,
                              rel_url(self.url, source_url(cite.source_id, version)), where,
                              v.added if v else None)
        self.chip_count += 1
        html = chip_html(cite.source_id, cite.version, cite.locator, cite.quote, verdict,
                         view, m.checked)
        if self.depth:
            return html
        return f'<span class="cite-anchor" id="cite-{line}-{self.chip_count}"></span>' + html

    def fact(self, entity: str, attribute: str) -> FactView | None:
        """The latest fact for the key (the entity may be an alias of its page)."""
        m = self.model
        got = m.fact_index.get((norm_key(entity), norm_key(attribute)))
        if not got:
            title = m.alias_title(norm_key(entity))
            if title is not None:
                got = m.fact_index.get((norm_key(title), norm_key(attribute)))
        if not got:
            return None
        fact = max(got, key=lambda f: f.as_of or "")
        href = None
        if fact.origin in m.pages:
            href = rel_url(self.url, page_url(fact.origin))
        return FactView(fact.display, fact.where, href, fact.source_id)

    def embed(self, view: LinkView, fragment: str | None) -> str | None:
        """The embedded page's section, rendered (two levels deep at most)."""
        if view.path is None or view.path == self.path or self.depth >= 1:
            return None
        from veriwiki.render.markdown import parse_tokens

        folder = self.url.rsplit("/", 1)[0] if "/" in self.url else ""
        key = (view.path, fragment, folder)
        got = self.model.embed_cache.get(key)
        if got is None:
            tokens = section_tokens(parse_tokens(self.model.page_text(view.path), lazy=True),
                                    fragment)
            inner = PageContext(self.model, view.path, self.url)
            inner.depth = self.depth + 1
            got = render_tokens(tokens, inner, depth=inner.depth).html
            if len(self.model.embed_cache) >= 2048:  # bounded: 100k pages embed a lot
                self.model.embed_cache.clear()
            self.model.embed_cache[key] = got
        return got

    def tag_href(self, tag: str) -> str:
        """The tag's page, relative to this page."""
        return rel_url(self.url, tag_url(tag))


@dataclass
class LinkTables:
    """Where pages' links lead, gathered page by page (:func:`add_links`)."""

    outlinks: dict[str, list[str]] = field(default_factory=dict)
    embeds: dict[str, list[str]] = field(default_factory=dict)
    attachments: set[str] = field(default_factory=set)
    back: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    page_attachments: dict[str, list[str]] = field(default_factory=dict)


def add_links(resolver: Resolver, page: Page, tables: LinkTables) -> None:
    """Resolve one page's links: its outlinks and embeds, the backlinks it gives, and
    the attachments it uses (before :func:`slim` drops the links)."""
    path = page.path
    outs: set[str] = set()
    embeds: set[str] = set()
    atts: set[str] = set()
    for link in page.links:
        res = resolver.resolve(link, path)
        if not res.is_ok or res.path is None:
            continue
        if res.path in resolver.pages:
            if res.path != path:
                outs.add(res.path)
                tables.back[res.path].add(path)
            if link.kind == "embed":
                embeds.add(res.path)
        else:
            atts.add(res.path)
    tables.attachments |= atts
    tables.outlinks[path] = sorted(outs)
    tables.embeds[path] = sorted(embeds)
    tables.page_attachments[path] = sorted(atts)


def finish_links(model: SiteModel, tables: LinkTables) -> None:
    """Put the gathered link tables into the model, backlinks sorted."""
    model.outlinks, model.embeds = tables.outlinks, tables.embeds
    model.attachments_used = tables.attachments
    model.backlinks = {p: sorted(tables.back.get(p, ())) for p in model.pages}


def slim(page: Page) -> Page:
    """``page`` with only what the site reads after its links are resolved (no links,
    code, field lines, uncited sentences: at 100k pages the links alone are a million
    objects). A field added to :class:`Page` later keeps its default here, and in the
    site state's record (``site_cache.page_record``), until the site needs it."""
    return Page(path=page.path, title=page.title, aliases=page.aliases, type=page.type,
                tags=page.tags, summary=page.summary, frontmatter=page.frontmatter,
                field_lines={}, frontmatter_error=page.frontmatter_error,
                headings=page.headings, links=(), block_ids=page.block_ids,
                code_blocks=(), footnote_refs=page.footnote_refs,
                footnote_defs=page.footnote_defs, claims=page.claims,
                fact_refs=page.fact_refs)


def link_graph(model: SiteModel) -> None:
    """Fill backlinks, outlinks, embeds and the attachments pages use."""
    tables = LinkTables()
    for page in model.pages.values():
        add_links(model.resolver, page, tables)
    finish_links(model, tables)


def prepare(model: SiteModel) -> None:
    """Derived tables: findings per page and their digests, facts; verdicts and quote
    places are made when asked for (:class:`PageVerdicts`, :class:`QuotePlaces`)."""
    report = model.report
    if isinstance(report, SiteCheckReport):  # from the check's child: made per page
        model.findings = PageFindings(report)
        sent = report.digests
    else:
        by_page: dict[str, list[Finding]] = {}
        for f in report.findings:
            by_page.setdefault(f.path, []).append(f)
        model.findings, sent = by_page, None
    model.finding_digests = sent if isinstance(sent, dict) else finding_digests(
        [(f.rule, f.severity.value, f.path, f.line, f.message, f.hint, f.column, f.origin)
         for f in report.findings])
    model.verdicts = PageVerdicts(model)
    model.matches = QuotePlaces(model.texts)
    model.fact_index = index_facts(model.facts)
    model._alias_entity = None
    if not model.outlinks:
        link_graph(model)


def page_key(model: SiteModel, path: str, code: str) -> str:
    """A digest of everything the page's HTML is made from (incremental builds)."""
    page = model.pages[path]
    cited = sorted({(c.source_id, c.version, c.quote) for cl in page.claims
                    for c in cl.citations}, key=repr)
    sources = []
    for sid, version, q in cited:
        v = model.version_of(sid, version)
        src = model.sources.get(sid)
        added = src.version(v) if src is not None and v is not None else None
        sources.append([sid, version, v, src.title if src else None,
                        added.added if added is not None else None,
                        model.matches.get((sid, v, q)) if v is not None and q else None])
    facts = []
    ctx = PageContext(model, path) if page.fact_refs else None
    for entity, attribute, _, _ in page.fact_refs:
        assert ctx is not None
        got = ctx.fact(entity, attribute)
        facts.append([entity, attribute, got.display if got else None,
                      got.where if got else None, got.source_id if got else None])
    shown = model.neighbours(path)
    data = [code, model.vault_name, model.base_url, model.checked, model.names_digest,
            model.blobs.get(path), [f.to_json() for f in model.findings.get(path, ())],
            sources, facts, [[p, model.blobs.get(p), [f.to_json() for f in model.findings.get(p, ())]]
                             for p in model.embeds.get(path, ())],
            [[p, model.title_of(p)] for p in shown], model.graph_edges(shown),
            len(model.backlinks.get(path, ())) + len(model.outlinks.get(path, ())),
            [[p, model.summary_of(p)] for p in model.backlinks.get(path, ())]]
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def shared_digest(model: SiteModel, code: str, pages_root: str) -> str:
    """A digest of the inputs of page keys that every page may read: the code, the site
    settings, the check date, the link names, the sources and quote places, the facts."""
    data = [code, model.vault_name, model.base_url, model.checked, model.names_digest,
            pages_root, model.index_page, model.log_page,
            [repr(s) for _, s in sorted(model.sources.items())], texts_digest(model.texts),
            [repr(f) for f in model.facts]]
    raw = json.dumps(data, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def pages_to_key(model: SiteModel, old_keys: dict[str, str], incremental: bool) -> set[str]:
    """The pages whose key must be computed again; the others keep ``old_keys``.

    With ``incremental`` (the shared inputs and the old keys are those of the last build,
    see :mod:`site_cache`), a page's key can only change when its own blob or findings
    changed, when a page next to it in the link graph changed (outlinks, backlinks, graph
    edges, titles and summaries shown), or when a page it embeds changed or got other
    findings. Pages read from the index this build are the changed ones.
    """
    every = set(model.pages)
    if not incremental:
        return every
    prev = model.previous
    changed = set(model.loaded)
    if any(p not in prev.outs for p in changed):
        return every  # the old neighbours of a changed page are unknown
    digests = model.finding_digests
    refound = {p for p in every if digests.get(p) != prev.findings.get(p)}
    refound |= {p for p in prev.findings if p in every and p not in digests}
    todo = changed | refound
    for p in changed:
        todo.update(prev.outs[p], model.outlinks.get(p, ()), model.backlinks.get(p, ()))
    for e in changed | refound:
        todo.update(q for q in model.backlinks.get(e, ()) if e in model.embeds.get(q, ()))
    todo |= {p for p in every if page_url(p) not in old_keys}
    return todo & every
