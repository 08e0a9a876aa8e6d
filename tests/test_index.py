"""The derived SQLite index: incremental updates, rebuilds and self-repair.

The vault is made by the real ``veriwiki init``; updates go through the Python API
(``veriwiki.api``) so their statistics can be asserted, and the CLI is used where the
user-visible behaviour (notices, exit codes) is the point.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Git, Veriwiki, describe, write
from veriwiki import api

PAGES = {
    "wiki/Alpha.md": "---\ntitle: Alpha\n---\n# Alpha\n\nAlpha talks about quasars.\n",
    "wiki/Beta.md": "# Beta\n\nBeta talks about pulsars. [[Alpha]]\n",
    "wiki/deep/Gamma.md": "# Gamma\n\nGamma talks about nebulae. [[Beta]]\n",
}


@pytest.fixture
def pages(vault: Path) -> Path:
    """The vault with three pages written to disk (not committed; the index reads files)."""
    for rel, text in PAGES.items():
        write(vault, rel, text)
    return vault


@pytest.fixture
def opened(pages: Path) -> Iterator[api.Vault]:
    """The vault opened through the Python API."""
    v = api.open_vault(pages)
    yield v
    v.close()


def paths_for(v: api.Vault, query: str) -> list[str]:
    return [hit.path for hit in api.search(v, query)]


def test_update_index_second_run_parses_nothing(opened: api.Vault) -> None:
    first = api.update_index(opened)
    assert (first.parsed, first.removed, first.total) == (3, 0, 5)  # + index.md and log.md
    second = api.update_index(opened)
    assert (second.parsed, second.removed, second.total) == (0, 0, 5)


def test_update_index_edit_parses_only_that_page(opened: api.Vault) -> None:
    api.update_index(opened)
    page = opened.root / "wiki/Beta.md"
    page.write_text(PAGES["wiki/Beta.md"].replace("pulsars", "magnetars, not pulsars"))
    stats = api.update_index(opened)
    assert (stats.parsed, stats.removed, stats.total) == (1, 0, 5)
    assert paths_for(opened, "magnetars") == ["wiki/Beta.md"]


def test_update_index_same_size_edit_detected(opened: api.Vault) -> None:
    api.update_index(opened)
    page = opened.root / "wiki/Alpha.md"
    text = PAGES["wiki/Alpha.md"].replace("quasars", "blazars")
    assert len(text) == len(PAGES["wiki/Alpha.md"])
    page.write_text(text)
    st = page.stat()
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    stats = api.update_index(opened)
    assert stats.parsed == 1
    assert paths_for(opened, "blazars") == ["wiki/Alpha.md"]
    assert paths_for(opened, "quasars") == []


def test_update_index_unchanged_bytes_not_reparsed(opened: api.Vault) -> None:
    api.update_index(opened)
    page = opened.root / "wiki/Alpha.md"
    page.write_bytes(page.read_bytes())  # new mtime, same content hash
    st = page.stat()
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert api.update_index(opened).parsed == 0
    assert api.update_index(opened).parsed == 0


def test_update_index_deleted_page_leaves_search(opened: api.Vault, vw: Veriwiki) -> None:
    api.update_index(opened)
    assert paths_for(opened, "nebulae") == ["wiki/deep/Gamma.md"]
    (opened.root / "wiki/deep/Gamma.md").unlink()
    stats = api.update_index(opened)
    assert (stats.parsed, stats.removed, stats.total) == (0, 1, 4)
    assert paths_for(opened, "nebulae") == []
    assert vw.json("search", "nebulae") == []


def test_update_index_new_page_found_by_cli(opened: api.Vault, vw: Veriwiki) -> None:
    api.update_index(opened)
    write(opened.root, "wiki/Delta.md", "# Delta\n\nDelta talks about exoplanets.\n")
    hits = vw.json("search", "exoplanets")
    assert [h["path"] for h in hits] == ["wiki/Delta.md"]
    assert api.update_index(opened).parsed == 0  # the CLI already indexed it


def test_index_rebuild_reparses_everything(pages: Path, vw: Veriwiki) -> None:
    assert vw.json("index")["parsed"] == 3
    out = vw.json("index", "--rebuild")
    assert out == {"parsed": 5, "removed": 0, "total": 5, "rebuilt": True}
    assert vw.json("index")["parsed"] == 0
    assert [h["path"] for h in vw.json("search", "quasars")] == ["wiki/Alpha.md"]


def test_index_missing_state_dir_recreated(pages: Path, vw: Veriwiki, git: Git) -> None:
    vw.json("index")
    shutil.rmtree(pages / ".veriwiki")
    assert [h["path"] for h in vw.json("search", "pulsars")] == ["wiki/Beta.md"]
    assert (pages / ".veriwiki/index.db").is_file()
    assert not any(".veriwiki" in line for line in git.status(pages))


def _corrupt(db: Path) -> None:
    db.write_bytes(b"this is not a database\x00" * 200)


def _stale(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE meta SET value='0' WHERE key='schema'")
    conn.close()


def test_update_index_corrupt_db_rebuilt_with_notice_api(pages: Path) -> None:
    v = api.open_vault(pages)
    api.update_index(v)
    v.close()
    _corrupt(pages / ".veriwiki/index.db")
    v = api.open_vault(pages)
    try:
        stats = api.update_index(v)
        assert (stats.parsed, stats.total) == (5, 5)
        assert stats.notice and "rebuilt" in stats.notice
        assert paths_for(v, "quasars") == ["wiki/Alpha.md"]
    finally:
        v.close()


@pytest.mark.parametrize("damage", [_corrupt, _stale], ids=["corrupt", "stale-schema"])
def test_index_damaged_db_rebuilt_with_one_line_notice(pages: Path, vw: Veriwiki,
                                                       damage) -> None:
    assert vw.json("index")["total"] == 5
    damage(pages / ".veriwiki/index.db")
    proc = vw("search", "quasars", "--json")
    assert proc.returncode == 0, describe(proc)
    assert '"wiki/Alpha.md"' in proc.stdout
    notes = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(notes) == 1, f"expected one notice line on stderr, got: {proc.stderr!r}"
    assert "index" in notes[0] and "rebuilt" in notes[0]
    assert "Traceback" not in proc.stderr
    # the repaired index is used from now on, silently
    again = vw("search", "pulsars", "--json")
    assert again.returncode == 0 and again.stderr.strip() == "", describe(again)
