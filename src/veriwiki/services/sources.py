"""Sources: add files to ``raw/`` (one commit), list them, read their extracted text.

The layout and sidecar format are in :mod:`veriwiki.core.sources` and docs/sources.md.
Extracted text is cached in ``.veriwiki/text/<sha256>.json`` (derived, rebuildable).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from veriwiki.adapters.extract import Extracted, extract, extractor_id
from veriwiki.adapters.fs import atomic_write
from veriwiki.adapters.store import Transaction
from veriwiki.core.model import FileProblem, Source, SourceText, SourceVersion
from veriwiki.core.sources import (
    RAW_DIR,
    SIDECAR,
    SUPPORTED,
    check_id,
    media_type_of,
    parse_ref,
    parse_sidecar,
    render_sidecar,
    sidecar_path,
    slugify,
    version_path,
)
from veriwiki.errors import ConflictError, InputError
from veriwiki.services.write import Notify, finish, recover_pending, write_operation
from veriwiki.vault import Vault


@dataclass(frozen=True, slots=True)
class AddResult:
    """What adding one file did.

    ``status`` is ``added`` (a new source), ``new-version`` (new bytes under an existing
    id) or ``unchanged`` (the bytes equal the current version: nothing written,
    ``commit`` is None). ``files`` are the vault paths written.
    """

    id: str
    version: int
    status: str
    commit: str | None
    files: tuple[str, ...]
    path: str
    media_type: str
    chars: int
    pages: int


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A file read, checked and extracted, ready to be stored."""

    shown: str
    origin: str
    source_id: str
    data: bytes
    sha256: str
    media_type: str
    ext: str
    extracted: Extracted
    stem: str
    url: str | None = None  # downloaded from (add URL, refresh)
    retrieved: str | None = None


def add_source(vault: Vault, path: str | Path, *, source_id: str | None = None,
               title: str | None = None, url: str | None = None, license: str | None = None,
               on_wait: Notify | None = None, on_notice: Notify | None = None) -> AddResult:
    """Add one file as a source (or a new version of one) in one commit."""
    if Path(path).is_dir():
        raise InputError(f"{path} is a folder", hint="use add_sources for a folder")
    return add_sources(vault, path, source_id=source_id, title=title, url=url,
                       license=license, on_wait=on_wait, on_notice=on_notice)[0]


def add_sources(vault: Vault, path: str | Path, *, source_id: str | None = None,
                title: str | None = None, url: str | None = None,
                license: str | None = None, on_wait: Notify | None = None,
                on_notice: Notify | None = None) -> list[AddResult]:
    """Add a file, or every supported file below a folder, as sources in ONE commit.

    Every file is read, checked and extracted before anything is written, so a refusal
    (unsupported type, empty, oversized, unreadable) leaves the vault untouched.
    """
    given = Path(path)
    if not given.exists():
        raise InputError(f"{path}: no such file or folder", hint="check the path")
    if given.is_dir():
        if source_id or title or url:
            raise InputError("--id, --title and --url describe one file, not a folder",
                             hint="add the files one by one to set them (--license is fine)")
        files = _folder_files(vault, given, on_notice)
    else:
        files = [given]
    prepared = [_prepare(vault, f, source_id) for f in files]
    return store_prepared(vault, prepared, str(path), title=title, url=url, license=license,
                          on_wait=on_wait, on_notice=on_notice)


