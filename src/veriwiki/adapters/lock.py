"""An inter-process write lock for a vault (``fcntl.flock``; released when a process dies)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from veriwiki.adapters.writes import check_state_dir, ensure_dir
from veriwiki.errors import LockTimeoutError

_held: set[str] = set()


@contextlib.contextmanager
def vault_lock(state_dir: Path, what: str, timeout: float,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the vault's write lock for the duration of the block.

    Waits up to ``timeout`` seconds for another process; ``on_wait`` is told once who
    holds it. Raises :class:`LockTimeoutError` when the wait runs out.
    """
    key = str(state_dir.resolve())
    if key in _held:  # re-entrant within one process
        yield
        return
    check_state_dir(state_dir.parent, state_dir.name)  # no link in it leads elsewhere
    ensure_dir(state_dir, state_dir.parent)
    lock_path = state_dir / "lock"
    info_path = state_dir / "lock.info"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = ""
                with contextlib.suppress(OSError):
                    holder = info_path.read_text().strip()
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"another veriwiki process is writing to this vault ({holder or 'unknown'})"
                        f"; gave up after {timeout:g}s",
                        hint="wait for it to finish and run the command again, or raise "
                             "[vault] lock_timeout / VERIWIKI_LOCK_TIMEOUT") from None
                if on_wait and not told:
                    on_wait(f"waiting for another veriwiki process ({holder or 'unknown'}) "
                            "to finish writing…")
                    told = True
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            _write_info(info_path, f"pid {os.getpid()}: {what}\n")
        _held.add(key)
        try:
            yield
        finally:
            _held.discard(key)
            with contextlib.suppress(OSError):
                _write_info(info_path, "")
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_info(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
