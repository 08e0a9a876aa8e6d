"""The change watch: the MCP server refreshes the index on file events, not by a scan
before every search."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client

from conftest import Veriwiki
from helpers_mcp import data
from veriwiki.adapters.watch import ChangeWatch


def _settle() -> None:
    time.sleep(0.4)  # events arrive on the watch thread


def _no_inotify() -> None:
    """Linux always has inotify, so there a watch that is not active is a failure (the
    app and the MCP server would fall back to scans unnoticed); elsewhere it is skipped."""
    if sys.platform.startswith("linux"):
        pytest.fail("the inotify watch did not start on Linux")
    pytest.skip("inotify is Linux-only")


def test_watch_flags_writes_new_folders_and_skips_git(tmp_path: Path) -> None:
    (tmp_path / "wiki").mkdir()
    (tmp_path / ".git").mkdir()
    watch = ChangeWatch(tmp_path)
    try:
        if not watch.active:
            _no_inotify()
        assert watch.take_changed() is True  # the first question always refreshes
        assert watch.take_changed() is False
        (tmp_path / "wiki" / "a.md").write_text("x")
        _settle()
        assert watch.take_changed() is True and watch.take_changed() is False
        (tmp_path / "wiki" / "sub").mkdir()
        _settle()
        watch.take_changed()
        (tmp_path / "wiki" / "sub" / "b.md").write_text("y")
        _settle()
        assert watch.take_changed() is True
        (tmp_path / ".git" / "index").write_text("z")
        _settle()
        assert watch.take_changed() is False
    finally:
        watch.close()
    assert watch.take_changed() is True  # closed: every question says changed


def test_mcp_search_scans_only_after_a_file_event(vault: Path, vw: Veriwiki,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in vw.env.items():
        if key.startswith("GIT_") or key == "HOME":
            monkeypatch.setenv(key, value)
    import veriwiki.services.indexing as indexing
    from veriwiki.mcp_server.server import build_server
    from veriwiki.vault import open_vault

    scans: list[int] = []
    real = indexing.update_index
    monkeypatch.setattr(indexing, "update_index",
                        lambda v, rebuild=False: scans.append(1) or real(v, rebuild))
    server, worker = build_server(open_vault(vault))
    if not worker.watch.active:
        worker.close()
        _no_inotify()

    async def main() -> list[list[str]]:
        titles = []
        async with Client(server) as client:
            for step in range(3):
                if step == 2:
                    (vault / "wiki" / "Zebra notes.md").write_text("# Zebra notes\n\nStripes.\n")
                    await anyio.sleep(0.4)
                hits = data(await client.call_tool("search", {"query": "zebra stripes"}))
                titles.append([h["title"] for h in hits["hits"]])
        return titles

    try:
        titles = anyio.run(main)
    finally:
        worker.close()
    assert titles == [[], [], ["Zebra notes"]]
    assert len(scans) == 2  # the first search and the one after the file appeared
