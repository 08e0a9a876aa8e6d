"""Sources as stored in ``raw/``: ids, ``id:vN`` references, media types, the sidecar.

Layout: ``raw/<id>/v<N>.<ext>`` holds the bytes of version N (never modified once
written) and ``raw/<id>/source.yaml`` the metadata of the source and its versions.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

import yaml

from veriwiki.core.model import Source, SourceVersion
from veriwiki.errors import InputError

RAW_DIR = "raw"
SIDECAR = "source.yaml"
MAX_ID_LENGTH = 64
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
_REF = re.compile(r"(?P<id>[^:\s]+)(?::v(?P<version>\d+))?")
_VERSION_FILE = re.compile(r"v[1-9][0-9]*\.[a-z0-9]+")

#: file suffix -> (media type, extension stored in raw/)
MEDIA_TYPES: dict[str, tuple[str, str]] = {
    ".md": ("text/markdown", "md"),
    ".markdown": ("text/markdown", "md"),
    ".txt": ("text/plain", "txt"),
    ".text": ("text/plain", "txt"),
    ".html": ("text/html", "html"),
    ".htm": ("text/html", "html"),
    ".pdf": ("application/pdf", "pdf"),
    # documentation and configuration files, read as text (line locators: L12)
    ".mdx": ("text/markdown", "md"),
    ".json": ("application/json", "json"),
    ".yaml": ("application/yaml", "yaml"),
    ".yml": ("application/yaml", "yaml"),
}
#: media types whose text is the file's bytes decoded as UTF-8
TEXT_TYPES = ("text/markdown", "text/plain", "application/json", "application/yaml")
SUPPORTED = ", ".join(MEDIA_TYPES)


def slugify(name: str) -> str:
    """A source id made from a file name stem ('' when nothing usable is left)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9._-]+", "-", ascii_name.lower())
    slug = re.sub(r"-{2,}", "-", slug).strip("-._")
    if len(slug) > MAX_ID_LENGTH:
        cut = slug[:MAX_ID_LENGTH]
        slug = (cut.rsplit("-", 1)[0] if "-" in cut else cut).strip("-._")
    return slug


def is_valid_id(source_id: str) -> bool:
    """True when ``source_id`` is a lower-case slug of at most 64 characters."""
    return len(source_id) <= MAX_ID_LENGTH and ID_PATTERN.fullmatch(source_id) is not None


def check_id(source_id: str) -> str:
    """Return ``source_id`` or raise an :class:`InputError` saying how to fix it."""
    if is_valid_id(source_id):
        return source_id
    suggestion = slugify(source_id)
    hint = f"try --id {suggestion}" if suggestion else "pick an id such as 'llama-2-paper'"
    if len(source_id) > MAX_ID_LENGTH:
        raise InputError(f"source id {source_id[:40]!r}… is longer than {MAX_ID_LENGTH} "
                         "characters", hint=hint)
    raise InputError(f"invalid source id {source_id!r}: an id is lower-case letters, digits, "
                     "'.', '_' and '-', starting with a letter or digit", hint=hint)


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split ``id`` or ``id:vN`` into the id and the version (None: the current one)."""
    m = _REF.fullmatch(ref.strip())
    version = int(m.group("version")) if m and m.group("version") else None
    if m is None or not is_valid_id(m.group("id").lower()) or version == 0:
        raise InputError(f"{ref!r} is not a source reference",
                         hint="write the source id, or id:vN for version N (e.g. llama-2:v1)")
    return m.group("id").lower(), version


def media_type_of(name: str) -> tuple[str, str] | None:
    """``(media type, stored extension)`` for a file name, or None when unsupported."""
    dot = name.rfind(".")
    return MEDIA_TYPES.get(name[dot:].lower()) if dot > 0 else None


def source_dir(source_id: str) -> str:
    """The vault-relative folder of a source."""
    return f"{RAW_DIR}/{source_id}"


def sidecar_path(source_id: str) -> str:
    """The vault-relative path of a source's sidecar."""
    return f"{RAW_DIR}/{source_id}/{SIDECAR}"


def version_path(source_id: str, version: SourceVersion) -> str:
    """The vault-relative path of a stored version's bytes."""
    return f"{RAW_DIR}/{source_id}/{version.file}"


def render_sidecar(source: Source) -> str:
    """The YAML text of ``raw/<id>/source.yaml``."""
    data: dict[str, Any] = {
        "id": source.id,
        "title": source.title,
        "origin": source.origin,
        "license": source.license,
        "versions": [
            {"version": v.version, "file": v.file, "sha256": v.sha256, "added": v.added,
             "size": v.size, "media_type": v.media_type,
             **({"url": v.url, "retrieved": v.retrieved} if v.url else {})}
            for v in sorted(source.versions, key=lambda v: v.version)
        ],
    }
    header = ("# veriwiki source metadata. The files beside it are never changed;\n"
              "# 'veriwiki add' appends versions. See docs/sources.md.\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"expected text, found {type(value).__name__}")


def parse_sidecar(text: str, path: str) -> Source:
    """Read a sidecar; a malformed one raises :class:`InputError` naming the problem."""
    hint = "fix the file by hand, or restore it with 'git checkout -- " + path + "'"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"the source metadata is not valid YAML: {exc}", path=path,
                         line=mark.line + 1 if mark is not None else None, hint=hint) from exc
    folder = path.rsplit("/", 2)[-2] if path.count("/") >= 2 else ""
    try:
        if not isinstance(data, dict):
            raise ValueError("expected a mapping with id, title and versions")
        source_id = _text(data.get("id"))
        if source_id != folder:
            raise ValueError(f"id {source_id!r} does not match its folder {folder!r}")
        raw_versions = data.get("versions")
        if not isinstance(raw_versions, list) or not raw_versions:
            raise ValueError("'versions' must be a non-empty list")
        versions = []
        for i, item in enumerate(raw_versions, 1):
            if not isinstance(item, dict):
                raise ValueError(f"version entry {i} is not a mapping")
            try:
                number = int(item["version"])
                file = str(item["file"])
                sha = str(item["sha256"])
                size = int(item["size"])
                media = str(item["media_type"])
                added = _text(item["added"]) or ""
            except KeyError as exc:
                raise ValueError(f"version entry {i} lacks {exc.args[0]!r}") from None
            if not _VERSION_FILE.fullmatch(file) or not file.startswith(f"v{number}."):
                raise ValueError(f"version {number}: file {file!r} should be v{number}.<ext>")
            if not re.fullmatch(r"[0-9a-f]{64}", sha):
                raise ValueError(f"version {number}: sha256 is not 64 hex digits")
            versions.append(SourceVersion(number, file, sha, added, size, media,
                                          _text(item.get("url")), _text(item.get("retrieved"))))
        numbers = [v.version for v in versions]
        if len(set(numbers)) != len(numbers):
            raise ValueError("two entries have the same version number")
        return Source(source_id, _text(data.get("title")) or source_id,
                      _text(data.get("origin")), _text(data.get("license")),
                      tuple(sorted(versions, key=lambda v: v.version)))
    except (ValueError, TypeError) as exc:
        raise InputError(f"the source metadata is malformed: {exc}", path=path,
                         hint=hint) from exc
