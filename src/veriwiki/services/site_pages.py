"""The documents of the static site: pages, sources, lists and reports, as HTML text."""

from __future__ import annotations

import datetime as dt
import posixpath
from collections import defaultdict
from collections.abc import Iterator
from html import escape
from typing import Any

from veriwiki.core.model import Page, Severity
from veriwiki.render.graph import bar_chart_svg, local_graph_svg
from veriwiki.render.layout import render_document, stream_document, trusted
from veriwiki.render.markdown import parse_tokens, render_tokens
from veriwiki.render.properties import properties
from veriwiki.render.title import fold_title
from veriwiki.services.site_model import (
    ASSETS,
    PageContext,
    SiteModel,
    page_url,
    rel_url,
    source_url,
    tag_url,
)


def _root(url: str) -> str:
    return "../" * url.count("/")


def _common(model: SiteModel, url: str, title: str, **extra: Any) -> dict[str, Any]:
    canonical = (model.base_url.rstrip("/") + "/" + rel_url("index.html", url)
                 if model.base_url else None)
    return {"root": _root(url), "site_name": model.vault_name, "title": title,
            "checked": model.checked, "canonical": canonical, "body_class": "",
            "main_class": "", **extra}


def badge(model: SiteModel, page: Page) -> dict[str, Any]:
    """Claims verified / claims, stale claims, error findings, last reviewed."""
    found = model.findings.get(page.path, [])
    verdicts = {k: list(v) for k, v in model.verdicts.get(page.path, {}).items()}
    flat = [v for vs in verdicts.values() for v in vs]
    verified = 0
    for claim in page.claims:  # in order, as the chips take them
        names = set()
        for c in claim.citations:
            queue = verdicts.get((c.line, c.source_id, c.version, c.quote))
            names.add(queue.pop(0).name if queue else "verified")
        if names == {"verified"}:
            verified += 1
    reviewed = page.frontmatter.get("reviewed")
    return {"claims": len(page.claims), "verified": verified,
            "stale": sum(1 for v in flat if v.name == "stale"),
            "errors": sum(1 for f in found if f.severity is Severity.ERROR),
            "reviewed": str(reviewed) if reviewed else None}


def _crumbs(url: str) -> list[tuple[str, str]]:
    parts = url.split("/")[:-1]
    out = []
    for i in range(len(parts)):
        folder = "/".join(parts[: i + 1])
        out.append((parts[i], rel_url(url, f"{ASSETS}/folders/{folder}.html")))
    return out


def render_page(model: SiteModel, path: str) -> str:
    """The HTML document of one page."""
    page = model.pages[path]
    url = page_url(path)
    ctx = PageContext(model, path)
    rendered = render_tokens(parse_tokens(model.page_text(path), lazy=True), ctx)
    body = fold_title(rendered.html, rendered.toc, page.title)
    typed, props = properties(page)
    shown = model.neighbours(path)
    total = len(set(model.backlinks.get(path, ())) | set(model.outlinks.get(path, ())))
    hrefs: dict[str, str] = {}  # most backlinks are also in the graph: one href each

    def href(p: str) -> str:
        got = hrefs.get(p)
        if got is None:
            got = hrefs[p] = rel_url(url, page_url(p))
        return got

    # neighbours' titles and summaries from the store's rows: no page decoded for them
    graph = local_graph_svg((page.title, rel_url(url, url)),
                            [(p, model.title_of(p), href(p)) for p in shown],
                            set(model.graph_edges(shown)), total)
    back = [(model.title_of(p), href(p), model.summary_of(p))
            for p in model.backlinks.get(path, ())]
    err = page.frontmatter_error
    return render_document(
        "page.html", **_common(model, url, page.title),
        path=path, page_type=page.type, file_name=path.rsplit("/", 1)[-1],
        crumbs=_crumbs(url), badge=badge(model, page), typed=typed, properties=props,
        fm_error=f"{err.message} (line {err.line})" if err else None,
        tags=[(t, rel_url(url, tag_url(t))) for t in page.tags], body=trusted(body.html),
        toc=body.toc, title_id=body.anchor, graph=trusted(graph), backlinks=back,
        findings=model.findings.get(path, []))


def render_failure(model: SiteModel, path: str, why: str) -> str:
    """The page shown instead of one that could not be rendered."""
    url = page_url(path)
    title = model.pages[path].title if path in model.pages else path
    return render_listing(model, url, title, [],
                          intro=f"This page could not be rendered ({why}); see {path} in "
                                "the vault.")