def store_prepared(vault: Vault, prepared: list[_Prepared], shown: str, *,
                   title: str | None = None, url: str | None = None,
                   license: str | None = None, on_wait: Notify | None = None,
                   on_notice: Notify | None = None) -> list[AddResult]:
    """Store read, checked and extracted sources in ONE commit (see :func:`add_sources`)."""
    seen: dict[str, str] = {}
    for p in prepared:
        if p.source_id in seen:
            raise InputError(f"{seen[p.source_id]} and {p.shown} would both get the id "
                             f"{p.source_id!r}", hint="add them one by one with --id")
        seen[p.source_id] = p.shown
    with write_operation(vault, f"add {shown}", on_wait=on_wait, on_notice=on_notice) as tx:
        known = _known_hashes(tx)
        staged: list[tuple[_Prepared, int, str, tuple[str, ...]]] = []
        for p in prepared:
            sidecar = sidecar_path(p.source_id)
            head = tx.head_content(sidecar)
            existing = parse_sidecar(head.decode("utf-8", "replace"), sidecar) if head else None
            if existing is not None and existing.current.sha256 == p.sha256:
                if on_notice and (title or url or license):
                    on_notice(f"{p.source_id}: the bytes equal v{existing.current.version}, so "
                              f"nothing changed (metadata flags ignored); edit {sidecar} to "
                              "change its title, origin or licence")
                staged.append((p, existing.current.version, "unchanged", ()))
                continue
            dup = known.get(p.sha256)
            if dup and dup[0] != p.source_id and on_notice:
                on_notice(f"{p.shown} has the same bytes as source {dup[0]}:v{dup[1]}")
            number = existing.current.version + 1 if existing else 1
            version = SourceVersion(number, f"v{number}.{p.ext}", p.sha256,
                                    dt.date.today().isoformat(), len(p.data), p.media_type,
                                    p.url, p.retrieved)
            source = _merge(existing, p, version, title=title, url=url, license=license)
            rel = version_path(p.source_id, version)
            if tx.head_content(rel) is not None:
                raise ConflictError(f"{rel} exists but {sidecar} does not list it",
                                    path=rel, hint="restore the sidecar from git history, "
                                    "or move the stray file away")
            try:
                tx.put(rel, p.data)
                tx.put(sidecar, render_sidecar(source).encode())
            except ConflictError as exc:
                raise ConflictError(exc.message, path=exc.path,
                                    hint="commit or stash your edits to it first") from exc
            staged.append((p, number, "new-version" if existing else "added", (rel, sidecar)))
        changed = [(p, n) for p, n, status, _ in staged if status != "unchanged"]
        commit = None
        if changed:
            names = [f"{p.source_id} v{n}" for p, n in changed]
            subject = ", ".join(names[:8]) + (f", … ({len(names)} sources)"
                                              if len(names) > 8 else "")
            commit = finish(vault, tx, "add", subject).commit
    for p, *_ in staged:
        _write_cache(vault, p.sha256, p.media_type, p.extracted)
    return [AddResult(p.source_id, n, status, commit if files_ else None, files_, p.shown,
                      p.media_type, len(p.extracted.text), len(p.extracted.pages))
            for p, n, status, files_ in staged]


def _merge(existing: Source | None, p: _Prepared, version: SourceVersion, *,
           title: str | None, url: str | None, license: str | None) -> Source:
    """The source's metadata with ``version`` appended; explicit flags win."""
    if existing is None:
        return Source(p.source_id, title or p.extracted.title or p.stem, url or p.origin,
                      license, (version,))
    old_origin = existing.origin or ""
    origin = url or (old_origin if "://" in old_origin else p.origin)
    return replace(existing, title=title or existing.title, origin=origin,
                   license=license or existing.license,
                   versions=(*existing.versions, version))


def _folder_files(vault: Vault, folder: Path, on_notice: Notify | None) -> list[Path]:
    """Supported files below ``folder`` (hidden names and stored sources skipped).

    Folder links are not followed; a file link is added only when its target lies
    inside ``folder`` (a link elsewhere would commit a file the user did not name).
    """
    found: list[Path] = []
    skipped: list[str] = []
    links: list[str] = []
    top = os.path.realpath(folder)

    def visit(d: Path) -> None:
        if (d / SIDECAR).is_file():
            return  # a stored source folder: its files are already sources
        for entry in sorted(d.iterdir(), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and (entry.is_dir() or not os.path.realpath(entry)
                                       .startswith(top + os.sep)):
                links.append(str(entry))
                continue
            if entry.is_dir():
                visit(entry)
            elif entry.is_file():
                if media_type_of(entry.name):
                    found.append(entry)
                else:
                    skipped.append(str(entry))

    visit(folder)
    if skipped and on_notice:
        on_notice(f"skipped {len(skipped)} unsupported file(s): "
                  + ", ".join(skipped[:5]) + ("…" if len(skipped) > 5 else ""))
    if links and on_notice:
        on_notice(f"skipped {len(links)} symbolic link(s) to folders or to files outside "
                  f"{folder}: " + ", ".join(links[:5]) + ("…" if len(links) > 5 else "")
                  + "; add a linked file by naming it")
    if not found:
        raise InputError(f"{folder} holds no supported files", hint=f"veriwiki reads {SUPPORTED}")
    return found


def _prepare(vault: Vault, file: Path, source_id: str | None) -> _Prepared:
    """Read, check and extract one file; raise a clear :class:`InputError` if refused."""
    shown = str(file)
    kind = media_type_of(file.name)
    if kind is None:
        suffix = file.suffix or "(no extension)"
        raise InputError(f"unsupported file type {suffix}; veriwiki reads {SUPPORTED}",
                         path=shown, hint="convert it (export as PDF, or save as text or "
                                          "markdown) and add the converted file")
    sid = check_id(source_id) if source_id is not None else slugify(file.stem)
    if not sid:
        raise InputError(f"cannot make a source id from the file name {file.name!r}",
                         path=shown, hint="pass one with --id (e.g. --id my-source)")
    real = file.resolve()
    raw_root = (vault.root / RAW_DIR).resolve()
    if real.is_relative_to(raw_root) and (real.parent / SIDECAR).is_file():
        raise InputError(f"this file is already stored as source {real.parent.name!r}",
                         path=shown, hint="add the original file, not the stored copy")
    limit = vault.config.sources.max_source_bytes
    try:
        size = file.stat().st_size
        data = file.read_bytes() if size <= limit else b""
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=shown) from exc
    if size > limit or len(data) > limit:
        raise InputError(f"file is {max(size, len(data)):,} bytes, over the {limit:,}-byte "
                         "limit for sources", path=shown,
                         hint="split it, or raise [sources] max_source_bytes in veriwiki.toml")
    origin = (real.relative_to(vault.root.resolve()).as_posix()
              if real.is_relative_to(vault.root.resolve()) else str(real))
    return prepare_bytes(data, shown, origin, sid, kind, file.stem)


