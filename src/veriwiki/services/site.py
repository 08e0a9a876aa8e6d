"""``veriwiki build``: the vault as a static site that shows what was verified.

The build runs the same check ``veriwiki check`` runs (:func:`check_vault`), collects
pages, sources and facts (:mod:`site_model`), and writes one HTML file per page, per
source version, tag and folder, the reports, a sharded search index and ``llms.txt``.
A rebuild renders a page only when the digest of its inputs changed (kept in
``.veriwiki-site.json`` in the output folder) and writes a file only when its bytes
changed, so its output is byte-identical to a cold build.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veriwiki.core.model import SourceText
from veriwiki.errors import InputError, VeriwikiError
from veriwiki.render.layout import code_version, static_files
from veriwiki.render.search import SearchDoc, build_search
from veriwiki.services import site_pages as docs
from veriwiki.services.check import check_vault
from veriwiki.services.indexing import build_resolver
from veriwiki.services.site_model import (
    ASSETS,
    SiteModel,
    page_key,
    page_url,
    prepare,
    source_url,
    tag_slug,
    tag_url,
)
from veriwiki.vault import Vault

MANIFEST = ".veriwiki-site.json"
Progress = Callable[[str, int, int], None]


@dataclass
class SiteReport:
    """What a build did."""

    out: Path
    pages: int = 0
    sources: int = 0
    rendered: int = 0
    written: int = 0
    removed: int = 0
    errors: int = 0
    warnings: int = 0
    broken_links: list[tuple[str, int, str]] = field(default_factory=list)
    seconds: float = 0.0
    has_errors: bool = False

    def to_json(self) -> dict[str, Any]:
        """The summary ``build --json`` prints."""
        return {"out": str(self.out), "pages": self.pages, "sources": self.sources,
                "rendered": self.rendered, "written": self.written, "removed": self.removed,
                "errors": self.errors, "warnings": self.warnings,
                "broken_links": len(self.broken_links), "seconds": round(self.seconds, 3)}


class _Output:
    """Writes files under the output folder only when their bytes change."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.produced: set[str] = set()
        self.written = 0

    def write(self, rel: str, data: str | bytes) -> None:
        blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        self.produced.add(rel)
        target = self.out / rel
        try:
            if target.stat().st_size == len(blob) and target.read_bytes() == blob:
                return
        except OSError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, target)
        self.written += 1

    def keep(self, rel: str) -> None:
        self.produced.add(rel)


def default_out(vault: Vault) -> Path:
    """``site/`` at the vault root."""
    return vault.root / "site"


def _safe_out(vault: Vault, out: Path) -> Path:
    out = out.resolve()
    root = vault.root.resolve()
    for forbidden in (root, root / "wiki", root / "raw", root / "data", root / ".git",
                      root / vault.pages_root):
        if out == forbidden.resolve():
            raise InputError(f"refusing to build into {out}: it holds the vault's own files",
                             hint="build into an empty folder such as site/")
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise InputError(f"{out} is not empty and holds no veriwiki site",
                         hint="choose an empty folder, or delete it first")
    return out


def collect_site(vault: Vault, base_url: str = "") -> SiteModel:
    """Run the check and gather everything the site shows."""
    from veriwiki.services.facts import load_facts
    from veriwiki.services.freshness import today
    from veriwiki.services.sources import load_sources, version_text

    report = check_vault(vault)
    pairs = vault.index.load_pages_blobs()
    pages = {p.path: p for p, _ in pairs}
    blobs = {p.path: b for p, b in pairs}
    sources = {s.id: s for s in load_sources(vault)[0]}
    texts: dict[tuple[str, int], SourceText] = {}
    for sid, source in sources.items():
        for v in source.versions:
            try:
                texts[(sid, v.version)] = version_text(vault, source, v)
            except VeriwikiError:
                continue  # the source page says the text cannot be read
    facts, _ = load_facts(vault, [p for p in pages.values() if p.type == "model"])
    model = SiteModel(
        vault_name=vault.config.vault.name, root=vault.root, pages=pages, blobs=blobs,
        resolver=build_resolver(vault), report=report, findings={}, sources=sources,
        texts=texts, facts=facts, checked=today().isoformat(),
        names_digest=vault.index.names_digest(), index_page=vault.index_page,
        log_page=vault.log_page, base_url=base_url)
    prepare(model)
    return model


