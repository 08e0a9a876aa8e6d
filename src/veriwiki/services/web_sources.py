"""Sources from the web: ``add URL``, ``add arxiv:ID`` and ``source refresh ID``.

The bytes are downloaded (within ``[sources] max_source_bytes``), checked and
extracted like a file's, then stored as a version whose sidecar entry records the URL,
the retrieval time and the sha256. A refresh downloads again and stores a new version
only when the bytes changed, so stale-claim then shows the claims the change affects.
See docs/sources.md.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse

from veriwiki.adapters.fetch import Download, Progress, check_url, download
from veriwiki.core.sources import MEDIA_TYPES, TEXT_TYPES, check_id, media_type_of, slugify
from veriwiki.errors import InputError
from veriwiki.services.sources import AddResult, get_source, prepare_bytes, store_prepared
from veriwiki.services.write import Notify
from veriwiki.vault import Vault

_ARXIV = re.compile(r"(?i)arxiv:(?P<id>[0-9]{4}\.[0-9]{4,5}(?:v[0-9]+)?"
                    r"|[a-z-]+(?:\.[a-z]{2})?/[0-9]{7}(?:v[0-9]+)?)")
_CONTENT_TYPES = {
    "text/html": "text/html", "application/xhtml+xml": "text/html",
    "application/pdf": "application/pdf", "application/x-pdf": "application/pdf",
    "text/markdown": "text/markdown", "text/x-markdown": "text/markdown",
    "text/plain": "text/plain",
    "application/json": "application/json", "text/json": "application/json",
    "application/yaml": "application/yaml", "application/x-yaml": "application/yaml",
    "text/yaml": "application/yaml", "text/x-yaml": "application/yaml",
}
_EXTENSION = {media: ext for media, ext in MEDIA_TYPES.values()}


def is_web_target(target: str) -> bool:
    """Whether ``add`` should download ``target`` (an http(s) URL or ``arxiv:ID``)."""
    low = target.lower()
    return low.startswith(("http://", "https://", "arxiv:"))


def resolve_target(vault: Vault, target: str) -> tuple[str, str]:
    """The URL to download for ``target`` and the id it gets by default."""
    if target.lower().startswith("arxiv:"):
        m = _ARXIV.fullmatch(target.strip())
        if m is None:
            raise InputError(f"{target!r} is not an arXiv id",
                             hint="write arxiv:2307.09288 (new style) or arxiv:hep-th/9901001")
        paper = m["id"]
        url = vault.config.sources.arxiv_pdf_url.replace("{id}", paper)
        return check_url(url), slugify("arxiv-" + paper.replace("/", "-"))
    check_url(target)
    parts = urllib.parse.urlsplit(target)
    name = parts.path.rstrip("/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if media_type_of(name) else name
    return target, slugify(stem) or slugify(parts.hostname or "")


def media_kind(got: Download, url: str) -> tuple[str, str]:
    """(media type, stored extension) of a download, from its Content-Type, file name or
    first bytes; an :class:`InputError` for content veriwiki cannot cite."""
    named = media_type_of(got.filename or "") or media_type_of(
        urllib.parse.urlsplit(got.url).path) or media_type_of(urllib.parse.urlsplit(url).path)
    media = _CONTENT_TYPES.get(got.content_type)
    if media == "text/plain" and named is not None and named[0] in TEXT_TYPES:
        media = named[0]  # raw markdown, JSON and YAML files are often served as text/plain
    if media is None and got.content_type in ("", "application/octet-stream",
                                              "binary/octet-stream"):
        if got.data[:1024].lstrip().startswith(b"%PDF-"):
            media = "application/pdf"
        elif named is not None:
            media = named[0]
    if media is None:
        raise InputError(f"{url}: unsupported content type "
                         f"{got.content_type or '(none sent)'}; veriwiki reads HTML, PDF, "
                         "markdown, plain text, JSON and YAML; nothing was written",
                         hint="download the document yourself and add the file, converted "
                              "to PDF, HTML, markdown or text")
    return media, _EXTENSION[media]


def _fetch(vault: Vault, url: str, on_progress: Progress | None) -> Download:
    settings = vault.config.sources
    return download(url, max_bytes=settings.max_source_bytes,
                    timeout=settings.fetch_timeout_seconds, on_progress=on_progress)


def add_url(vault: Vault, target: str, *, source_id: str | None = None,
            title: str | None = None, license: str | None = None,
            sha256: str | None = None, on_progress: Progress | None = None,
            on_wait: Notify | None = None, on_notice: Notify | None = None) -> AddResult:
    """Download ``target`` (a URL or ``arxiv:ID``) and add it as a source, in one commit.

    With ``sha256`` the bytes must have that hash: a mismatch is refused before
    anything is written.
    """
    url, default_id = resolve_target(vault, target)
    expected = _expected_hash(sha256)
    sid = check_id(source_id) if source_id is not None else default_id
    if not sid:
        raise InputError(f"cannot make a source id from the URL {url}",
                         hint="pass one with --id (e.g. --id my-source)")
    got = _fetch(vault, url, on_progress)
    digest = hashlib.sha256(got.data).hexdigest()
    if expected is not None and digest != expected:
        raise InputError(f"{url}: the downloaded bytes have sha256 {digest}, not the expected "
                         f"{expected}; nothing was written",
                         hint="check the pinned hash, or whether the document changed")
    kind = media_kind(got, url)
    stem = default_id or sid
    prepared = prepare_bytes(got.data, url, url, sid, kind, stem, url=got.url,
                             retrieved=got.retrieved)
    return store_prepared(vault, [prepared], url, title=title, url=url, license=license,
                          on_wait=on_wait, on_notice=on_notice)[0]


def refresh_source(vault: Vault, ref: str, *, on_progress: Progress | None = None,
                   on_wait: Notify | None = None, on_notice: Notify | None = None
                   ) -> AddResult:
    """Download a URL source again; store a new version only when its bytes changed."""
    source, _ = get_source(vault, ref, on_notice)
    origin = source.origin or ""
    url = origin if origin.lower().startswith(("http://", "https://")) else source.current.url
    if url is None:
        raise InputError(f"source {source.id!r} was not added from a URL, so there is nothing "
                         "to refresh", hint="add a new file version with: veriwiki add FILE "
                                            f"--id {source.id}")
    got = _fetch(vault, url, on_progress)
    kind = media_kind(got, url)
    prepared = prepare_bytes(got.data, url, source.origin or url, source.id, kind, source.id,
                             url=got.url, retrieved=got.retrieved)
    return store_prepared(vault, [prepared], url, on_wait=on_wait, on_notice=on_notice)[0]


def _expected_hash(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    value = sha256.strip().lower().removeprefix("sha256:")
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise InputError(f"--sha256 {sha256!r} is not a SHA-256 hash (64 hex digits)",
                         hint="copy the hash from sha256sum or the publisher's page")
    return value