def prepare_bytes(data: bytes, shown: str, origin: str, source_id: str,
                  kind: tuple[str, str], stem: str, *, url: str | None = None,
                  retrieved: str | None = None) -> _Prepared:
    """Extract the text of ``data`` (refusing what cannot be cited), ready to be stored."""
    extracted = extract(kind[0], data, shown)
    return _Prepared(shown, origin, source_id, data, hashlib.sha256(data).hexdigest(),
                     kind[0], kind[1], extracted, stem, url, retrieved)


def _known_hashes(tx: Transaction) -> dict[str, tuple[str, int]]:
    """sha256 → (id, version) of every version committed (for duplicate notes)."""
    git = tx.git
    tree = git.ls_tree(tx.parent, RAW_DIR)
    paths = sorted(p for p in tree if p.endswith("/" + SIDECAR) and p.count("/") == 2)
    out: dict[str, tuple[str, int]] = {}
    for rel, data in zip(paths, git.read_blobs([tree[p] for p in paths]), strict=True):
        with contextlib.suppress(InputError):
            source = parse_sidecar((data or b"").decode("utf-8", "replace"), rel)
            for v in source.versions:
                out.setdefault(v.sha256, (source.id, v.version))
    return out


# -- reading ------------------------------------------------------------------------------


def _read_inside(vault: Vault, rel: str) -> bytes:
    """Bytes of a vault file, refusing symlinks that lead outside the vault."""
    full = vault.root / rel
    root = os.path.realpath(vault.root)
    if not os.path.realpath(full).startswith(root + os.sep):
        raise InputError("the file is a symlink pointing outside the vault; veriwiki will "
                         "not read it", path=rel, hint="replace the link with the file")
    return full.read_bytes()


def load_sources(vault: Vault, parse: Callable[[str, str], Source] = parse_sidecar
                 ) -> tuple[list[Source], list[FileProblem]]:
    """Every source in ``raw/`` (by id) and the sidecars that could not be read.

    ``parse`` reads one sidecar (text, path) like :func:`parse_sidecar` (the check
    service passes one that reuses earlier parses).
    """
    sources: list[Source] = []
    problems: list[FileProblem] = []
    raw = vault.root / RAW_DIR
    if not raw.is_dir():
        return sources, problems
    # a sidecar reached without a symlink below the vault's real path is inside it
    plain = os.path.realpath(raw) == os.path.join(os.path.realpath(vault.root), RAW_DIR)
    with os.scandir(raw) as found:
        entries = sorted(found, key=lambda e: e.name)
    for entry in entries:
        rel = f"{RAW_DIR}/{entry.name}/{SIDECAR}"
        full = os.path.join(entry.path, SIDECAR)
        if entry.name.startswith(".") or not os.path.isfile(full):
            continue
        try:
            if plain and not entry.is_symlink() and not os.path.islink(full):
                data = Path(full).read_bytes()
            else:
                data = _read_inside(vault, rel)
            sources.append(parse(data.decode("utf-8", "replace"), rel))
        except InputError as exc:
            problems.append(FileProblem(rel, "invalid-source", exc.message, exc.line or 1))
        except OSError as exc:
            problems.append(FileProblem(rel, "invalid-source", f"cannot read: {exc.strerror}"))
    return sources, problems


