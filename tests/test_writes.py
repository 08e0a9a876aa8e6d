"""adapters/writes.py on real files: the guard every vault write passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from veriwiki.adapters.writes import atomic_write, check_write_path, create_files, remove_file
from veriwiki.errors import UnsafePathError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = (tmp_path / "vault").resolve()
    folder.mkdir()
    return folder


def test_atomic_write_refuses_git_folder_and_outside(root: Path) -> None:
    for target, why in ((root / ".git" / "config", "inside a .git folder"),
                        (root / ".GIT" / "hooks" / "x", "inside a .git folder"),
                        (root / "wiki" / ".." / ".." / "escape.md", "outside the vault")):
        with pytest.raises(UnsafePathError, match=why):
            atomic_write(target, b"x", root=root)
    assert not (root.parent / "escape.md").exists() and not (root / ".git").exists()


def test_atomic_write_keeps_the_mode_of_an_existing_file(root: Path) -> None:
    page = root / "wiki" / "P.md"
    atomic_write(page, b"one", root=root)
    page.chmod(0o640)
    atomic_write(page, b"two", root=root)
    assert page.read_bytes() == b"two" and page.stat().st_mode & 0o777 == 0o640


def test_remove_file_removes_a_link_not_its_target(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.md"
    target.write_text("keep me")
    (root / "wiki").mkdir()
    os.symlink(target, root / "wiki" / "L.md")
    check_write_path(root, root / "wiki" / "L.md", deleting=True)
    with pytest.raises(UnsafePathError, match="wiki/L.md is a symbolic link"):
        check_write_path(root, root / "wiki" / "L.md")
    assert remove_file(root / "wiki" / "L.md", root=root, prune=True)
    assert target.read_text() == "keep me" and not (root / "wiki").exists()
    assert remove_file(root / "gone" / "x.md", root=root) is False


def test_remove_file_refuses_a_linked_folder(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.md").write_text("keep me")
    os.symlink(outside, root / "wiki")
    with pytest.raises(UnsafePathError, match="wiki is a symbolic link"):
        remove_file(root / "wiki" / "victim.md", root=root)
    assert (outside / "victim.md").read_text() == "keep me"


def test_create_files_recreates_links_and_never_writes_below_them(root: Path,
                                                                   tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    create_files(root, [("wiki/A.md", b"# A\n", "100644"), ("run.sh", b"#!/bin/sh\n", "100755"),
                        ("wiki/out", str(outside).encode(), "120000")])
    assert (root / "wiki" / "A.md").read_bytes() == b"# A\n"
    assert os.access(root / "run.sh", os.X_OK) and (root / "wiki" / "out").is_symlink()
    with pytest.raises(UnsafePathError, match="wiki/out is a symbolic link"):
        create_files(root, [("wiki/out/B.md", b"# B\n", "100644")])
    assert os.listdir(outside) == []
