"""Writing files without ever leaving the vault, and durably.

Every file veriwiki writes or deletes in a vault passes :func:`atomic_write` or
:func:`remove_file`. Both walk the target's folders one at a time from the vault root,
opening each with ``O_NOFOLLOW`` and working relative to the open folder, so:

- a folder that is a symbolic link (a committed ``wiki/notes -> /home/ada``, a
  ``log_page`` reached through a link) stops the write with :class:`UnsafePathError`
  instead of redirecting it, and so does a file that is itself a link;
- a folder swapped for a link after the check cannot redirect the write either;
- nothing is written into a ``.git`` folder or outside the root.

A completed :func:`atomic_write` survives a power loss: the data is fsynced before the
rename and the folder after it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from veriwiki.errors import InputError, UnsafePathError

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR = os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC
_NOFOLLOW_DIR = _DIR | os.O_NOFOLLOW


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _parts(anchor: Path, path: Path) -> list[str]:
    """Components of ``path`` below ``anchor``; refuses paths outside it or into .git."""
    base = os.path.abspath(anchor)
    full = os.path.abspath(path)
    prefix = base.rstrip(os.sep) + os.sep
    if full == base:
        parts: list[str] = []
    elif full.startswith(prefix):
        parts = full[len(prefix):].split(os.sep)
    else:
        raise UnsafePathError(f"refusing to write outside the vault ({base})", path=str(path),
                              hint="this is a bug in veriwiki; please report it")
    for part in parts:
        if part.casefold() == ".git":
            raise UnsafePathError("refusing to write inside a .git folder; git's own files "
                                  "are never written by veriwiki", path="/".join(parts),
                                  hint="check [vault] settings in veriwiki.toml for a path "
                                       "into .git")
    return parts


def _link_error(anchor: Path, parts: list[str], upto: int) -> UnsafePathError:
    link = "/".join(parts[:upto + 1])
    try:
        target = os.readlink(os.path.join(anchor, *parts[:upto + 1]))
    except OSError:
        target = "?"
    kind = "file" if upto == len(parts) - 1 else "folder"
    return UnsafePathError(
        f"{link} is a symbolic link (to {target}); veriwiki never writes through links, "
        "so nothing was written", path="/".join(parts),
        hint=f"replace the link {link} with a real {kind} inside the vault (or remove it), "
             "then run the command again")


def _open_chain(anchor: Path, parts: list[str], create: bool,
                target: list[str] | None = None) -> list[int]:
    """Open fds of ``anchor`` and each folder in ``parts`` below it, never following links.

    The anchor itself is trusted (the vault root). Missing folders are created when
    ``create``; otherwise :class:`FileNotFoundError` propagates. ``target`` (the full
    path being written, when longer than ``parts``) is what errors name.
    """
    shown = target if target is not None else parts
    fds = [os.open(anchor, _DIR)]
    try:
        for i, name in enumerate(parts):
            parent = fds[-1]
            try:
                fd = os.open(name, _NOFOLLOW_DIR, dir_fd=parent)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=parent)
                fd = os.open(name, _NOFOLLOW_DIR, dir_fd=parent)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    raise _link_error(anchor, shown, i) from None
                if not create:  # nothing can exist below a file
                    raise FileNotFoundError(errno.ENOENT, "not a folder", name) from None
                raise InputError(f"{'/'.join(parts[:i + 1])} is a file where a folder is "
                                 "needed", path="/".join(shown),
                                 hint="rename or move that file") from None
            fds.append(fd)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def check_write_path(root: Path, path: Path, *, deleting: bool = False) -> None:
    """Raise :class:`UnsafePathError` unless ``path`` may be written (or deleted).

    Every existing folder between ``root`` and ``path`` must be a real folder; the file
    must not be a link unless it is being deleted (deleting removes the link itself).
    Nothing is created.
    """
    parts = _parts(root, path)
    if not parts:
        raise UnsafePathError("refusing to replace the vault folder itself", path=str(path))
    current = str(root)
    for i, name in enumerate(parts):
        current = os.path.join(current, name)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode) and not (deleting and i == len(parts) - 1):
            raise _link_error(root, parts, i)


def ensure_dir(path: Path, root: Path) -> Path:
    """Create folder ``path`` (and missing parents) inside ``root`` without following
    links; return it. Raises :class:`UnsafePathError` for a link on the way."""
    _close(_open_chain(root, _parts(root, path), create=True))
    return path


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_temp(dir_fd: int, data: bytes, mode: int, durable: bool = True) -> str:
    name = f".vw-{os.getpid()}-{secrets.token_hex(6)}.tmp"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC, 0o600,
                 dir_fd=dir_fd)
    try:
        _write_all(fd, data)
        os.fchmod(fd, mode)
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        raise
    os.close(fd)
    return name


def atomic_write(path: Path, data: bytes, tmp_dir: Path | None = None, *,
                 root: Path | None = None, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically and durably, never through a link.

    ``root`` is the vault (or the state folder): the file must lie inside it and outside
    ``.git``, and every folder below it must be a real folder (missing ones are
    created). Without ``root`` (caches in a folder veriwiki made) the file's folder is
    taken as it is and only the file itself must not be a link. The temporary file is
    written in ``tmp_dir`` (a real folder in a folder veriwiki made) when given, so a
    killed write leaves no stray file beside the target; across file systems it falls
    back to the target's folder. A file that exists keeps its permissions; a new one
    gets the umask's. Data and folder are fsynced, unless ``durable`` is False: for a
    cache whose reader detects a damaged file and rebuilds it, a power loss may then
    leave an empty or old file, never a half-written one under the name while running.
    """
    if root is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        root = Path(os.path.realpath(path.parent))
        path = root / path.name
    anchor = root
    parts = _parts(anchor, path)
    if not parts:
        raise UnsafePathError("refusing to replace the vault folder itself", path=str(path))
    fds = _open_chain(anchor, parts[:-1], create=True, target=parts)
    dir_fd, name = fds[-1], parts[-1]
    tmp_fds: list[int] = []
    try:
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        else:
            if stat.S_ISLNK(st.st_mode):
                raise _link_error(anchor, parts, len(parts) - 1)
            mode = st.st_mode & 0o7777
        tmp_fd = dir_fd
        if tmp_dir is not None:
            with contextlib.suppress(FileNotFoundError):  # no state folder: use the target's
                tmp_fds = _open_chain(tmp_dir.parent, [tmp_dir.name], create=True)
                tmp_fd = tmp_fds[-1]
        tmp = _write_temp(tmp_fd, data, mode, durable)
        try:
            os.replace(tmp, name, src_dir_fd=tmp_fd, dst_dir_fd=dir_fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=tmp_fd)
            if exc.errno != errno.EXDEV or tmp_fd == dir_fd:
                raise
            tmp = _write_temp(dir_fd, data, mode, durable)
            try:
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise
        if durable:
            os.fsync(dir_fd)
    finally:
        _close(tmp_fds)
        _close(fds)