def build_site(vault: Vault, out: Path | None = None, *, base_url: str = "",
               progress: Progress | None = None) -> SiteReport:
    """Build (or update) the static site in ``out`` (default ``site/``)."""
    started = time.perf_counter()
    out = _safe_out(vault, out or default_out(vault))
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MANIFEST).exists():  # marks the folder as a site before anything is written
        (out / MANIFEST).write_text('{"files": [], "keys": {}}', encoding="utf-8")
    model = collect_site(vault, base_url)
    code = code_version()
    try:
        old = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        old_keys: dict[str, str] = old.get("keys", {}) if old.get("code") == code else {}
        old_files: list[str] = old.get("files", [])
    except (OSError, ValueError, AttributeError):
        old_keys, old_files = {}, []
    output = _Output(out)
    report = SiteReport(out, pages=len(model.pages), sources=len(model.sources))
    keys: dict[str, str] = {}
    paths = sorted(model.pages)
    todo: list[str] = []
    for path in paths:
        rel = page_url(path)
        keys[rel] = key = page_key(model, path, code)
        output.keep(rel)
        if old_keys.get(rel) != key or not (out / rel).is_file():
            todo.append(path)
    report.rendered = len(todo)
    output.written += _render_pages(model, out, todo, progress)
    _sources(model, output)
    _lists(vault, model, output)
    _reports(vault, model, output)
    _search(vault, model, output)
    listed = [p for p in paths if p not in (model.index_page, model.log_page)]
    output.write("llms.txt", docs.llms_txt(model, listed))
    output.write("llms-full.txt", docs.llms_full_txt(model, listed))
    for name, data in static_files().items():
        output.write(f"{ASSETS}/static/{name}", data)
    for att in sorted(model.attachments_used):
        _copy_attachment(vault, output, att)
    output.write(".nojekyll", b"")
    output.write(".gitignore", b"# built by veriwiki build; rebuild it, do not commit it\n*\n")
    for rel in sorted(set(old_files) - output.produced):
        target = out / rel
        if target.is_file() and not target.is_symlink():
            target.unlink()
            report.removed += 1
    manifest = {"code": code, "keys": keys, "files": sorted(output.produced)}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True),
                                encoding="utf-8")
    report.written = output.written
    counts = model.report.counts
    report.errors, report.warnings = counts.get("error", 0), counts.get("warning", 0)
    report.has_errors = model.report.has_errors
    report.broken_links = [(f.path, f.line, f.message) for f in model.report.findings
                           if f.rule == "broken-link"]
    report.seconds = time.perf_counter() - started
    return report


_WORKER_MODEL: SiteModel | None = None
_WORKER_OUT: Path | None = None


def _render_chunk(paths: list[str]) -> int:
    """Render and write ``paths`` (in a forked worker or in-process); files written."""
    assert _WORKER_MODEL is not None and _WORKER_OUT is not None
    output = _Output(_WORKER_OUT)
    for path in paths:
        output.write(page_url(path), docs.render_page(_WORKER_MODEL, path))
    return output.written


def _render_pages(model: SiteModel, out: Path, todo: list[str],
                  progress: Progress | None) -> int:
    """Render the pages in ``todo``: in forked workers when there are many and cores."""
    global _WORKER_MODEL, _WORKER_OUT
    _WORKER_MODEL, _WORKER_OUT = model, out
    chunks = [todo[i:i + 100] for i in range(0, len(todo), 100)]
    workers = min(os.cpu_count() or 1, 8)
    written = done = 0
    try:
        if workers > 1 and len(todo) >= 400 and hasattr(os, "fork"):
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for n, chunk in zip(pool.imap(_render_chunk, chunks), chunks, strict=True):
                    written += n
                    done += len(chunk)
                    if progress is not None:
                        progress("pages", done, len(todo))
        else:
            for chunk in chunks:
                written += _render_chunk(chunk)
                done += len(chunk)
                if progress is not None:
                    progress("pages", done, len(todo))
    finally:
        _WORKER_MODEL = _WORKER_OUT = None
    return written