def render_source(model: SiteModel, sid: str, version: int,
                  citing: list[tuple[str, int, int, str | None, str]]) -> str:
    """One source version: its text with every cited passage highlighted.

    ``citing`` holds (page path, line, chip number, quote, verdict) for each citation
    of this version; each highlight links back to the claims that cite it.
    """
    source = model.sources[sid]
    v = source.version(version)
    assert v is not None
    url = source_url(sid, version)
    text = model.texts.get((sid, version))
    spans: list[tuple[int, int, list[tuple[str, str, str]]]] = []
    missing: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, line, n, quote, verdict in citing:
        label = f"{model.pages[path].title}:{line}"
        href = rel_url(url, f"{page_url(path)}#cite-{line}-{n}")
        got = model.matches.get((sid, version, quote)) if quote else None
        if got is None:
            if quote:
                missing[quote].append((label, href))
            continue
        spans.append((got[0], got[1], [(label, href, verdict)]))
    html = None
    if text is not None:
        html = trusted(_highlight(text.text, spans))
    versions = [(x.version, rel_url(url, source_url(sid, x.version)))
                for x in sorted(source.versions, key=lambda x: x.version)]
    return render_document(
        "source.html", **_common(model, url, source.title, main_class="wide"),
        sid=sid, version=version, file=v.file, added=v.added, sha256=v.sha256,
        origin=source.origin, license=source.license, versions=versions,
        cited=len(spans), missing=sorted(missing.items()), text=html)


def _highlight(text: str, spans: list[tuple[int, int, list[tuple[str, str, str]]]]) -> str:
    """``text`` escaped, with merged cited spans wrapped in ``<mark>`` and back-links."""
    merged: list[list[Any]] = []
    for start, end, refs in sorted(spans, key=lambda s: (s[0], s[1])):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].extend(refs)
        else:
            merged.append([start, end, list(refs)])
    out: list[str] = []
    pos = 0
    for k, (start, end, refs) in enumerate(merged):
        out.append(escape(text[pos:start], quote=False))
        verdict = "stale" if any(r[2] == "stale" for r in refs) else "cited"
        links = "".join(f'<a class="cited-by" href="{escape(h)}" title="cited by {escape(lab)}">'
                        f"[{i + 1}]</a>" for i, (lab, h, _) in enumerate(refs))
        out.append(f'<mark class="cited" id="q-{k + 1}" data-verdict="{verdict}">'
                   f"{escape(text[start:end], quote=False)}{links}</mark>")
        pos = end
    out.append(escape(text[pos:], quote=False))
    return "".join(out)


def render_listing(model: SiteModel, url: str, title: str,
                   groups: list[tuple[str | None, list[tuple[str, str, str | None]]]],
                   intro: str | None = None, body: str | None = None,
                   crumbs: list[tuple[str, str]] | None = None) -> str:
    """A list page (tags, folders, sources, the home page); hrefs are site-root paths,
    ``crumbs`` the (name, href) of the pages above it."""
    rel = [(h, [(label, rel_url(url, href), note) for label, href, note in rows])
           for h, rows in groups]
    return render_document("listing.html", **_common(model, url, title, main_class="wide"),
                           groups=rel, intro=intro, body=trusted(body) if body else None,
                           crumbs=[(name, rel_url(url, href)) for name, href in crumbs or ()])


def folder_of(path: str, pages_root: str) -> str:
    """The folder a page is listed under in reports (its first folder below the root)."""
    root = pages_root.strip("/")
    rel = path[len(root) + 1:] if root not in ("", ".") and path.startswith(root + "/") else path
    top, sep, _ = rel.partition("/")
    base = root if root not in ("", ".") else ""
    if not sep:
        return base or "."
    return f"{base}/{top}" if base else top


def render_findings(model: SiteModel, pages_root: str) -> Iterator[str]:
    """Every finding of the check, filterable by rule, severity and folder (streamed)."""
    url = f"{ASSETS}/findings.html"
    findings = model.report.findings

    def rows() -> Iterator[tuple[Any, str | None, str]]:
        for f in findings:
            href = rel_url(url, f"{page_url(f.path)}#L{f.line}") if f.path in model.pages \
                else None
            yield f, href, posixpath.dirname(f.path) or "."

    return stream_document(
        "findings.html", **_common(model, url, "Findings", main_class="wide"),
        summary=model.report.summary(), rows=rows(),
        rules=sorted({f.rule for f in findings}),
        severities=[s.value for s in Severity if s is not Severity.OFF],
        folders=sorted({posixpath.dirname(f.path) or "." for f in findings}))


