"""File-system access: walking the vault, reading pages safely.

Writes live in :mod:`veriwiki.adapters.writes` (``atomic_write`` is re-exported here).
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from dataclasses import dataclass, field
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
    ctime_ns: int = 0


# A folder's identity and last change: (mtime_ns, ctime_ns, inode, device).
FolderSig = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Folder:
    """What a walk found in one folder (paths vault-relative, in name order).

    ``sig`` is the folder's stat taken before it was listed; None when the listing may
    not be reused (the folder changed too recently to trust its times, or it holds a
    link, whose target can change without the folder changing).
    """

    sig: FolderSig | None
    items: tuple[tuple[str, str], ...]  # ("p" page | "a" attachment | "d" folder, path)
    problems: tuple[FileProblem, ...]


@dataclass
class Walk:
    """The result of walking a vault."""

    pages: list[Entry]
    attachments: list[str]
    problems: list[FileProblem]
    folders: dict[str, Folder] = field(default_factory=dict)
    reused: int = 0  # folders whose listing came from the previous walk


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


def _stat_files(folder: str, names: list[str], sig: FolderSig | None
                ) -> list[os.stat_result] | None:
    """The stats (not following links) of regular files ``names`` in ``folder``, or
    None when one is missing or not a regular file, or the folder is no longer the one
    ``sig`` describes. Relative to an open folder where the system allows it (cheaper
    than resolving each full path)."""
    out = []
    if os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY"):
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if sig is None or (st.st_ino, st.st_dev) != sig[2:]:
                return None
            for name in names:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode):
                    return None
                out.append(st)
        except OSError:
            return None
        finally:
            os.close(fd)
        return out
    try:
        for name in names:
            st = os.lstat(os.path.join(folder, name))
            if not stat.S_ISREG(st.st_mode):
                return None
            out.append(st)
    except OSError:
        return None
    return out


def walk_vault(root: Path, pages_root: str, exclude: tuple[str, ...] = (), *,
               previous: dict[str, Folder] | None = None,
               trusted_before: int | None = None) -> Walk:
    """List pages, attachments and unsafe files; dot-folders are skipped.

    Every page is stat'ed. With ``previous`` (the ``folders`` of an earlier walk with
    the same ``pages_root`` and ``exclude``), a folder whose stat still equals the one
    recorded is not listed again: its entries cannot have changed, because adding,
    removing or renaming an entry changes the folder's mtime and ctime, and replacing
    the folder changes its inode (a page edited in place changes only the page, which
    is stat'ed anyway). A folder is recorded as reusable only when its times are older
    than ``trusted_before`` (ns since the epoch, taken before the walk), so a change
    within one tick of a coarse file-system clock cannot hide behind an equal time.
    """
    root_str = str(root)
    real_root = os.path.realpath(root_str)
    out = Walk([], [], [])
    prefix = "" if pages_root in ("", ".") else pages_root + "/"
    check_reserved = not prefix
    old = previous or {}

    def inside(real: str) -> bool:
        return real == real_root or real.startswith(real_root + os.sep)

    def reuse(folder: Folder, rel_dir: str) -> bool:
        cut = len(rel_dir) + 1 if rel_dir else 0
        names = [rel[cut:] for kind, rel in folder.items if kind == "p"]
        got = _stat_files(os.path.join(root_str, rel_dir), names, folder.sig)
        if got is None:
            return False  # changed after the folder's stat: list it again
        stats = {rel_dir + "/" + n if rel_dir else n: st for n, st in zip(names, got,
                                                                          strict=True)}
        out.folders[rel_dir] = folder
        out.reused += 1
        out.problems += folder.problems
        for kind, rel in folder.items:  # in name order, as a listing would give them
            if kind == "p":
                st = stats[rel]
                out.pages.append(Entry(rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            elif kind == "a":
                out.attachments.append(rel)
            else:
                visit(os.path.join(root_str, rel), rel + "/")
        return True

    def visit(folder: str, rel_dir: str) -> None:
        try:
            st = os.stat(folder)  # before listing: a later change shows in a later stat
        except OSError:
            return
        if rel_dir and os.path.isfile(os.path.join(folder, ".veriwiki-site.json")):
            return  # a site built by 'veriwiki build' (site/) is output, not vault content
        sig: FolderSig | None = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        known = old.get(rel_dir[:-1])
        if known is not None and known.sig == sig and reuse(known, rel_dir[:-1]):
            return
        if trusted_before is None or max(st.st_mtime_ns, st.st_ctime_ns) >= trusted_before:
            sig = None
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        items: list[tuple[str, str]] = []
        problems: list[FileProblem] = []
        pages: dict[str, Entry] = {}
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = rel_dir + name
            bad = file_name_problem(name)
            if bad is not None:
                what = "folder" if entry.is_dir(follow_symlinks=False) else "file"
                problems.append(FileProblem(
                    printable_path(rel), "invalid-name",
                    f"veriwiki skips this {what}: {bad}, so no link can reach it and git "
                    "tools may mistake it for another file — rename it"))
                continue
            if entry.is_symlink():
                sig = None  # the link's target may change while this folder does not
                real = os.path.realpath(entry.path)
                if not inside(real):
                    if entry.is_dir() or rel.lower().endswith(".md"):
                        problems.append(FileProblem(
                            rel, "symlink-outside",
                            f"symlink points outside the vault (to {printable_path(real)}); "
                            "veriwiki will "
                            "not read it — copy the file into the vault or remove the link"))
                    continue
                if entry.is_dir():
                    continue  # never follow folder links: avoids cycles and double counting
                try:
                    fst = os.stat(entry.path)
                except OSError:
                    problems.append(FileProblem(rel, "broken-symlink",
                                                    "symlink points to a missing file"))
                    continue
            elif entry.is_dir(follow_symlinks=False):
                if name not in SKIP_DIRS:
                    items.append(("d", rel))
                continue
            else:
                try:
                    fst = entry.stat(follow_symlinks=False)
                except OSError:
                    sig = None
                    continue
            if name[-3:].lower() == ".md" and rel.startswith(prefix) and (
                    not check_reserved or not rel.startswith(RESERVED)) and not (
                    exclude and any(fnmatch.fnmatchcase(rel, pat) for pat in exclude)):
                items.append(("p", rel))
                pages[rel] = Entry(rel, fst.st_size, fst.st_mtime_ns, fst.st_ctime_ns)
            else:
                items.append(("a", rel))
        out.folders[rel_dir[:-1]] = Folder(sig, tuple(items), tuple(problems))
        out.problems += problems
        for kind, rel in items:  # depth first in name order
            if kind == "p":
                out.pages.append(pages[rel])
            elif kind == "a":
                out.attachments.append(rel)
            else:
                visit(os.path.join(root_str, rel), rel + "/")

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
    full = os.path.join(root, rel)
    try:
        data = _read_inside(full, _real_root(str(root)))
    except FileNotFoundError as exc:
        raise InputError("the page does not exist on disk", path=rel) from exc
    except IsADirectoryError as exc:
        raise InputError("the page is a folder, not a file", path=rel) from exc
    except OSError as exc:
        raise InputError(f"cannot read the page: {exc.strerror}", path=rel) from exc
    if data is None:
        raise InputError("the page is a symlink pointing outside the vault; veriwiki will not "
                         "read it", path=rel, hint="copy the file into the vault")
    result = decode_page(rel, data, max_bytes)
    if isinstance(result, FileProblem):
        raise InputError(result.message, path=rel, line=result.line)
    return result


_ROOTS: dict[str, str] = {}


def _real_root(root: str) -> str:
    """The real path of a vault's root (remembered: a root moved since is safe, as a
    file inside the new root then reads as outside the remembered one, and is refused)."""
    real = _ROOTS.get(root)
    if real is None:
        if len(_ROOTS) > 64:
            _ROOTS.clear()
        real = _ROOTS[root] = os.path.realpath(root)
    return real


def _read_inside(full: str, real_root: str) -> bytes | None:
    """The bytes of the file at ``full``, or None when it lies outside ``real_root``.

    The common case costs two system calls beyond the read: the file is opened without
    following a final symlink, and where it really is comes from the open descriptor
    (``/proc/self/fd``), so a folder on the way that is a symlink is caught too. A final
    symlink, or a system without ``/proc``, takes the slower walk of ``realpath``."""
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EMLINK):  # not a symlink at the end
            raise
        fd = -1
    try:
        where = _fd_path(fd) if fd >= 0 else None
        if where is None:
            where = os.path.realpath(full)
        if not where.startswith(real_root + os.sep):
            return None
        if fd < 0:
            fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            if _fd_path(fd) not in (None, where):  # replaced in between: read nothing
                return None
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", full)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", full)
        return read_fd(fd, info.st_size)
    finally:
        if fd >= 0:
            os.close(fd)


def read_fd(fd: int, size: int) -> bytes:
    """Everything left in the open file ``fd`` whose size was ``size``: one read call
    when it still is (a short read of a regular file is its end), else on to its end."""
    data = os.read(fd, size + 1)
    if len(data) <= size:
        return data
    parts = [data]
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def _fd_path(fd: int) -> str | None:
    """Where an open descriptor's file is, from ``/proc`` (None when it cannot say)."""
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    return where if where.startswith("/") and not where.endswith(" (deleted)") else None

