"""The Starlette app of ``veriwiki serve``: routes, error pages, security, lifecycle.

Route modules are factories: ``routes(ctx) -> list[Route]``. The read, edit, live and
ask routes are built here; the history, review and report views plug in from
``veriwiki.web.history``, ``veriwiki.web.review`` and ``veriwiki.web.reports`` when
those modules exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from veriwiki.web.context import WebContext, WorkTimeout, error_message
from veriwiki.web.security import Guard, SecurityMiddleware, auth_cookie_header, host_names

PLUGINS = ("veriwiki.web.history", "veriwiki.web.review", "veriwiki.web.reports")
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'")


def create_app(vault_root: Path, *, token: str | None = None,
               allowed_hosts: list[str] | None = None, bound_host: str = "127.0.0.1",
               trust: bool = False, watch: bool = True, ask_model: Any = None,
               background_check: bool = True) -> Starlette:
    """The web app of the vault at ``vault_root``.

    ``token`` (required by the CLI off loopback) makes every page ask for a login;
    ``allowed_hosts`` are extra Host names to answer to besides this machine's names
    and ``bound_host``. ``ask_model`` replaces the configured writer model for Ask
    (tests); ``watch=False`` turns the file watch off and ``background_check=False`` the
    vault-wide check that page views take their findings from.
    """
    ctx = WebContext(Path(vault_root).resolve(), trust=trust,
                     options={"ask_model": ask_model} if ask_model is not None else {})
    guard = Guard(token)
    routes: list[BaseRoute] = core_routes(ctx, guard)
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # the module exists but something it imports is missing
            continue
        routes.extend(module.routes(ctx))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from veriwiki.web import live

        ctx.loop = asyncio.get_running_loop()
        ctx.reopen()
        await ctx.run(live.start, ctx, watch, timeout=600, what="opening the vault")
        ctx.live_state["task"] = asyncio.create_task(live.poll(ctx))
        if background_check:
            from veriwiki.web.fullcheck import BackgroundCheck

            check = ctx.services["check"] = BackgroundCheck(ctx)
            ctx.on_change[:] = [check.request]
            check.request()
        try:
            yield
        finally:
            live.stop(ctx)
            check = ctx.services.pop("check", None)
            if check is not None:
                await check.stop()
            ctx.close()

    async def on_error(request: Request, exc: Exception) -> Response:
        return error_response(ctx, request, exc)

    hosts = host_names(bound_host, allowed_hosts)
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(SecurityMiddleware, guard=guard, hosts=hosts),
                                Middleware(_Headers)],
                    exception_handlers={Exception: on_error, WorkTimeout: on_error,
                                        **{cls: on_error for cls in _veriwiki_errors()}})
    app.state.ctx = ctx
    app.state.guard = guard
    return app


def _veriwiki_errors() -> list[type[Exception]]:
    from veriwiki.errors import VeriwikiError

    return [VeriwikiError]


class _Headers:
    """Adds the content security policy and anti-framing headers to every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", _CSP.encode()),
                            (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


def wants_json(request: Request) -> bool:
    """True for API calls (``/api/…``) and requests that accept only JSON."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept)


def error_response(ctx: WebContext, request: Request, exc: Exception) -> Response:
    """An error as a page (or JSON for API calls): what went wrong and what to do."""
    if isinstance(exc, Exception) and not isinstance(exc, WorkTimeout):
        from veriwiki.errors import VeriwikiError
        from veriwiki.vault import debug_enabled

        if not isinstance(exc, VeriwikiError) and debug_enabled():
            import traceback

            traceback.print_exception(exc)
    status, message, hint = error_message(exc)
    if wants_json(request):
        return JSONResponse({"error": message, "hint": hint}, status_code=status)
    heading = {404: "Not found", 409: "Conflict", 400: "Cannot do that",
               504: "Timed out"}.get(status, "Error")
    return ctx.render(request, "web_error.html", status_code=status, title=heading,
                      heading=heading, message=message, hint=hint, status=status,
                      main_class="wide")


def core_routes(ctx: WebContext, guard: Guard) -> list[BaseRoute]:
    """Static files, login, and the read, edit, live and ask views."""
    import veriwiki.web.ask as ask
    import veriwiki.web.edit as edit
    import veriwiki.web.live as live
    import veriwiki.web.read as read

    static = _static_files()

    async def static_file(request: Request) -> Response:
        name = request.path_params["name"]
        kind = request.path_params.get("kind", "web")
        data = static.get((kind, name))
        if data is None:
            return Response("not found\n", status_code=404, media_type="text/plain")
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return Response(data, media_type=media,
                        headers={"cache-control": "no-cache"})

    async def login(request: Request) -> Response:
        nxt = request.query_params.get("next", "/")
        failed = False
        if request.method == "POST":
            form = await request.form()
            nxt = str(form.get("next") or "/")
            if guard.token_ok(str(form.get("token") or "")):
                target = nxt if _local_target(nxt) else "/"
                response = RedirectResponse(target, status_code=303)
                key, value = auth_cookie_header(guard)
                response.raw_headers.append((key, value))
                return response
            failed = True
        if guard.token is None:
            return RedirectResponse("/", status_code=303)
        return ctx.render(request, "web_login.html", status_code=401 if failed else 200,
                          title="Log in", next=nxt if _local_target(nxt) else "/",
                          failed=failed, main_class="wide")

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def version(request: Request) -> Response:
        return JSONResponse({"generation": ctx.generation.number,
                             "site": ctx.site_name})

    routes: list[BaseRoute] = [
        Route("/_vw/static/{name}", static_file, name="site_static"),
        Route("/_web/static/{name}", static_file, name="web_static"),
        Route("/favicon.ico", favicon),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/api/status", version),
    ]
    routes += read.routes(ctx)
    routes += edit.routes(ctx)
    routes += live.routes(ctx)
    routes += ask.routes(ctx)
    return routes


def _local_target(url: str) -> bool:
    """True for a path on this server (never ``//host``, ``/\\host`` or a scheme)."""
    return (url.startswith("/") and not url.startswith("//") and "\\" not in url
            and not any(ord(c) < 33 for c in url) and len(url) < 2000)


def _static_files() -> dict[tuple[str, str], bytes]:
    from veriwiki.render.layout import static_files

    out = {("site", name): data for name, data in static_files().items()}
    base = resources.files("veriwiki.web") / "static"
    for item in base.iterdir():
        if item.is_file():
            out[("web", item.name)] = item.read_bytes()
    # one route serves both folders: a name decides which
    merged = {("web", n): d for (_, n), d in out.items()}
    return merged
