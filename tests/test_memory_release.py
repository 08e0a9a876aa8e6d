"""adapters/memory.py: freed memory handed back to the system (glibc's malloc_trim)."""

from __future__ import annotations

import sys

import pytest

from veriwiki.adapters.memory import release


def _rss_kb() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        import os

        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; glibc only")
def test_release_gives_freed_blocks_back() -> None:
    release()
    before = _rss_kb()
    # ~200 MB of strings past the small-object allocator's bound, one in 16 kept: the
    # freed ones are holes between live blocks, which glibc does not give back itself
    held = [("x" * 4000) + str(i) for i in range(50_000)]
    keep = held[::16]
    del held
    grown = _rss_kb()
    assert grown - before > 150_000, (before, grown)
    assert release() is True
    after = _rss_kb()
    assert grown - after > 100_000, (before, grown, after)
    assert len(keep) == 3125