def render_health(model: SiteModel, pages_root: str, stale_review: list[tuple[str, str]],
                  authors: dict[str, set[str]]) -> str:
    """Claims verified per folder and type, stale pages, review overdue, coverage."""
    url = f"{ASSETS}/health.html"
    folders: dict[str, dict[str, Any]] = {}
    types: dict[str, dict[str, Any]] = {}
    totals = {"pages": 0, "claims": 0, "verified": 0, "covered": 0, "errors": 0,
              "stale_claims": 0}
    stale_pages = []
    for path in sorted(model.pages):
        if path in (model.index_page, model.log_page):
            continue
        page = model.pages[path]
        b = badge(model, page)
        for table, key in ((folders, folder_of(path, pages_root)), (types, page.type or "(none)")):
            row = table.setdefault(key, {"name": key, "pages": 0, "claims": 0, "verified": 0,
                                         "covered": 0, "authors": set()})
            row["pages"] += 1
            row["claims"] += b["claims"]
            row["verified"] += b["verified"]
            row["covered"] += 1 if b["claims"] else 0
            row["authors"] |= authors.get(path, set())
        totals["pages"] += 1
        totals["claims"] += b["claims"]
        totals["verified"] += b["verified"]
        totals["covered"] += 1 if b["claims"] else 0
        totals["errors"] += b["errors"]
        totals["stale_claims"] += b["stale"]
        if b["stale"]:
            stale_pages.append((page.title, rel_url(url, page_url(path)),
                                f"{b['stale']} claims cite a changed source"))
    for table in (folders, types):
        for row in table.values():
            row["authors"] = len(row["authors"])

    def chart(table: dict[str, dict[str, Any]]) -> str:
        rows = [(r["name"], r["verified"] / r["claims"] if r["claims"] else 0.0,
                 f"{r['verified']}/{r['claims']}") for r in
                sorted(table.values(), key=lambda r: r["name"])]
        return bar_chart_svg(rows)

    share = f"{totals['covered']}/{totals['pages']}"
    overdue = [(model.pages[p].title, rel_url(url, page_url(p)), why) for p, why in stale_review]
    return render_document(
        "health.html", **_common(model, url, "Health", main_class="wide"),
        totals={**totals, "coverage": share}, folders=[folders[k] for k in sorted(folders)],
        folder_chart=trusted(chart(folders)), type_chart=trusted(chart(types)),
        stale_pages=stale_pages, overdue=overdue)


def llms_txt(model: SiteModel, paths: list[str]) -> str:
    """``llms.txt``: the site for agents — one line per page with its summary."""
    base = model.base_url.rstrip("/")
    lines = [f"# {model.vault_name}", "",
             "> A veriwiki knowledge base. Claims cite exact quotes from sources; each page "
             "shows which citations verified.", "", "## Pages", ""]
    for p in paths:
        summary = model.summary_of(p)
        href = (base + "/" if base else "") + rel_url("index.html", page_url(p))
        note = f": {_md_text(summary)}" if summary else ""
        lines.append(f"- [{_md_text(model.title_of(p))}](<{href}>){note}")
    lines += ["", "## Reports", "",
              f"- [Findings]({(base + '/') if base else ''}{ASSETS}/findings.html)",
              f"- [Health]({(base + '/') if base else ''}{ASSETS}/health.html)", ""]
    return "\n".join(lines)


def _md_text(text: str) -> str:
    """``text`` for a markdown line: brackets, angle brackets and breaks escaped."""
    text = " ".join(text.split())
    for ch in "\\[]<>`":
        text = text.replace(ch, "\\" + ch)
    return text


def llms_full_txt(model: SiteModel, paths: list[str]) -> str:
    """``llms-full.txt``: every page's markdown, frontmatter dropped, one after another."""
    return "".join(llms_full_chunks(model, paths))


def llms_full_chunks(model: SiteModel, paths: list[str]) -> Iterator[str]:
    """:func:`llms_full_txt` piece by piece (at 100k pages it is hundreds of megabytes)."""
    yield llms_full_head(model)
    for p in paths:
        yield llms_full_segment(model, p)


def llms_full_head(model: SiteModel) -> str:
    """The first line of ``llms-full.txt``."""
    return f"# {model.vault_name}\n"


def llms_full_segment(model: SiteModel, path: str) -> str:
    """One page's part of ``llms-full.txt``: made from its path, title and text only."""
    from veriwiki.render.markdown import frontmatter_lines

    lines = model.page_text(path).replace("\r\n", "\n").split("\n")
    body = "\n".join(lines[frontmatter_lines(lines):]).strip()
    return f"\n---\npage: {path}\ntitle: {model.pages[path].title}\n---\n\n{body}\n"


def today_iso(on: dt.date) -> str:
    """The check date as shown on chips."""
    return on.isoformat()
