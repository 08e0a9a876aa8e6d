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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veriwiki.adapters.writes import check_write_path
from veriwiki.core.model import Page, SourceText
from veriwiki.errors import InputError, VeriwikiError
from veriwiki.render.layout import code_version, static_files
from veriwiki.services import site_pages as docs
from veriwiki.services import site_parts as parts
from veriwiki.services.check import CheckReport, check_vault
from veriwiki.services.indexing import build_resolver
from veriwiki.services.site_model import (
    ASSETS,
    LinkTables,
    SiteModel,
    add_links,
    finish_links,
    page_key,
    page_url,
    prepare,
    slim,
)
from veriwiki.services.site_output import Output
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


def collect_site(vault: Vault, base_url: str = "") -> SiteModel:
    """Run the check and gather everything the site shows."""
    from veriwiki.services.facts import load_facts
    from veriwiki.services.freshness import today
    from veriwiki.services.sources import load_sources, version_text

    report = _check_apart(vault)
    resolver = build_resolver(vault)
    pages: dict[str, Page] = {}
    blobs: dict[str, str] = {}
    models: list[Page] = []
    tables = LinkTables()
    paths = vault.index.paths()
    for start in range(0, len(paths), 2000):  # a chunk at a time: links are dropped early
        for page, blob in vault.index.load_pages_blobs(paths[start:start + 2000]):
            blobs[page.path] = blob
            add_links(resolver, page, tables)
            if page.type == "model":
                models.append(page)
            pages[page.path] = slim(page)
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
        vault_name=vault.config.vault.name, root=vault.root, pages=pages, blobs=blobs,
        resolver=resolver, report=report, findings={}, sources=sources,
        texts=texts, facts=facts, checked=today().isoformat(),
        names_digest=vault.index.names_digest(), index_page=vault.index_page,
        log_page=vault.log_page, base_url=base_url)
    finish_links(model, tables)
    prepare(model)
    return model


def _check_apart(vault: Vault) -> CheckReport:
    """``check_vault`` in a forked child, so the memory the check needed (all pages
    parsed, resolutions, source texts) is given back before the site model is built;
    only the report comes back. In-process where fork is missing or the child fails
    (then the error is raised here, with its message)."""
    if not hasattr(os, "fork"):
        return check_vault(vault)
    import pickle

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_fd)
            vault._index = None  # an inherited SQLite connection must not be used here
            data = pickle.dumps(check_vault(vault), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return check_vault(vault)
    report = pickle.loads(data)  # noqa: S301 - our own child's output
    assert isinstance(report, CheckReport)
    return report


def build_site(vault: Vault, out: Path | None = None, *, base_url: str = "",
               progress: Progress | None = None) -> SiteReport:
    """Build (or update) the static site in ``out`` (default ``site/``)."""
    started = time.perf_counter()
    out = _safe_out(vault, out or default_out(vault))
    out.mkdir(parents=True, exist_ok=True)
    check_write_path(out, out / MANIFEST)
    if not (out / MANIFEST).exists():  # marks the folder as a site before anything is written
        Output(out).write(MANIFEST, '{"files": [], "keys": {}}')
    model = collect_site(vault, base_url)
    code = code_version()
    try:
        old = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        same = old.get("code") == code
        old_keys: dict[str, str] = old.get("keys", {}) if same else {}
        old_groups: dict[str, Any] = old.get("groups", {}) if same else {}
        old_files: list[str] = old.get("files", [])
    except (OSError, ValueError, AttributeError):
        old_keys, old_groups, old_files = {}, {}, []
    output = Output(out)
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
    written, report.failed = _render_pages(model, out, todo, progress)
    output.written += written
    for path, _ in report.failed:
        keys.pop(page_url(path), None)  # rendered again next time
    listed = [p for p in paths if p not in (model.index_page, model.log_page)]

    def llms() -> None:
        output.write("llms.txt", docs.llms_txt(model, listed))
        output.write("llms-full.txt", docs.llms_full_txt(model, listed))

    group_keys = parts.group_keys(vault, model, code)
    groups: dict[str, Any] = {}
    for name, produce in (("sources", lambda: parts.write_sources(model, output)),
                          ("lists", lambda: parts.write_lists(vault, model, output)),
                          ("reports", lambda: parts.write_reports(vault, model, output)),
                          ("search", lambda: parts.write_search(vault, model, output)),
                          ("llms", llms)):
        if progress is not None:
            progress(name, 0, 0)
        prev = old_groups.get(name)
        if isinstance(prev, dict) and prev.get("key") == group_keys[name] and all(
                (out / f).is_file() for f in prev.get("files", [])):
            for f in prev["files"]:
                output.keep(f)
            groups[name] = prev
            continue
        before = set(output.produced)
        produce()
        groups[name] = {"key": group_keys[name], "files": sorted(output.produced - before)}
    for name, data in static_files().items():
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


def _render_chunk(paths: list[str]) -> tuple[int, list[tuple[str, str]]]:
    """Render and write ``paths`` (in a forked worker or in-process): files written, and
    the pages that could not be rendered with why (each gets a page saying so)."""
    assert _WORKER_MODEL is not None and _WORKER_OUT is not None
    output = Output(_WORKER_OUT)
    failed: list[tuple[str, str]] = []
    for path in paths:
        try:
            html = docs.render_page(_WORKER_MODEL, path)
        except Exception as exc:  # noqa: BLE001 - one bad page must not stop the build
            why = f"{type(exc).__name__}: {exc}"
            failed.append((path, why))
            html = docs.render_failure(_WORKER_MODEL, path, why)
        output.write(page_url(path), html)
    return output.written, failed


def _render_pages(model: SiteModel, out: Path, todo: list[str],
                  progress: Progress | None) -> tuple[int, list[tuple[str, str]]]:
    """Render the pages in ``todo``: in forked workers when there are many and cores."""
    global _WORKER_MODEL, _WORKER_OUT
    _WORKER_MODEL, _WORKER_OUT = model, out
    chunks = [todo[i:i + 100] for i in range(0, len(todo), 100)]
    workers = min(os.cpu_count() or 1, 8)
    written = done = 0
    failed: list[tuple[str, str]] = []
    try:
        if workers > 1 and len(todo) >= 400 and hasattr(os, "fork"):
            import gc
            import multiprocessing

            gc.freeze()  # the workers' collector leaves the shared model's pages alone
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for (n, bad), chunk in zip(pool.imap(_render_chunk, chunks), chunks,
                                           strict=True):
                    written += n
                    failed += bad
                    done += len(chunk)
                    if progress is not None:
                        progress("pages", done, len(todo))
        else:
            for chunk in chunks:
                n, bad = _render_chunk(chunk)
                written += n
                failed += bad
                done += len(chunk)
                if progress is not None:
                    progress("pages", done, len(todo))
    finally:
        _WORKER_MODEL = _WORKER_OUT = None
        import gc

        gc.unfreeze()
    return written, failed


def remove_site(out: Path) -> None:
    """Delete a site folder built by veriwiki (refuses other folders)."""
    if not (out / MANIFEST).is_file():
        raise InputError(f"{out} holds no veriwiki site")
    shutil.rmtree(out)
