"""A scan that finds a few changed files updates only their rows (``update()`` without
paths hands the changed paths to the path-limited update): after every kind of outside
change, the index equals one rebuilt from the files and the manifest a fresh scan."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Git
from test_write_fast import assert_like_a_rebuild, committed, found
from test_write_fast import quick as quick  # the spy on path-limited updates
from veriwiki import api
from veriwiki.vault import Vault


@pytest.fixture
def opened(vault: Path, git: Git) -> Iterator[Vault]:
    v = committed(vault, git)
    yield v
    v.close()


def test_an_edit_found_by_the_scan_takes_the_quick_path(opened: Vault, tmp_path: Path,
                                                        quick: list[bool]) -> None:
    (opened.root / "wiki/Beta.md").write_text("# Beta\n\nBeta is about magnetars. [[Alpha]]\n")
    stats = api.update_index(opened)
    assert (stats.parsed, stats.removed) == (1, 0)
    assert quick == [True]
    assert found(opened, "magnetars") == ["wiki/Beta.md"]
    assert_like_a_rebuild(opened, tmp_path)


def test_added_removed_and_attachment_changes(opened: Vault, tmp_path: Path,
                                              quick: list[bool]) -> None:
    root = opened.root
    (root / "wiki/deep/Epsilon.md").write_text("# Epsilon\n\nEpsilon is about quasars.\n")
    (root / "wiki/deep/Delta.md").unlink()
    (root / "wiki/pic.png").unlink()
    (root / "wiki/new.png").write_bytes(b"png")
    stats = api.update_index(opened)
    assert (stats.parsed, stats.removed) == (1, 1)
    assert quick == [True]
    assert sorted(found(opened, "quasars")) == ["wiki/Alpha.md", "wiki/deep/Epsilon.md"]
    assert found(opened, "comets") == []
    assert_like_a_rebuild(opened, tmp_path)
    # and a second round on the patched manifest
    (root / "wiki/Alpha.md").write_text("# Alpha\n\nAlpha is about [[Epsilon]].\n")
    api.update_index(opened)
    assert quick[-1] is True
    assert_like_a_rebuild(opened, tmp_path)


def test_a_new_folder_or_a_link_falls_back_to_the_full_update(
        opened: Vault, tmp_path: Path, quick: list[bool]) -> None:
    root = opened.root
    (root / "wiki/zoo").mkdir()
    (root / "wiki/zoo/Okapi.md").write_text("# Okapi\n\nAn okapi.\n")
    api.update_index(opened)
    assert quick == []  # a folder the manifest does not list: not even tried
    assert found(opened, "okapi") == ["wiki/zoo/Okapi.md"]
    assert_like_a_rebuild(opened, tmp_path)
    os.symlink(root / "wiki/Beta.md", root / "wiki/Linked.md")
    api.update_index(opened)
    assert not any(quick)
    assert_like_a_rebuild(opened, tmp_path)


def test_a_folder_that_becomes_a_site_is_dropped(opened: Vault, tmp_path: Path,
                                                 quick: list[bool]) -> None:
    """The scan skips a folder holding a built site's mark; the quick update, which
    looks only at paths, must not bring its pages back."""
    (opened.root / "wiki/deep/.veriwiki-site.json").write_text("{}")
    api.update_index(opened)
    assert not any(quick)
    assert found(opened, "comets") == []
    assert_like_a_rebuild(opened, tmp_path)


def test_many_changes_take_the_full_update(opened: Vault, tmp_path: Path,
                                           quick: list[bool]) -> None:
    for i in range(300):
        (opened.root / f"wiki/deep/P{i}.md").write_text(f"# P{i}\n\nPage {i} of many.\n")
    stats = api.update_index(opened)
    assert stats.parsed == 300
    assert quick == []  # more than PATHS_LIMIT: not even tried
    assert_like_a_rebuild(opened, tmp_path)