def _copy_attachment(vault: Vault, output: _Output, rel: str) -> None:
    src = vault.root / rel
    try:
        if src.is_symlink() or not src.is_file() or src.stat().st_size > 50_000_000:
            return
        output.write(rel, src.read_bytes())
    except OSError:
        return


def _sources(model: SiteModel, output: _Output) -> None:
    citing: dict[tuple[str, int], list[tuple[str, int, int, str | None, str]]] = defaultdict(list)
    for path in sorted(model.pages):
        page = model.pages[path]
        verdicts = {k: list(v) for k, v in model.verdicts.get(path, {}).items()}
        n = 0
        for claim in page.claims:
            for cite in claim.citations:
                n += 1
                key = (cite.line, cite.source_id, cite.version, cite.quote)
                queue = verdicts.get(key)
                verdict = queue.pop(0).name if queue else "verified"
                version = model.version_of(cite.source_id, cite.version)
                if version is not None:
                    citing[(cite.source_id, version)].append(
                        (path, cite.line, n, cite.quote, verdict))
    rows: list[tuple[str, str, str | None]] = []
    for sid in sorted(model.sources):
        source = model.sources[sid]
        for v in source.versions:
            output.write(source_url(sid, v.version),
                         docs.render_source(model, sid, v.version, citing[(sid, v.version)]))
        stale: list[tuple[str, str, str | None]] = [
                 (f"{f.path}:{f.line}", page_url(f.path) + f"#L{f.line}", f.message)
                 for f in model.report.findings
                 if f.rule == "stale-claim" and f"{sid}:v" in f.message and f.path in model.pages]
        groups: list[tuple[str | None, list[tuple[str, str, str | None]]]] = [
            ("Versions", [(f"v{v.version} — {v.file}", source_url(sid, v.version),
                           f"added {v.added}") for v in sorted(source.versions,
                                                               key=lambda x: -x.version)])]
        if stale:
            groups.append(("Claims gone stale with the latest version", stale))
        output.write(source_url(sid), docs.render_listing(
            model, source_url(sid), source.title, groups, intro=f"Source @{sid}"))
        rows.append((f"{source.title} (@{sid})", source_url(sid, source.current.version),
                     f"{len(source.versions)} version(s)"))
    output.write(f"{ASSETS}/sources/index.html", docs.render_listing(
        model, f"{ASSETS}/sources/index.html", "Sources", [(None, rows)]))


def _entry(model: SiteModel, path: str) -> tuple[str, str, str | None]:
    page = model.pages[path]
    return page.title, page_url(path), page.summary or None


