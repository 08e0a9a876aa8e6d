"""File-system access: walking the vault, reading pages safely.

Writes live in :mod:`veriwiki.adapters.writes` (``atomic_write`` is re-exported here).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from veriwiki.adapters.writes import atomic_write as atomic_write  # re-exported
from veriwiki.core.model import FileProblem
from veriwiki.core.names import file_name_problem, printable_path
from veriwiki.errors import InputError

SKIP_DIRS = {"node_modules", "__pycache__"}


def blob_sha(data: bytes) -> str:
    """The git blob id of ``data`` (so index hashes and git objects agree)."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """A file found by :func:`walk_vault` with the stat data used for change detection."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class Walk:
    """The result of walking a vault."""

    pages: list[Entry]
    attachments: list[str]
    problems: list[FileProblem]


RESERVED = ("raw/", "data/", "schemas/")


def is_page_path(rel: str, pages_root: str, exclude: tuple[str, ...] = ()) -> bool:
    """True when vault-relative ``rel`` is a page: a ``.md`` file under the pages folder.

    When the pages folder is the vault root, the source, data and schema folders and
    the ``exclude`` patterns (fnmatch, vault-relative) are not pages.
    """
    if not rel.lower().endswith(".md") or file_name_problem(rel) is not None:
        return False
    if exclude and any(fnmatch.fnmatchcase(rel, pat) for pat in exclude):
        return False
    if pages_root in ("", "."):
        return not rel.startswith(RESERVED)
    return rel.startswith(pages_root + "/")


def walk_vault(root: Path, pages_root: str, exclude: tuple[str, ...] = ()) -> Walk:
    """List pages, attachments and unsafe files; dot-folders are skipped."""
    root_str = str(root)
    real_root = os.path.realpath(root_str)
    out = Walk([], [], [])
    prefix = "" if pages_root in ("", ".") else pages_root + "/"
    check_reserved = not prefix

    def inside(real: str) -> bool:
        return real == real_root or real.startswith(real_root + os.sep)

    def visit(folder: str, rel_dir: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = rel_dir + name
            bad = file_name_problem(name)
            if bad is not None:
                what = "folder" if entry.is_dir(follow_symlinks=False) else "file"
                out.problems.append(FileProblem(
                    printable_path(rel), "invalid-name",
                    f"veriwiki skips this {what}: {bad}, so no link can reach it and git "
                    "tools may mistake it for another file — rename it"))
                continue
            if entry.is_symlink():
                real = os.path.realpath(entry.path)
                if not inside(real):
                    if entry.is_dir() or rel.lower().endswith(".md"):
                        out.problems.append(FileProblem(
                            rel, "symlink-outside",
                            f"symlink points outside the vault (to {printable_path(real)}); "
                            "veriwiki will "
                            "not read it — copy the file into the vault or remove the link"))
                    continue
                if entry.is_dir():
                    continue  # never follow folder links: avoids cycles and double counting
                try:
                    st = os.stat(entry.path)
                except OSError:
                    out.problems.append(FileProblem(rel, "broken-symlink",
                                                    "symlink points to a missing file"))
                    continue
            elif entry.is_dir(follow_symlinks=False):
                # a site built by 'veriwiki build' (site/) is output, not vault content
                if name not in SKIP_DIRS and not os.path.isfile(
                        os.path.join(entry.path, ".veriwiki-site.json")):
                    visit(entry.path, rel + "/")
                continue
            else:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
            if name[-3:].lower() == ".md" and rel.startswith(prefix) and (
                    not check_reserved or not rel.startswith(RESERVED)) and not (
                    exclude and any(fnmatch.fnmatchcase(rel, pat) for pat in exclude)):
                out.pages.append(Entry(rel, st.st_size, st.st_mtime_ns))
            else:
                out.attachments.append(rel)

    visit(root_str, "")
    return out


def decode_page(rel: str, data: bytes, max_bytes: int) -> str | FileProblem:
    """Decode a page's bytes, or explain why it cannot be read."""
    if len(data) > max_bytes:
        return FileProblem(rel, "too-large",
                           f"file is {len(data):,} bytes, over the {max_bytes:,}-byte limit; "
                           "split it into smaller pages or raise [vault] max_page_bytes")
    nul = data.find(b"\0")
    if nul >= 0:
        return FileProblem(rel, "binary",
                           "file contains NUL bytes, so it is binary, not a markdown page; "
                           "move it out of the pages folder or rename it without .md",
                           data.count(b"\n", 0, nul) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return FileProblem(rel, "not-utf8",
                           f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at line "
                           f"{line}); re-save it as UTF-8", line)


def read_page_text(root: Path, rel: str, max_bytes: int) -> str:
    """Read a page for a command, raising a clear :class:`InputError` when unsafe."""
    full = root / rel
    real = os.path.realpath(full)
    if not real.startswith(os.path.realpath(root) + os.sep):
        raise InputError("the page is a symlink pointing outside the vault; veriwiki will not "
                         "read it", path=rel, hint="copy the file into the vault")
    try:
        data = full.read_bytes()
    except FileNotFoundError as exc:
        raise InputError("the page does not exist on disk", path=rel) from exc
    except OSError as exc:
        raise InputError(f"cannot read the page: {exc.strerror}", path=rel) from exc
    result = decode_page(rel, data, max_bytes)
    if isinstance(result, FileProblem):
        raise InputError(result.message, path=rel, line=result.line)
    return result

