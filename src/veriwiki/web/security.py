"""The web app's guards, applied to every request as one ASGI middleware.

- **Host allow-list**: the Host header must name this machine (127.0.0.1, localhost,
  [::1]), the bound address or a name given with ``--allow-host``; a page on another
  site that rebinds its DNS name to 127.0.0.1 still sends its own name, and is refused.
- **Origin check**: a state-changing request (anything but GET/HEAD/OPTIONS) whose
  ``Origin`` (or, lacking it, ``Referer``) names another site is refused, and so is one
  a browser marks ``Sec-Fetch-Site: cross-site``.
- **CSRF token**: every state-changing request carries the token (form field ``csrf`` or
  header ``X-CSRF-Token``); the token is an HMAC of a random per-browser cookie
  (``vw_csrf``, HttpOnly, SameSite=Strict) under a per-server secret.
- **Login token**: when the server has a token (required off loopback), every request
  but ``/login`` and the static files needs the session cookie the login page sets
  (or ``Authorization: Bearer TOKEN``).
- **Paths**: a URL whose path holds ``..``, a backslash, a NUL or a ``.git`` /
  ``.veriwiki`` segment is refused before routing; :func:`vault_path` checks the page
  paths routes take from URLs.
- **Bounded input**: request bodies over :data:`MAX_BODY` are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from veriwiki.errors import InputError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "vw_csrf"
AUTH_COOKIE = "vw_auth"
MAX_BODY = 24 << 20  # the editor posts a page, its starting text (base64) and a message
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OPEN_PATHS = ("/login", "/_vw/static/", "/_web/static/", "/favicon.ico")
_FORBIDDEN_SEGMENTS = frozenset({"..", ".git", ".veriwiki"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_names(bound: str, extra: list[str] | None = None) -> frozenset[str]:
    """Host names (without port, lower case) a request may be addressed to."""
    names = {"127.0.0.1", "localhost", "[::1]", "::1"}
    b = bound.strip().lower()
    if b and b not in ("0.0.0.0", "::", "[::]"):
        names.add(b)
        if ":" in b and not b.startswith("["):
            names.add(f"[{b}]")
    names.update(h.strip().lower() for h in extra or () if h.strip())
    return frozenset(names)


def _host_of(value: str) -> str:
    """The host part of a Host header (``[::1]:8765`` → ``[::1]``)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def vault_path(url_path: str, *, suffix: str = ".md") -> str:
    """A vault-relative page path from the part of a URL after ``/w/`` (and the like).

    Refuses absolute paths, ``..``, empty or dot segments (``.git``, ``.veriwiki``, any
    hidden file), backslashes and control characters, so a route never reaches outside
    the vault or its derived state.
    """
    clean = url_path.rstrip("/")
    if suffix and clean and not clean.lower().endswith(suffix):
        clean += suffix
    parts = clean.split("/")
    if (not clean or url_path.startswith("/") or "\\" in clean or len(clean) > 1000
            or any(not p or p.startswith(".") for p in parts)
            or any(ord(c) < 32 or c == "\x7f" for c in clean)):
        raise InputError(f"{url_path!r} is not a page path inside the vault",
                         hint="use a path like wiki/Some Page (no '..', no hidden folders)")
    return clean


def path_url(path: str, prefix: str = "/w/") -> str:
    """The app URL of a vault page (``wiki/A b.md`` → ``/w/wiki/A%20b``)."""
    stem = path[:-3] if path.lower().endswith(".md") else path
    return prefix + quote(stem, safe="/-_.~")