def list_sources(vault: Vault, on_notice: Notify | None = None) -> list[Source]:
    """Every readable source; unreadable sidecars are reported through ``on_notice``."""
    recover_pending(vault, on_notice)
    sources, problems = load_sources(vault)
    for problem in problems:
        if on_notice:
            on_notice(f"{problem.path}: {problem.message}")
    return sources


def get_source(vault: Vault, ref: str,
               on_notice: Notify | None = None) -> tuple[Source, SourceVersion]:
    """The source and version that ``id`` (current version) or ``id:vN`` names."""
    recover_pending(vault, on_notice)
    source_id, number = parse_ref(ref)
    rel = sidecar_path(source_id)
    try:
        data = _read_inside(vault, rel)
    except FileNotFoundError:
        ids = [s.id for s in load_sources(vault)[0]]
        close = difflib.get_close_matches(source_id, ids, n=3)
        hint = (f"did you mean {', '.join(close)}?" if close else
                "list sources with 'veriwiki sources', or add one with 'veriwiki add FILE'")
        raise InputError(f"no source with the id {source_id!r}", hint=hint) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=rel) from exc
    source = parse_sidecar(data.decode("utf-8", "replace"), rel)
    if number is None:
        return source, source.current
    version = source.version(number)
    if version is None:
        have = ", ".join(f"v{v.version}" for v in source.versions)
        raise InputError(f"source {source.id!r} has no version {number} (it has {have})",
                         hint=f"cite {source.id} for the current version")
    return source, version


def _cache_file(vault: Vault, sha256: str) -> Path:
    return vault.cache_dir / "text" / f"{sha256}.json"


def _read_cache(vault: Vault, version: SourceVersion) -> SourceText | None:
    try:
        data = json.loads(_cache_file(vault, version.sha256).read_text("utf-8"))
        if (data["sha256"] != version.sha256 or data["media_type"] != version.media_type
                or data["extractor"] != extractor_id(version.media_type)):
            return None
        return SourceText(str(data["text"]), tuple(int(p) for p in data["pages"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, stale or damaged: extract again


def _write_cache(vault: Vault, sha256: str, media_type: str, extracted: Extracted) -> None:
    payload = {"sha256": sha256, "media_type": media_type,
               "extractor": extractor_id(media_type), "text": extracted.text,
               "pages": list(extracted.pages)}
    # the cache is derived: a read-only or full disk only costs a re-extraction later,
    # and so does a file a power loss left empty (_read_cache checks what it reads), so
    # it is not fsynced (two fsyncs a source were half of a cold check's I/O wait)
    with contextlib.suppress(OSError):
        atomic_write(_cache_file(vault, sha256),
                     json.dumps(payload, ensure_ascii=False).encode("utf-8"), durable=False)


def source_text(vault: Vault, ref: str, on_notice: Notify | None = None) -> SourceText:
    """The extracted text of ``id`` or ``id:vN`` (cached by content hash)."""
    source, version = get_source(vault, ref, on_notice)
    return version_text(vault, source, version)


def version_text(vault: Vault, source: Source, version: SourceVersion) -> SourceText:
    """The extracted text of one version of a loaded source (cached by content hash)."""
    rel = version_path(source.id, version)
    try:
        size = (vault.root / rel).stat().st_size
    except FileNotFoundError:
        raise InputError("the stored file is missing (source.yaml lists it)", path=rel,
                         hint=f"restore it with 'git checkout -- {rel}'") from None
    cached = _read_cache(vault, version)
    if cached is not None and size == version.size:
        return cached
    data = _read_inside(vault, rel)
    if hashlib.sha256(data).hexdigest() != version.sha256:
        raise InputError("the file was changed after it was added (its sha256 differs from "
                         "source.yaml); sources are never edited", path=rel,
                         hint=f"restore it with 'git checkout -- {rel}' and add new content "
                              f"as a new version: veriwiki add FILE --id {source.id}")
    extracted = extract(version.media_type, data, rel)
    _write_cache(vault, version.sha256, version.media_type, extracted)
    return SourceText(extracted.text, extracted.pages)
