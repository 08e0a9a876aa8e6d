"""``veriwiki build``: the vault as a static site that shows what was verified.

The build runs the same check ``veriwiki check`` runs (:func:`check_vault`), collects
pages, sources and facts (:mod:`site_model`), and writes one HTML file per page, per
source version, tag and folder, the reports, a sharded search index and ``llms.txt``.
A rebuild renders a page only when the digest of its inputs changed (kept in
``.veriwiki-site.json`` in the output folder) and writes a file only when its bytes
changed, so its output is byte-identical to a cold build.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veriwiki.adapters.memory import release
from veriwiki.adapters.writes import check_write_path
from veriwiki.core.model import Page, SourceText
from veriwiki.errors import InputError, VeriwikiError
from veriwiki.render.layout import code_version, prepare_templates, static_files
from veriwiki.services import site_pages as docs
from veriwiki.services import site_parts as parts
from veriwiki.services.check_report import CheckReport
from veriwiki.services.indexing import build_resolver, update_index
from veriwiki.services.site_cache import (
    OLD_STATE_FILE,
    RESOLVER_FILE,
    Previous,
    keys_digest,
    read_previous,
    state_version,
    write_previous,
)
from veriwiki.services.site_check import findings_of
from veriwiki.services.site_check import start_check as _start_check
from veriwiki.services.site_llms import write_llms_full
from veriwiki.services.site_model import (
    ASSETS,
    LinkTables,
    SiteModel,
    add_links,
    page_key,
    page_url,
    pages_to_key,
    prepare,
    shared_digest,
    slim,
)
from veriwiki.services.site_output import Output, begin_build, end_build, present_files
from veriwiki.services.site_render import render_pages as _render_pages
from veriwiki.services.site_store import (
    HELD,
    Row,
    SiteStore,
    StoredLinks,
    StoredPages,
    patch_rows,
    row_of,
    with_back,
)
from veriwiki.settings import CONFIG_FILE
from veriwiki.vault import Vault

MANIFEST = ".veriwiki-site.json"
OVERLAP_PAGES = 50_000  # below: the check runs while pages are collected; above: before
LEAN_PAGES = 50_000  # pages read from the index from which only their rows are held
LEAN_KEEP = 10_000  # (then) decoded pages kept at most, in each process
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
    failed: list[tuple[str, str]] = field(default_factory=list)  # pages not rendered, why
    seconds: float = 0.0
    has_errors: bool = False

    def to_json(self) -> dict[str, Any]:
        """The summary ``build --json`` prints."""
        return {"out": str(self.out), "pages": self.pages, "sources": self.sources,
                "rendered": self.rendered, "written": self.written, "removed": self.removed,
                "errors": self.errors, "warnings": self.warnings,
                "broken_links": len(self.broken_links), "failed": len(self.failed),
                "seconds": round(self.seconds, 3)}


def default_out(vault: Vault) -> Path:
    """``site/`` at the vault root."""
    return vault.root / "site"


def _safe_out(vault: Vault, out: Path) -> Path:
    vroot, lexical = Path(os.path.abspath(vault.root)), Path(os.path.abspath(out))
    if lexical == vroot or vroot in lexical.parents:
        # inside the vault: a folder the repository may have committed as a link
        check_write_path(vroot, lexical)
    root = vault.root.resolve()
    out = out.resolve()
    for forbidden in (root, root / "wiki", root / "raw", root / "data", root / ".git",
                      root / vault.pages_root):
        if out == forbidden.resolve():
            raise InputError(f"refusing to build into {out}: it holds the vault's own files",
                             hint="build into an empty folder such as site/")
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise InputError(f"{out} is not empty and holds no veriwiki site",
                         hint="choose an empty folder, or delete it first")
    return out


def collect_site(vault: Vault, base_url: str = "", *, code: str | None = None) -> SiteModel:
    """Run the check and gather everything the site shows."""
    model, check = collect_pages(vault, base_url, code=code)
    return finish_model(model, check())


def finish_model(model: SiteModel, report: CheckReport) -> SiteModel:
    """Put the check's report into a model from :func:`collect_pages` and derive the
    tables that need it (findings per page, verdicts, quote places)."""
    model.report = report
    prepare(model)
    return model


def collect_pages(vault: Vault, base_url: str = "", *, code: str | None = None
                  ) -> tuple[SiteModel, Callable[[], CheckReport]]:
    """Gather the pages, links, sources and facts, with the check started: returns the
    model (without findings yet) and how to wait for the check's report.

    The check runs in a forked child while the pages are collected here (below
    :data:`OVERLAP_PAGES` pages; above, one after the other, to bound memory), so the
    caller may also produce what needs no findings before waiting. Pages whose blob and
    link names are unchanged since the last build come from the site store
    (:mod:`site_store`) instead of the index, their links already resolved, and are
    decoded only when asked for; the rows of changed pages and of the pages whose
    backlinks they changed are written again.
    """
    from veriwiki.services.facts import load_facts
    from veriwiki.services.freshness import today
    from veriwiki.services.sources import load_sources, version_text

    # the index brought up to date here, so the pages read below are the ones the check
    # sees; its child, the longer of the two, imports the check's code meanwhile
    read: list[tuple[dict[str, str], str]] = []

    def first() -> tuple[dict[str, str], str]:  # and what the check reads next, once
        update_index(vault)
        read.append((vault.index.page_blobs(), vault.index.names_digest()))
        return read[0]

    check = _start_check(vault, first)
    blobs, names = dict(read[0][0]), read[0][1]  # (the child got a copy)
    if len(blobs) >= OVERLAP_PAGES:
        report = check()
        check = lambda: report  # noqa: E731
    try:
        config = (vault.root / CONFIG_FILE).read_bytes()
    except OSError:
        config = b""
    version = state_version(code or code_version(), config)
    for gone in (OLD_STATE_FILE, RESOLVER_FILE):  # the store's forerunners
        with contextlib.suppress(OSError):
            (vault.cache_dir / gone).unlink()
    store = SiteStore(vault.cache_dir, version, names, vault.pages_root)
    old = store.rows
    if old.keys() != blobs.keys():  # the names digest covers the paths: a damaged store
        store.close()
        store.token, old = None, {}
    # the rows' names' resolver: kept in the store while they hold, else made again
    resolver = store.resolver(lambda: build_resolver(vault))
    previous = read_previous(vault.cache_dir)
    if previous.token is None or previous.token != store.token:
        previous = Previous()
    paths = list(blobs)
    load = [p for p in paths if p not in old or old[p].blob != blobs[p]]
    # a store filled for many pages holds their rows only (the pages are decoded from
    # them when asked for, a bounded number kept): at 100k pages the decoded pages, held
    # in this process and touched by each render worker, were ~0.7 GB
    lean = not old and len(load) >= LEAN_PAGES
    tables = LinkTables()
    loaded: dict[str, Page] = {}
    made: dict[str, Row] = {}  # (lean) the rows made as their pages were read
    for start in range(0, len(load), 2000):  # a chunk at a time: links are dropped early
        for page, blob in vault.index.load_pages_blobs(load[start:start + 2000]):
            blobs[page.path] = blob
            add_links(resolver, page, tables)
            if lean:
                made[page.path] = row_of(slim(page), blob, tables)
            else:
                loaded[page.path] = slim(page)
    rows = dict(old)
    for path in load:
        if path not in loaded and path not in made:  # gone from the index meanwhile
            rows.pop(path, None)
    read_now = {*loaded, *made}  # the pages read from the index (changed since)
    changed = set(read_now)
    if not old:
        for path, page in loaded.items():
            rows[path] = row_of(page, blobs[path], tables)
        for path, row in made.items():
            rows[path] = with_back(row, sorted(tables.back.get(path, ())))
        made.clear()
    else:
        changed |= patch_rows(rows, lambda p: store.full(rows, p), loaded, blobs, tables,
                              previous)
    del tables
    present = [p for p in paths if p in rows]
    pages = StoredPages(present, rows, loaded, store, keep=LEAN_KEEP if lean else None)
    models = [p for p, _ in vault.index.load_pages_blobs(vault.index.paths(page_type="model"))]
    sources = {s.id: s for s in load_sources(vault)[0]}
    texts: dict[tuple[str, int], SourceText] = {}
    for sid, source in sources.items():
        for v in source.versions:
            try:
                texts[(sid, v.version)] = version_text(vault, source, v)
            except VeriwikiError:
                continue  # the source page says the text cannot be read
    facts, _ = load_facts(vault, models)
    model = SiteModel(
        vault_name=_vault_name(vault), root=vault.root, pages=pages,
        blobs={p: blobs[p] for p in present}, resolver=resolver, report=CheckReport([], 0),
        findings={}, sources=sources, texts=texts, facts=facts, checked=today().isoformat(),
        names_digest=names, index_page=vault.index_page, log_page=vault.log_page,
        base_url=base_url)
    model.state_token = store.save(rows, changed)
    if lean and model.state_token is not None:  # the resolver's tables just written:
        model.resolver = store.saved_resolver(lambda: build_resolver(vault))  # read per name
        del resolver
    for path in loaded:  # their pages are held decoded: their records are not needed again
        rows[path] = rows[path]._replace(rec=HELD)
    model.previous, model.loaded = previous, read_now
    model.rows = rows
    model.outlinks, model.embeds = StoredLinks(pages, "outs"), StoredLinks(pages, "embeds")
    model.backlinks = StoredLinks(pages, "back")
    model.attachments_used = {a for r in rows.values() if r.atts != "[]"
                              for a in json.loads(r.atts)}
    if lean:
        release()  # the pages read and their link tables, freed
    return model, check


def _vault_name(vault: Vault) -> str:
    """``[vault] name`` from the validated settings (the schema, pydantic, is not needed
    for it: a rebuild that only reads settings does not import it)."""
    if vault._config is not None:
        return vault._config.vault.name
    name = vault.settings.get("vault", {}).get("name")
    return name if isinstance(name, str) else vault.config.vault.name


def build_site(vault: Vault, out: Path | None = None, *, base_url: str = "",
               progress: Progress | None = None) -> SiteReport:
    """Build (or update) the static site in ``out`` (default ``site/``)."""
    import gc

    # The build allocates hundreds of thousands of long-lived objects (pages, findings,
    # link tables) and frees them by reference counting; with the default thresholds
    # the cyclic collector walks them all again and again (~25% of a one-page rebuild
    # at 10k pages). Rarer collections while it runs; the thresholds come back after.
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
    try:
        return _build_site(vault, out, base_url=base_url, progress=progress)
    finally:
        gc.set_threshold(*thresholds)


def _build_site(vault: Vault, out: Path | None, *, base_url: str,
                progress: Progress | None) -> SiteReport:
    started = time.perf_counter()
    out = _safe_out(vault, out or default_out(vault))
    out.mkdir(parents=True, exist_ok=True)
    check_write_path(out, out / MANIFEST)
    if not (out / MANIFEST).exists():  # marks the folder as a site before anything is written
        Output(out).write(MANIFEST, '{"files": [], "keys": {}}')
    stopped = begin_build(out)  # True: the last build stopped midway
    code = code_version()
    model, check = collect_pages(vault, base_url, code=code)
    try:
        old = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        same = old.get("code") == code and not stopped
        old_keys: dict[str, str] = old.get("keys", {}) if same else {}
        old_groups: dict[str, Any] = old.get("groups", {}) if same else {}
        old_files: list[str] = old.get("files", [])
    except (OSError, ValueError, AttributeError):
        old_keys, old_groups, old_files = {}, {}, []
    output = Output(out)
    paths = sorted(model.pages)
    listed = [p for p in paths if p not in (model.index_page, model.log_page)]
    groups: dict[str, Any] = {}
    memo: dict[str, Any] = {}  # parts of group keys shared by several groups

    def group(name: str, produce: Callable[[], None]) -> None:
        """Produce a group of outputs unless its inputs are those of the last build."""
        if progress is not None:
            progress(name, 0, 0)
        key = parts.group_key(vault, model, code, name, memo)
        prev = old_groups.get(name)
        if isinstance(prev, dict) and prev.get("key") == key and isinstance(
                prev.get("files"), list) and len(present_files(out, prev["files"])) == len(
                set(prev["files"])):
            for f in prev["files"]:
                output.keep(f)
            groups[name] = prev
            return
        before = set(output.produced)
        produce()
        groups[name] = {"key": key, "files": sorted(output.produced - before)}

    # what needs no findings is produced while the check runs
    group("search", lambda: parts.write_search(vault, model, output))
    lean = getattr(model.pages, "lean", False)
    if lean:
        release()  # the term weights, freed
    group("llms", lambda: output.write("llms.txt", docs.llms_txt(model, listed)))
    group("llms-full", lambda: write_llms_full(vault.cache_dir, model, output, listed, code))
    # still before the wait (the check's child is usually the last to finish): the
    # template engine, the page templates and the stylesheet are made now, not after it
    # and what the page keys need besides findings
    prepare_templates()
    statics = static_files()
    shared = shared_digest(model, code, vault.pages_root)
    last = model.previous if isinstance(model.previous, Previous) else Previous()
    incremental = (last.token is not None and last.shared == shared
                   and last.keys == keys_digest(old_keys))
    present = present_files(out, [page_url(p) for p in paths])
    finish_model(model, check())
    report = SiteReport(out, pages=len(model.pages), sources=len(model.sources))
    keys: dict[str, str] = {}
    todo: list[str] = []
    again = pages_to_key(model, old_keys, incremental)
    for path in paths:
        rel = page_url(path)
        keys[rel] = key = page_key(model, path, code) if path in again else old_keys[rel]
        output.keep(rel)
        if old_keys.get(rel) != key or rel not in present:
            todo.append(path)
    report.rendered = len(todo)
    written, report.failed = _render_pages(model, out, todo, progress)
    output.written += written
    for path, _ in report.failed:
        keys.pop(page_url(path), None)  # rendered again next time
    for name, produce in (("sources", lambda: parts.write_sources(model, output)),
                          ("lists", lambda: parts.write_lists(vault, model, output)),
                          ("reports", lambda: parts.write_reports(vault, model, output))):
        group(name, produce)
    for name, data in statics.items():
        output.write(f"{ASSETS}/static/{name}", data)
    for att in sorted(model.attachments_used):
        parts.copy_attachment(vault, output, att)
    output.write(".nojekyll", b"")
    output.write(".gitignore", b"# built by veriwiki build; rebuild it, do not commit it\n*\n")
    for rel in sorted(set(old_files) - output.produced):
        if output.remove(rel):
            report.removed += 1
    manifest = {"code": code, "keys": keys, "groups": groups, "files": sorted(output.produced)}
    output.write(MANIFEST, json.dumps(manifest, ensure_ascii=False, sort_keys=True))
    end_build(out)
    if model.state_token is not None:
        write_previous(vault.cache_dir, model.state_token, keys, shared,
                       model.finding_digests)
    report.written = output.written
    counts = model.report.counts
    report.errors, report.warnings = counts.get("error", 0), counts.get("warning", 0)
    report.has_errors = model.report.has_errors
    report.broken_links = [(f.path, f.line, f.message)
                           for f in findings_of(model.report, "broken-link")]
    for held in (getattr(model.pages, "store", None), getattr(model.resolver, "source", None)):
        if held is not None:
            held.close()
    report.seconds = time.perf_counter() - started
    return report


def remove_site(out: Path) -> None:
    """Delete a site folder built by veriwiki (refuses other folders)."""
    if not (out / MANIFEST).is_file():
        raise InputError(f"{out} holds no veriwiki site")
    shutil.rmtree(out)