class Guard:
    """Per-server secrets: the CSRF key and the optional login token."""

    def __init__(self, token: str | None = None) -> None:
        self.secret = secrets.token_bytes(32)
        self.token = token or None

    def csrf_for(self, cookie: str) -> str:
        """The CSRF token that goes with the browser's ``vw_csrf`` cookie."""
        return hmac.new(self.secret, b"csrf\0" + cookie.encode(), hashlib.sha256).hexdigest()

    def session_value(self) -> str:
        """The login cookie's value (derived from the token; changes with the server)."""
        assert self.token is not None
        return hmac.new(self.secret, b"session\0" + self.token.encode(),
                        hashlib.sha256).hexdigest()

    def token_ok(self, given: str) -> bool:
        """True when ``given`` is the login token."""
        return self.token is not None and hmac.compare_digest(
            given.strip().encode(), self.token.encode())


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header is no cookie
                continue
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class SecurityMiddleware:
    """Host, Origin, CSRF, login and path checks in front of the app (see the module)."""

    def __init__(self, app: ASGIApp, guard: Guard, hosts: frozenset[str]) -> None:
        self.app = app
        self.guard = guard
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if host is None or _host_of(host) not in self.hosts:
            await _plain(send, 421, "this server answers only to this machine's names "
                                    "(Host header refused)")
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        raw_text = raw.decode("latin-1").lower().replace("%2e", ".").replace("%2f", "/")
        path = scope["path"]
        if ("\\" in path or "\x00" in path or "%5c" in raw_text
                or any(seg in _FORBIDDEN_SEGMENTS for seg in path.split("/"))
                or any(seg in _FORBIDDEN_SEGMENTS for seg in raw_text.split("/"))):
            await _plain(send, 400, "path refused: it leaves the vault or names its "
                                    "hidden folders")
            return
        cookies = _cookies(scope)
        csrf_cookie = cookies.get(CSRF_COOKIE, "")
        new_cookie = ""
        if len(csrf_cookie) < 16:
            csrf_cookie = new_cookie = secrets.token_urlsafe(24)
        scope.setdefault("state", {})["csrf"] = self.guard.csrf_for(csrf_cookie)
        method = scope["method"].upper()
        if self.guard.token is not None and not path.startswith(_OPEN_PATHS) \
                and not self._logged_in(scope, cookies):
            if method in _SAFE_METHODS and not path.startswith("/api/"):
                target = "/login?next=" + quote(path, safe="/")
                await _redirect(send, target, new_cookie)
            else:
                await _plain(send, 401, "log in first: this server needs its token")
            return
        if method not in _SAFE_METHODS:
            why = self._cross_site(scope)
            if why:
                await _plain(send, 403, why)
                return
            body, too_big = await _read_body(receive)
            if too_big:
                await _plain(send, 413, f"request body over {MAX_BODY:,} bytes")
                return
            given = _header(scope, b"x-csrf-token") or await _form_token(scope, body)
            if not new_cookie and given and hmac.compare_digest(
                    given.encode(), scope["state"]["csrf"].encode()):
                receive = _replay(body)
            else:
                await _plain(send, 403, "missing or wrong CSRF token: reload the page "
                                        "and try again")
                return
        await self.app(scope, receive, _with_cookie(send, new_cookie))

    def _logged_in(self, scope: Scope, cookies: dict[str, str]) -> bool:
        auth = _header(scope, b"authorization") or ""
        if auth[:7].lower() == "bearer " and self.guard.token_ok(auth[7:]):
            return True
        have = cookies.get(AUTH_COOKIE, "")
        return bool(have) and hmac.compare_digest(have.encode(),
                                                  self.guard.session_value().encode())

    def _cross_site(self, scope: Scope) -> str | None:
        """Why a state-changing request comes from another site (None: it does not)."""
        if (_header(scope, b"sec-fetch-site") or "").lower() == "cross-site":
            return "cross-site request refused"
        for name in (b"origin", b"referer"):
            value = _header(scope, name)
            if value is None:
                continue
            if value == "null":
                return "request from an opaque origin refused"
            netloc = urlsplit(value).netloc.lower()
            # the page that sent it must be this server: same host name and port as the
            # request's Host (another program on another port of this machine is another
            # origin, though browsers send it our cookies)
            if not netloc or netloc != (_header(scope, b"host") or "").strip().lower():
                return f"request from another site refused ({name.decode()} {value[:80]!r})"
            return None
        return None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _form_token(scope: Scope, body: bytes) -> str | None:
    ctype = (_header(scope, b"content-type") or "").lower()
    if ctype.startswith("application/x-www-form-urlencoded"):
        got = parse_qs(body.decode("utf-8", "replace"), max_num_fields=1000).get("csrf")
        return got[0] if got else None
    if ctype.startswith("multipart/form-data"):
        from starlette.requests import Request

        form = await Request(dict(scope), _replay(body)).form()
        value = form.get("csrf")
        return value if isinstance(value, str) else None
    return None


def _with_cookie(send: Send, value: str) -> Send:
    if not value:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers.append((b"set-cookie", _cookie_header(CSRF_COOKIE, value)))
            message["headers"] = headers
        await send(message)

    return wrapped


def _cookie_header(name: str, value: str, max_age: int | None = None) -> bytes:
    extra = f"; Max-Age={max_age}" if max_age is not None else ""
    return f"{name}={value}; Path=/; HttpOnly; SameSite=Strict{extra}".encode()


def auth_cookie_header(guard: Guard) -> tuple[bytes, bytes]:
    """The Set-Cookie header the login page sends after a right token."""
    return b"set-cookie", _cookie_header(AUTH_COOKIE, guard.session_value(), 30 * 86400)


_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"),
            (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]


async def _plain(send: Send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": (text + "\n").encode()})


async def _redirect(send: Send, location: str, cookie: str) -> None:
    headers = [(b"location", location.encode("latin-1", "replace")), *_HEADERS]
    if cookie:
        headers.append((b"set-cookie", _cookie_header(CSRF_COOKIE, cookie)))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