def remove_file(path: Path, *, root: Path, prune: bool = False) -> bool:
    """Delete ``path`` inside ``root`` without following links; True if it existed.

    A file that is a link is removed itself (its target is untouched); a folder on the
    way that is a link refuses with :class:`UnsafePathError`. With ``prune``, folders
    left empty are removed too, up to (not including) ``root``.
    """
    parts = _parts(root, path)
    if not parts:
        raise UnsafePathError("refusing to delete the vault folder itself", path=str(path))
    try:
        fds = _open_chain(root, parts[:-1], create=False, target=parts)
    except FileNotFoundError:
        return False
    try:
        try:
            os.unlink(parts[-1], dir_fd=fds[-1])
        except FileNotFoundError:
            return False
        os.fsync(fds[-1])
        if prune:
            for i in range(len(parts) - 2, -1, -1):
                try:
                    os.rmdir(parts[i], dir_fd=fds[i])
                except OSError:
                    break
        return True
    finally:
        _close(fds)


def fsync_dir(path: Path) -> None:
    """Flush folder ``path``'s entries (renames, new files) to disk; best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(path, _DIR)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_state_dir(root: Path, name: str) -> None:
    """Refuse a derived-state folder that is a link or holds links at its top level.

    The state folder is written by every command (index, caches, lock, journal); a link
    there (committed with ``git add -f``, say) would send those writes elsewhere.
    """
    folder = root / name
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise _link_error(root, [name], 0)
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_symlink():
                raise UnsafePathError(
                    f"{name}/{entry.name} is a symbolic link; veriwiki never writes through "
                    "links", path=f"{name}/{entry.name}",
                    hint=f"delete it ({name}/ holds only derived state, which veriwiki "
                         "rebuilds), then run the command again")


def create_files(root: Path, files: list[tuple[str, bytes, str]]) -> None:
    """Create new files below ``root``: (relative path, content, git mode) each.

    For scratch copies (a temporary checkout): no fsync, and an existing file is an
    error. Mode ``120000`` makes a symbolic link whose target is the content (as git
    stores it); ``100755`` an executable file. Folders are created without following
    links, so a path below a link just created refuses with :class:`UnsafePathError`.
    """
    umask = _umask()
    opened: dict[tuple[str, ...], list[int]] = {}
    try:
        for rel, data, mode in files:
            parts = _parts(root, root / rel)
            folder = tuple(parts[:-1])
            if folder not in opened:
                opened[folder] = _open_chain(root, list(folder), create=True, target=parts)
            dir_fd = opened[folder][-1]
            if mode == "120000":
                os.symlink(data.decode("utf-8", "surrogateescape"), parts[-1], dir_fd=dir_fd)
                continue
            perm = (0o777 if mode == "100755" else 0o666) & ~umask
            fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | _CLOEXEC, perm, dir_fd=dir_fd)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
    finally:
        for fds in opened.values():
            _close(fds)
