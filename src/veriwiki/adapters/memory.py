"""Handing freed memory back to the operating system.

A build of 100k pages frees hundreds of megabytes of short-lived objects (pages read
from the index, term weights) between its steps. CPython returns freed blocks to the C
allocator, but glibc's ``malloc`` keeps much of it mapped (each thread arena's top is
only given back past a threshold, and freed chunks below a live one never are), so the
process stays as large as its largest step, and every render worker it forks starts
that large. ``malloc_trim(0)`` releases the free pages of every arena. Elsewhere (musl,
macOS, Windows) there is nothing to call, and :func:`release` only collects garbage.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from functools import cache


@cache
def _trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # (only a build of many pages asks: no import at start-up)

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release() -> bool:
    """Collect garbage and give the allocator's free pages back to the system: True when
    the C library could be asked to (glibc)."""
    gc.collect()
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
