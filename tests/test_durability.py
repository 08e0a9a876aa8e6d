"""Durability as documented: what a write fsyncs, and change detection on coarse clocks.

The fsync tests record which files and folders ``os.fsync`` is called on (through
``/proc/self/fd``), so they assert the calls the power-loss claim in docs/vault.md rests
on. The index tests rewrite a page with the same size and the same modification time,
as an editor does within one tick of a coarse file-system clock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Veriwiki, describe, write
from veriwiki.adapters.git import GitRepo
from veriwiki.adapters.sqlite_index import RACY_NS
from veriwiki.adapters.writes import atomic_write

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


@pytest.fixture
def fsynced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths ``os.fsync`` is called on during the test."""
    seen: list[str] = []
    real: Callable[[int], None] = os.fsync

    def record(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", record)
    return seen


def test_atomic_write_fsyncs_the_file_and_its_folder(tmp_path: Path,
                                                     fsynced: list[str]) -> None:
    root = tmp_path.resolve()
    (root / ".veriwiki").mkdir()
    atomic_write(root / "wiki" / "P.md", b"# P\n", root / ".veriwiki" / "tmp", root=root)
    assert (root / "wiki" / "P.md").read_bytes() == b"# P\n"
    # the temporary file (renamed afterwards) and then the folder holding the new entry
    assert fsynced[-1] == str(root / "wiki")
    assert any(p.startswith(str(root / ".veriwiki" / "tmp" / ".vw-")) for p in fsynced[:-1])
    assert os.listdir(root / ".veriwiki" / "tmp") == []


def test_a_cache_write_is_atomic_without_fsync(tmp_path: Path, fsynced: list[str]) -> None:
    """``durable=False`` (the extracted-text cache, which checks what it reads): the
    file is still replaced by a rename, never written in place, but nothing is fsynced."""
    root = tmp_path.resolve()
    atomic_write(root / "text" / "a.json", b"{}")
    atomic_write(root / "text" / "a.json", b'{"v": 2}', durable=False)
    assert (root / "text" / "a.json").read_bytes() == b'{"v": 2}'
    assert os.listdir(root / "text") == ["a.json"]
    durable_calls = len(fsynced)
    assert durable_calls == 2  # the first write: file and folder
    atomic_write(root / "text" / "b.json", b"{}", durable=False)
    assert len(fsynced) == durable_calls


def test_commit_point_fsyncs_the_journal_and_the_branch_ref_folder(
        vault: Path, vw: Veriwiki, fsynced: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki.services.pages import new_page
    from veriwiki.vault import open_vault

    for key, value in vw.env.items():
        monkeypatch.setenv(key, value)
    journal_seen: list[bool] = []
    real_update = GitRepo.update_head

    def update_head(self: GitRepo, new: str, old: str | None, message: str) -> None:
        # the journal must be on disk (file and folder) before HEAD moves
        journal_seen.append(str(vault / ".veriwiki") in fsynced
                            and (vault / ".veriwiki" / "journal.json").exists())
        real_update(self, new, old, message)

    monkeypatch.setattr(GitRepo, "update_head", update_head)
    new_page(open_vault(vault), "Durable")
    assert journal_seen == [True]
    assert str(vault / ".git" / "refs" / "heads") in fsynced
    assert str(vault / "wiki") in fsynced  # the new page's folder entry


def test_index_sees_a_same_size_edit_with_the_same_mtime(vw: Veriwiki, vault: Path) -> None:
    page = write(vault, "wiki/Note.md", "# Note\n\nThe word is walrus. See [[Index]].\n")
    vw.ok("search", "walrus")
    st = page.stat()
    page.write_text("# Note\n\nThe word is otters. See [[Nowhr]].\n")
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert page.stat().st_size == st.st_size and page.stat().st_mtime_ns == st.st_mtime_ns
    hits = vw.json("search", "otters")
    assert [h["path"] for h in hits] == ["wiki/Note.md"], hits
    assert vw.json("search", "walrus") == []
    report = vw.json("check", code=1)
    broken = [f for f in report["findings"] if f["rule"] == "broken-link"]
    assert [f["path"] for f in broken] == ["wiki/Note.md"], describe(vw("check"))


def test_index_trusts_only_mtimes_older_than_the_clock_resolution(vw: Veriwiki,
                                                                  vault: Path) -> None:
    fresh = write(vault, "wiki/Fresh.md", "# Fresh\n")
    old = write(vault, "wiki/Old.md", "# Old\n")
    hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(old, ns=(hour_ago, hour_ago))
    vw.ok("index")

    def stored() -> dict[str, int]:
        with sqlite3.connect(vault / ".veriwiki" / "index.db") as db:
            return dict(db.execute("SELECT path, mtime_ns FROM pages"))

    rows = stored()
    # an old mtime set by utime is not enough: the change time (which utime cannot set
    # back) is recent too, and a same-size edit in the same tick would keep both
    assert rows["wiki/Old.md"] == -1
    assert rows["wiki/Fresh.md"] == -1  # re-read (not re-parsed) by the next scan
    time.sleep(RACY_NS / 1e9 + 0.2)
    stats = json.loads(vw.ok("index", "--json").stdout)
    assert stats["parsed"] == 0, stats
    assert stored()["wiki/Fresh.md"] == fresh.stat().st_mtime_ns
    assert stored()["wiki/Old.md"] == hour_ago