def _lists(vault: Vault, model: SiteModel, output: _Output) -> None:
    by_tag: dict[str, list[str]] = defaultdict(list)
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in sorted(model.pages):
        for tag in model.pages[path].tags:
            by_tag[tag].append(path)
        parts = path.split("/")[:-1]
        for i in range(len(parts)):
            by_folder["/".join(parts[: i + 1])].append(path)
    slugs: dict[str, str] = {}
    for tag in sorted(by_tag, key=lambda t: (t.casefold(), t)):
        slug = tag_slug(tag)
        if slug in slugs:
            by_tag[slugs[slug]].extend(by_tag[tag])
            continue
        slugs[slug] = tag
    for slug, tag in sorted(slugs.items()):
        entries = sorted({p for t, ps in by_tag.items() if tag_slug(t) == slug for p in ps})
        url = tag_url(tag)
        output.write(url, docs.render_listing(model, url, f"#{tag}",
                                              [(None, [_entry(model, p) for p in entries])]))
    output.write(f"{ASSETS}/tags/index.html", docs.render_listing(
        model, f"{ASSETS}/tags/index.html", "Tags",
        [(None, [(f"#{t}", tag_url(t), f"{len(set(by_tag[t]))} pages")
                 for _, t in sorted(slugs.items())])]))
    for folder in sorted(by_folder):
        url = f"{ASSETS}/folders/{folder}.html"
        direct = [p for p in by_folder[folder] if p.rsplit("/", 1)[0] == folder]
        subs = sorted({p[len(folder) + 1:].split("/", 1)[0] for p in by_folder[folder]
                       if p.rsplit("/", 1)[0] != folder})
        groups: list[tuple[str | None, list[tuple[str, str, str | None]]]] = []
        if subs:
            groups.append(("Folders", [(s + "/", f"{ASSETS}/folders/{folder}/{s}.html", None)
                                       for s in subs]))
        groups.append(("Pages", [_entry(model, p) for p in direct]))
        output.write(url, docs.render_listing(model, url, folder + "/", groups))
    tops = sorted({f.split("/")[0] for f in by_folder})
    top_pages = [p for p in sorted(model.pages) if "/" not in p]
    output.write(f"{ASSETS}/folders/index.html", docs.render_listing(
        model, f"{ASSETS}/folders/index.html", "Folders",
        [("Folders", [(f + "/", f"{ASSETS}/folders/{f}.html", None) for f in tops]),
         ("Pages", [_entry(model, p) for p in top_pages])]))
    _home(model, output)


def _home(model: SiteModel, output: _Output) -> None:
    """The catalog as home page (the vault's index page rendered), else a page list."""
    from veriwiki.render.markdown import parse_tokens, render_tokens
    from veriwiki.services.site_model import PageContext

    body = None
    if model.index_page in model.pages:
        ctx = PageContext(model, model.index_page, "index.html")
        body = render_tokens(parse_tokens(model.page_text(model.index_page)), ctx).html
    rows = [_entry(model, p) for p in sorted(model.pages)
            if p not in (model.index_page, model.log_page)]
    output.write("index.html", docs.render_listing(
        model, "index.html", model.vault_name, [] if body else [(None, rows)], body=body))


def _reports(vault: Vault, model: SiteModel, output: _Output) -> None:
    from veriwiki.services.freshness import page_freshness, today

    on = today()
    overdue = []
    for path in sorted(model.pages):
        state = page_freshness(model.pages[path], vault.config.freshness, on,
                               vault.config.vault.default_type)
        if state is not None and state.is_stale:
            why = (f"review due {state.due.isoformat()} ({state.interval})" if state.due
                   else f"never reviewed ({state.interval})")
            overdue.append((path, why))
    authors: dict[str, set[str]] = {}
    try:
        from veriwiki.services.status import _file_history

        authors = {p: a for p, (_, a) in _file_history(vault).items()}
    except VeriwikiError:
        authors = {}
    output.write(f"{ASSETS}/findings.html", docs.render_findings(model, vault.pages_root))
    output.write(f"{ASSETS}/health.html",
                 docs.render_health(model, vault.pages_root, overdue, authors))


def _search(vault: Vault, model: SiteModel, output: _Output) -> None:
    entries = []
    for path in sorted(model.pages):
        if path in (model.index_page, model.log_page):
            continue
        page = model.pages[path]
        body = model.page_text(path)
        entries.append(SearchDoc(page_url(path), page.title, page.summary,
                                 " ".join((page.title, *page.aliases)),
                                 " ".join([h.text for h in page.headings] + list(page.tags)),
                                 body))
    for name, blob in build_search(entries).items():
        output.write(f"{ASSETS}/search/{name}", blob)


def remove_site(out: Path) -> None:
    """Delete a site folder built by veriwiki (refuses other folders)."""
    if not (out / MANIFEST).is_file():
        raise InputError(f"{out} holds no veriwiki site")
    shutil.rmtree(out)
