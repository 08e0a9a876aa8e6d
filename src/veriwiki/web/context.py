"""What every route factory receives: the vault worker, templates and shared caches.

The vault's SQLite handles belong to the thread that opened them and the services are
not written for threads, so every vault call runs on one worker thread, one at a time
(as in the MCP server); the event loop stays free for other requests. A call that runs
past its timeout gives the browser a clear error at once (the call itself finishes in
the background; services cannot be interrupted half-way).
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from veriwiki.errors import VeriwikiError
from veriwiki.vault import Vault, debug_enabled

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
NAV = (("Home", "/"), ("Search", "/search"), ("Review", "/review"),
       ("Findings", "/findings"), ("Health", "/health"), ("Ask", "/ask"))


class WorkTimeout(Exception):
    """A vault call ran past its time limit (the page says so; the call is not lost)."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what} took longer than {seconds:g} s")
        self.what = what
        self.seconds = seconds


@dataclass
class Generation:
    """Bumped whenever the vault's files change (a save here or an outside write)."""

    number: int = 0
    changed: list[tuple[int, float, tuple[str, ...]]] = field(default_factory=list)

    def bump(self, paths: tuple[str, ...]) -> int:
        """Record a change of ``paths`` (empty: unknown files) and return the new number."""
        self.number += 1
        self.changed.append((self.number, time.time(), paths))
        del self.changed[:-200]
        return self.number


class WebContext:
    """The app's shared state; route factories get one (``module.routes(ctx)``)."""

    def __init__(self, vault_root: Path, *, trust: bool = False,
                 options: dict[str, Any] | None = None) -> None:
        self.vault_root = vault_root
        self.trust = trust
        self.options: dict[str, Any] = dict(options or {})
        """Extra settings for route modules (tests pass ``ask_model``)."""
        self.services: dict[str, Any] = {}
        """Long-lived helpers of route modules (closed with the app when they can be)."""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veriwiki-web")
        self._worker_ident: int | None = None
        self._vault: Vault | None = None
        self._closed = False
        self.generation = Generation()
        self.caches: dict[str, Any] = {}
        """Per-generation caches of the worker (cleared by :meth:`changed`)."""
        self.stable: dict[str, Any] = {}
        """Worker state kept across changes (it brings itself up to date)."""
        self.on_change: list[Callable[[], None]] = []
        """Called on the event loop after every change."""
        self.listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.live_state: dict[str, Any] = {}
        """The file watch and its polling task (``veriwiki.web.live``)."""
        self.env = _environment()
        self.site_name = vault_root.name
        self.started = time.time()

    # -- the worker --------------------------------------------------------------------

    def open_vault(self) -> Vault:
        """The vault of the worker thread (opened on first use). Call only inside
        :meth:`run`: SQLite handles must stay on the thread that opened them."""
        if threading.get_ident() != self._worker_ident:
            raise RuntimeError("open_vault() is only for functions run by ctx.run()")
        if self._vault is None:
            from dataclasses import replace

            from veriwiki.vault import open_vault

            vault = open_vault(self.vault_root)
            vault.sandbox = replace(vault.sandbox, trust=self.trust)
            self._vault = vault
            self.site_name = vault.config.vault.name or self.vault_root.name
        return self._vault

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        self._worker_ident = threading.get_ident()
        return fn(*args)

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float = DEFAULT_TIMEOUT,
                  what: str = "the request") -> T:
        """``fn(*args)`` on the worker thread, at most ``timeout`` seconds.

        Raises :class:`WorkTimeout` when it takes longer (the app shows a clear page or
        JSON error); veriwiki errors pass through to the app's error handler.
        """
        future = self._pool.submit(self._call, fn, args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            raise WorkTimeout(what, timeout) from None

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the worker thread, waiting for it (startup and shutdown)."""
        return self._pool.submit(self._call, fn, args).result()

    def changed(self, paths: tuple[str, ...] = ()) -> int:
        """Forget per-generation caches and tell open views (call on the worker)."""
        self.caches.clear()
        number = self.generation.bump(paths)
        event = {"generation": number, "paths": list(paths)}
        if self.loop is not None:
            for queue in list(self.listeners):
                self.loop.call_soon_threadsafe(queue.put_nowait, event)
            for callback in self.on_change:
                self.loop.call_soon_threadsafe(callback)
        return number

    def cache(self, name: str, compute: Callable[[], T]) -> T:
        """A value kept until the vault's files change (call on the worker)."""
        if name not in self.caches:
            self.caches[name] = compute()
        value: T = self.caches[name]
        return value

    def reopen(self) -> None:
        """A fresh worker after :meth:`close` (the app's lifespan may run again)."""
        if self._closed:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veriwiki-web")
            self._vault = None
            self._closed = False

    def close(self) -> None:
        """Finish queued calls and release the vault."""
        self._closed = True
        for service in self.services.values():
            closer = getattr(service, "close", None)
            if callable(closer):
                closer()
        def release() -> None:
            if self._vault is not None:
                self._vault.close()

        try:
            self._pool.submit(self._call, release, ()).result(timeout=30)
        except Exception:  # noqa: BLE001 - shutting down anyway
            if debug_enabled():
                traceback.print_exc()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- templates ---------------------------------------------------------------------

    def render(self, request: Request, template: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        """``template`` in the shared layout; every template gets ``csrf`` and ``nav``."""
        html = self.env.get_template(template).render({**self.common(request), **context})
        return HTMLResponse(html, status_code=status_code)

    def common(self, request: Request) -> dict[str, Any]:
        """The variables every template sees."""
        return {"csrf": getattr(request.state, "csrf", ""), "nav": NAV,
                "site_name": self.site_name, "request_path": request.url.path,
                "generation": self.generation.number, "root": "/", "canonical": None,
                "body_class": "", "main_class": "", "checked": "", "title": ""}


def _environment() -> Environment:
    """Web templates first, then the static site's (``page.html`` and friends extend
    ``base.html``, which here is the web layout)."""
    return Environment(
        loader=ChoiceLoader([PackageLoader("veriwiki.web", "templates"),
                             PackageLoader("veriwiki.render", "templates")]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def error_message(exc: BaseException) -> tuple[int, str, str | None]:
    """(HTTP status, message, hint) for an error raised by a route."""
    from veriwiki.errors import ConflictError, InputError, PageNotFoundError

    if isinstance(exc, WorkTimeout):
        return 504, f"{exc.what} took longer than {exc.seconds:g} s and was stopped " \
                    "waiting", "try a narrower request, or again when the server is idle"
    if isinstance(exc, PageNotFoundError):
        return 404, str(exc), exc.hint
    if isinstance(exc, ConflictError):
        return 409, str(exc), exc.hint
    if isinstance(exc, InputError):
        return 400, str(exc), exc.hint
    if isinstance(exc, VeriwikiError):
        return 500, str(exc), exc.hint
    return 500, f"internal error: {type(exc).__name__}: {exc}", (
        "this is a bug in veriwiki; the server keeps running (VERIWIKI_DEBUG=1 prints "
        "the traceback)")


def markup(html: str) -> Markup:
    """A fragment the renderer produced (already escaped and sanitized)."""
    return Markup(html)
