"""Handing a file over to the working tree without losing an edit made meanwhile.

An operation reads a working file (``base``), computes its new content (``work``) and
writes it seconds later, after the commit. A person may save the file in between. The
write is therefore a compare-and-swap against the bytes actually read: when the file
still holds ``base`` it gets ``work``; when it holds something else, the operation's
change is applied to that text (``adapt``: the same transformation, or a three-way
merge), and when that is impossible the file is left as the person wrote it and the
caller is told.

The gap between the last comparison and the rename cannot be closed for every editor,
but it is guarded for the common one, a program writing into the existing file (an
append, a save in place): the replaced file is held open, and bytes that reach it
after it was read are taken up and settled again, so they are not lost either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from veriwiki.adapters.writes import atomic_write, remove_file

Adapt = Callable[[bytes], bytes | None]
_TRIES = 5
_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True, slots=True)
class Settled:
    """How one working file was handed over.

    ``kept`` means the file holds the person's text without the operation's change
    (the commit has the change); ``note`` says what happened when it was not plain.
    """

    path: str
    kept: bool = False
    note: str | None = None


def _snapshot(path: Path) -> tuple[int | None, bytes | None, tuple[int, int]]:
    """An open descriptor on ``path`` (None when missing), its bytes and its stamp."""
    try:
        fd = os.open(path, _FLAGS)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None, None, (0, 0)
    except OSError:  # a link where a file should be: leave it to the writer to refuse
        return None, None, (0, 0)
    stamp = _stamp(fd)
    while True:  # a read overlapping a write is repeated, so bytes and stamp agree
        data = _read_fd(fd)
        again = _stamp(fd)
        if again == stamp:
            return fd, data, stamp
        stamp = again


def _read_fd(fd: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _stamp(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_size, st.st_mtime_ns


def _put(root: Path, path: Path, data: bytes | None, tmp_dir: Path) -> None:
    if data is None:
        remove_file(path, root=root, prune=True)
    else:
        atomic_write(path, data, tmp_dir, root=root)


def settle_file(root: Path, rel: str, base: bytes | None, work: bytes | None, adapt: Adapt,
                tmp_dir: Path) -> Settled:
    """Make ``rel`` hold ``work`` if it still holds ``base``; otherwise adapt the edit.

    ``adapt`` receives the person's text and returns it with the operation's change
    applied, or None when that cannot be done (the text is then kept as it is).
    """
    path = root / rel
    pending: bytes | None = None  # text taken up from a file replaced under a writer
    wrote: bytes | None = None
    note: str | None = None
    for _ in range(_TRIES):
        fd, disk, _ = _snapshot(path)
        try:
            if pending is not None and disk != wrote:
                rescued = _rescue(tmp_dir, rel, pending)
                return Settled(rel, True, f"{rel} was written twice while veriwiki updated "
                                          f"it; the earlier edit is saved in {rescued}")
            user = pending if pending is not None else disk
            kept = False
            if user in (base, work):
                desired = work
            else:
                desired = adapt(user) if user is not None and work is not None else None
                if desired is None:  # keep the person's text (or their deletion)
                    desired, kept = user, True
                    note = (f"{rel} was changed during the operation and could not take "
                            "its change; left as you wrote it")
                elif note is None:
                    note = f"{rel} was changed during the operation; kept your edit"
            if desired == disk:
                return Settled(rel, kept, note)
            _put(root, path, desired, tmp_dir)
            if fd is None:
                return Settled(rel, kept, note)
            late = _read_fd(fd)  # the replaced file: written to after we read it?
            if late == disk:
                return Settled(rel, kept, note)
            pending, wrote = late, desired
            note = note or f"{rel} was changed during the operation; kept your edit"
        finally:
            if fd is not None:
                os.close(fd)
    rescued = _rescue(tmp_dir, rel, pending or b"")
    return Settled(rel, True, f"{rel} kept changing while veriwiki updated it; the last "
                              f"edit it could not place is saved in {rescued}")


def _rescue(tmp_dir: Path, rel: str, data: bytes) -> Path:
    """Save ``data`` beside the state folder so an edit is never simply dropped."""
    folder = tmp_dir.parent / "rescued"
    target = folder / (rel.replace("/", "%2F") + f".{os.getpid()}.{len(data)}")
    atomic_write(target, data, None, root=tmp_dir.parent)
    return target
