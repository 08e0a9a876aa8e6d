"""Rendering the pages of a site build: in forked workers when there are many.

The workers are forked from the build with its model (:class:`SiteModel`) in memory
and render chunks of pages each; a page that fails gets a page saying why and is
reported. In a lean build (:data:`site.LEAN_PAGES`: only the store's rows held) each
worker is replaced after :data:`LEAN_TASKS` chunks and the biggest pages are rendered
by the build itself once the workers are gone, so no process of the build holds much
more than the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from veriwiki.adapters.memory import release
from veriwiki.services import site_pages as docs
from veriwiki.services.site_model import SiteModel, page_url
from veriwiki.services.site_output import Output

Progress = Callable[[str, int, int], None]  # what, done, of how many

FORK_PAGES = 400  # pages to render from which they are rendered in forked workers
CHUNK_PAGES = 100  # pages a worker renders at a time
LEAN_TASKS = 50  # (then) chunks a render worker renders before it is replaced
BIG_PAGE = 1_000_000  # (then) bytes of a page rendered by the build itself, not a worker

_WORKER_MODEL: SiteModel | None = None
_WORKER_OUT: Path | None = None


def render_chunk(paths: list[str]) -> tuple[int, list[tuple[str, str]]]:
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


def render_pages(model: SiteModel, out: Path, todo: list[str],
                  progress: Progress | None) -> tuple[int, list[tuple[str, str]]]:
    """Render the pages in ``todo``: in forked workers when there are many and cores."""
    global _WORKER_MODEL, _WORKER_OUT
    _WORKER_MODEL, _WORKER_OUT = model, out
    workers = min(os.cpu_count() or 1, 8)
    forking = workers > 1 and len(todo) >= FORK_PAGES and hasattr(os, "fork")
    lean = forking and getattr(model.pages, "lean", False)
    # (lean) pages of BIG_PAGE bytes or more (a catalog of every page) are rendered here
    # once the workers are gone: at 100k pages one held a worker ~0.5 GB above the others
    alone = {p for p in todo if _size(model.root / p) >= BIG_PAGE} if lean else set()
    rest = [p for p in todo if p not in alone]
    chunks = [rest[i:i + CHUNK_PAGES] for i in range(0, len(rest), CHUNK_PAGES)]
    tally = [0, 0]  # files written, pages done
    failed: list[tuple[str, str]] = []

    def count(got: tuple[int, list[tuple[str, str]]], chunk: list[str]) -> None:
        tally[0] += got[0]
        failed.extend(got[1])
        tally[1] += len(chunk)
        if progress is not None:
            progress("pages", tally[1], len(todo))

    try:
        if forking:
            import gc
            import multiprocessing

            # the store's rows and the resolver's tables in memory: the workers do not
            # share the store's connections (lean: each reads the names it needs)
            for held in (model.pages, None if lean else getattr(model.resolver, "source", None)):
                getattr(held, "fill", lambda _: None)(model.resolver)
            if lean:
                release()  # each worker starts as large as this process
            gc.freeze()  # the workers' collector leaves the shared model's pages alone
            # (lean) a worker is replaced by a fresh fork after LEAN_TASKS chunks: what it
            # decoded and remembered (pages, findings, link views) is bounded by them
            with multiprocessing.get_context("fork").Pool(
                    workers, maxtasksperchild=LEAN_TASKS if lean else None) as pool:
                for got, chunk in zip(pool.imap(render_chunk, chunks), chunks, strict=True):
                    count(got, chunk)
            chunks = [sorted(alone)] if alone else []
        for chunk in chunks:
            count(render_chunk(chunk), chunk)
    finally:
        _WORKER_MODEL = _WORKER_OUT = None
        import gc

        gc.unfreeze()
    return tally[0], failed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


