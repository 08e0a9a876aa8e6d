"""Live refresh: notice files changed outside the app and tell the open views.

A :class:`~veriwiki.adapters.watch.ChangeWatch` (inotify on Linux) raises a flag when
anything under the vault changes (``.git`` and ``.veriwiki`` left out). Twice a second
the app looks at the flag; when it is up, the worker refreshes the index and compares
each page's blob id, and the signature of the other inputs (sources, data, schemas,
settings), with what it saw before. The changed pages are sent to every open view as a
server-sent event on ``/events`` (``{"generation": N, "paths": [...]}``; ``"*"`` when
something else than pages changed); page views reload themselves, the editor says the
file changed (a save then shows the merge). Saves made by the app announce themselves
the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import BaseRoute, Route

from veriwiki.web.context import WebContext

POLL_SECONDS = 0.5
AFTER_WRITE_SECONDS = 3.0
HEARTBEAT_SECONDS = 15.0
_INPUT_DIRS = ("raw", "data", "schemas")


def _inputs_signature(root: os.PathLike[str] | str) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of every file under the non-page inputs."""
    out: list[tuple[str, int, int]] = []
    for name in ("veriwiki.toml", "AGENTS.md"):
        with contextlib.suppress(OSError):
            st = os.stat(os.path.join(root, name))
            out.append((name, st.st_size, st.st_mtime_ns))
    for top in _INPUT_DIRS:
        for folder, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in sorted(files):
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(folder, f))
                    out.append((os.path.join(folder, f), st.st_size, st.st_mtime_ns))
    return tuple(out)


def start(ctx: WebContext, watch: bool) -> None:
    """Start watching, refresh the index and read what views need (on the worker)."""
    from veriwiki.services.indexing import update_index

    vault = ctx.open_vault()
    state = ctx.live_state
    if watch:
        from veriwiki.adapters.watch import ChangeWatch
        from veriwiki.vault import STATE_DIR

        # watching first, so that a change made while the index is refreshed is seen
        found = state["watch"] = ChangeWatch(vault.root, skip=(".git", STATE_DIR))
        found.take_changed()  # its first answer is always "changed": the refresh is below
    update_index(vault)
    ctx.caches.clear()
    ctx.caches["_blobs"] = vault.index.page_blobs()
    ctx.caches["_files"] = set(vault.index.attachments())
    ctx.caches["_inputs"] = _inputs_signature(vault.root)
    from veriwiki.web.pagecheck import inputs

    inputs(ctx)  # names, sources, facts: read once now rather than on the first view


def stop(ctx: WebContext) -> None:
    """Stop watching and end the event streams."""
    state = ctx.live_state
    task = state.pop("task", None)
    if task is not None:
        task.cancel()
    watch = state.pop("watch", None)
    if watch is not None:
        watch.close()
    for queue in list(ctx.listeners):
        queue.put_nowait({"end": True})


def refresh(ctx: WebContext) -> tuple[str, ...]:
    """Bring the index up to date and announce what changed (on the worker).

    Returns the changed page paths (``"*"`` among them when other inputs changed).
    """
    from veriwiki.services.indexing import update_index

    vault = ctx.open_vault()
    before: dict[str, str] = ctx.caches.get("_blobs") or {}
    inputs_before = ctx.caches.get("_inputs")
    files_before: set[str] = ctx.caches.get("_files") or set()
    update_index(vault)
    now = vault.index.page_blobs()
    files = set(vault.index.attachments())
    inputs = _inputs_signature(vault.root)
    paths = sorted(p for p in set(before) | set(now) if before.get(p) != now.get(p))
    paths += sorted(files ^ files_before)  # attachments added or removed
    if inputs != inputs_before:
        paths.append("*")
    if paths:
        ctx.changed(tuple(paths))
    ctx.caches["_blobs"] = now
    ctx.caches["_files"] = files
    ctx.caches["_inputs"] = inputs
    return tuple(paths)


async def poll(ctx: WebContext) -> None:
    """Refresh whenever the watch says files changed (runs for the server's life)."""
    state = ctx.live_state
    watch = state.get("watch")
    if watch is None:
        return
    while True:
        await asyncio.sleep(POLL_SECONDS)
        due = state.get("due")
        late = due is not None and time.monotonic() >= due
        if watch.take_changed() or late:
            state["due"] = None
            with contextlib.suppress(Exception):
                await ctx.run(refresh, ctx, timeout=120, what="refreshing the index")


def routes(ctx: WebContext) -> list[BaseRoute]:
    """``/events``: server-sent events naming the pages that changed."""

    async def events(request: Request) -> StreamingResponse:
        try:
            since = int(request.query_params.get("since")
                        or request.headers.get("last-event-id") or -1)
        except ValueError:
            since = -1
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        ctx.listeners.add(queue)

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                if 0 <= since < ctx.generation.number:
                    missed = sorted({p for n, _, ps in ctx.generation.changed if n > since
                                     for p in (ps or ("*",))})
                    yield _event({"generation": ctx.generation.number, "paths": missed})
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if event.get("end"):
                        return
                    yield _event(event)
            finally:
                ctx.listeners.discard(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-store",
                                          "x-accel-buffering": "no"})

    return [Route("/events", events)]


def _event(data: dict[str, Any]) -> str:
    return (f"id: {data.get('generation', 0)}\nevent: change\n"
            f"data: {json.dumps(data, ensure_ascii=False)}\n\n")


def announce(ctx: WebContext, paths: tuple[str, ...]) -> None:
    """Tell open views that the app itself changed ``paths`` (on the worker, after a
    write), and take them as they are now into the state the file watch compares with
    (other files keep their last refreshed state, so an outside change made meanwhile
    is still announced by the next refresh)."""
    vault = ctx.open_vault()
    watch = ctx.live_state.get("watch")
    if watch is not None:
        # the events so far are this write's own: no refresh right after it, when the
        # person is waiting for the page; one a little later catches an outside write
        # that landed meanwhile
        watch.take_changed()
        ctx.live_state["due"] = time.monotonic() + AFTER_WRITE_SECONDS
    blobs: dict[str, str] | None = ctx.caches.get("_blobs")
    inputs = ctx.caches.get("_inputs")
    ctx.changed(paths)
    if blobs is None:
        blobs = vault.index.page_blobs()
    else:  # the write's own pages only: anything else is for the next refresh to tell
        blobs = {p: b for p, b in blobs.items() if p not in paths}
        blobs.update((page.path, blob) for page, blob in vault.index.load_pages_blobs(paths))
    ctx.caches["_blobs"] = blobs
    ctx.caches["_files"] = set(vault.index.attachments())
    if inputs is None or any(p in ("veriwiki.toml", "AGENTS.md")
                             or p.startswith(tuple(d + "/" for d in _INPUT_DIRS))
                             for p in paths):
        inputs = _inputs_signature(vault.root)
    ctx.caches["_inputs"] = inputs
