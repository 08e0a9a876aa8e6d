"""Know when the pages changed without scanning: inotify on Linux, a scan elsewhere.

A long-running process (the MCP server) asks :meth:`ChangeWatch.take_changed` before it
searches: True means "something under the watched folder changed since you last asked"
(or the watch cannot tell), so the index must be refreshed by a scan; False means the
index is still current and the scan can be skipped. The flag is taken *before* the
refresh, so an edit made during the scan is seen next time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import threading
from pathlib import Path

_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_MOVE_SELF = 0x800
_IN_Q_OVERFLOW = 0x4000
_IN_ISDIR = 0x40000000
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO
         | _IN_CREATE | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF)
_EVENT = struct.Struct("iIII")
_MAX_WATCHES = 20_000


class ChangeWatch:
    """A dirty flag for a folder tree, set by inotify events (always set without it)."""

    def __init__(self, root: Path, skip: tuple[str, ...] = (".git", ".veriwiki")) -> None:
        self.root = root
        self.skip = skip
        self._changed = True  # the first question always refreshes
        self._lock = threading.Lock()
        self._fd = -1
        self._dirs: dict[int, Path] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._libc = None
        name = ctypes.util.find_library("c")
        if name is None or not hasattr(os, "O_NONBLOCK"):
            return
        try:
            libc = ctypes.CDLL(name, use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return
        if fd < 0:
            return
        self._libc, self._fd = libc, fd
        if not self._add_tree(root):
            self.close()
            return
        self._thread = threading.Thread(target=self._run, name="veriwiki-watch", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        """True when events are being watched (False: every question says changed)."""
        return self._thread is not None

    def take_changed(self) -> bool:
        """Whether anything changed since the last call (and reset the flag)."""
        if not self.active:
            return True
        with self._lock:
            changed, self._changed = self._changed, False
        return changed

    def _mark(self) -> None:
        with self._lock:
            self._changed = True

    def _add_tree(self, top: Path) -> bool:
        assert self._libc is not None
        for folder, dirs, _files in os.walk(top, followlinks=False):
            dirs[:] = [d for d in dirs if d not in self.skip]
            if len(self._dirs) >= _MAX_WATCHES:
                return False
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(folder), _MASK)
            if wd < 0:
                return False
            self._dirs[wd] = Path(folder)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], 0.5)
                if not ready:
                    continue
                data = os.read(self._fd, 64 * 1024)
            except (OSError, ValueError):
                self._mark()
                return
            self._mark()
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, size = _EVENT.unpack_from(data, offset)
                raw = data[offset + _EVENT.size:offset + _EVENT.size + size]
                offset += _EVENT.size + size
                name = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                if mask & _IN_Q_OVERFLOW:
                    continue
                if mask & _IN_ISDIR and mask & (_IN_CREATE | _IN_MOVED_TO) \
                        and wd in self._dirs and name not in self.skip \
                        and not self._add_tree(self._dirs[wd] / name):
                    self._thread = None  # too many folders: fall back to scans
                    return

    def close(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
