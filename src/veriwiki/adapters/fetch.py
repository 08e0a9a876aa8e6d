"""Downloading a source over HTTP(S) with the standard library, within a size limit.

veriwiki downloads only when a user runs ``add URL``, ``add arxiv:ID`` or ``source
refresh``; every failure is an :class:`InputError` naming the URL and what to do.
"""

from __future__ import annotations

import datetime as dt
import email.message
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from veriwiki.errors import InputError

Progress = Callable[[int, int | None], None]
"""Called with (bytes received so far, total bytes or None when the server does not say)."""

_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Download:
    """The bytes at a URL and what the server said about them."""

    url: str  # the final URL, after redirects
    data: bytes
    content_type: str  # lower-case media type without parameters ('' when not sent)
    filename: str | None  # from Content-Disposition, when sent
    retrieved: str  # ISO timestamp (UTC, seconds)


def check_url(url: str) -> str:
    """``url`` when it is an http or https URL with a host; else an :class:`InputError`."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"{url!r} is not an http or https URL",
                         hint="give a full URL such as https://example.org/paper.pdf")
    return url


def _user_agent() -> str:
    from veriwiki import __version__

    return f"veriwiki/{__version__} (+source download)"


def download(url: str, *, max_bytes: int, timeout: float,
             on_progress: Progress | None = None) -> Download:
    """GET ``url``, refusing more than ``max_bytes`` (before reading, when the size is sent)."""
    check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(),
                                                   "Accept": "*/*"})
    limit_hint = "raise [sources] max_source_bytes in veriwiki.toml if you need it"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            headers: email.message.Message = response.headers
            total_text = headers.get("Content-Length")
            total = int(total_text) if total_text and total_text.isdigit() else None
            if total is not None and total > max_bytes:
                raise InputError(f"{url}: the server says the file is {total:,} bytes, over "
                                 f"the {max_bytes:,}-byte limit for sources; nothing was "
                                 "downloaded", hint=limit_hint)
            chunks: list[bytes] = []
            got = 0
            while chunk := response.read(_CHUNK):
                got += len(chunk)
                if got > max_bytes:
                    raise InputError(f"{url}: the download passed the {max_bytes:,}-byte "
                                     "limit for sources and was stopped", hint=limit_hint)
                chunks.append(chunk)
                if on_progress is not None:
                    on_progress(got, total)
            final = response.geturl() or url
            content_type = headers.get_content_type() if headers.get("Content-Type") else ""
            filename = headers.get_filename()
    except urllib.error.HTTPError as exc:
        raise InputError(f"{url}: the server answered {exc.code} {exc.reason}",
                         hint="check the URL in a browser") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise InputError(f"{url}: no answer within {timeout:g} s",
                             hint="try again later, or raise [sources] fetch_timeout_seconds"
                             ) from None
        raise InputError(f"{url}: cannot download: {reason}",
                         hint="check the URL and your network connection") from None
    except TimeoutError:
        raise InputError(f"{url}: the server stopped sending data for {timeout:g} s",
                         hint="try again later, or raise [sources] fetch_timeout_seconds"
                         ) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{url}: cannot download: {exc}",
                         hint="check the URL and your network connection") from None
    retrieved = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Download(final, b"".join(chunks), content_type.lower(), filename, retrieved)
