"""``read_page_text``: what a command reads from the vault, and what it refuses.

The common case opens the file without following a final symlink and asks /proc where
the open file is; a final symlink takes the slower ``realpath`` walk. Both must refuse
the same things."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from veriwiki.adapters.fs import read_page_text
from veriwiki.errors import InputError


@pytest.fixture()
def layout(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "vault"
    outside = tmp_path / "outside"
    (root / "wiki" / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "wiki" / "a.md").write_text("# A\n", encoding="utf-8")
    (root / "wiki" / "sub" / "b.md").write_text("# B\n", encoding="utf-8")
    (outside / "secret.md").write_text("# secret\n", encoding="utf-8")
    return root, outside


def test_plain_pages_read(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    assert read_page_text(root, "wiki/a.md", 1000) == "# A\n"
    assert read_page_text(root, "wiki/sub/b.md", 1000) == "# B\n"


def test_symlink_inside_the_vault_reads(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    (root / "wiki" / "link.md").symlink_to(root / "wiki" / "sub" / "b.md")
    (root / "wiki" / "alias").symlink_to(root / "wiki" / "sub")
    assert read_page_text(root, "wiki/link.md", 1000) == "# B\n"
    assert read_page_text(root, "wiki/alias/b.md", 1000) == "# B\n"


@pytest.mark.parametrize("how", ["file", "folder", "dotdot", "chain"])
def test_ways_out_of_the_vault_are_refused(layout: tuple[Path, Path], how: str) -> None:
    root, outside = layout
    if how == "file":
        (root / "wiki" / "x.md").symlink_to(outside / "secret.md")
        rel = "wiki/x.md"
    elif how == "folder":  # the last part is a plain file: only /proc can tell
        (root / "wiki" / "out").symlink_to(outside)
        rel = "wiki/out/secret.md"
    elif how == "dotdot":
        rel = "wiki/../../outside/secret.md"
    else:  # a link inside the vault to a link out of it
        (root / "wiki" / "hop.md").symlink_to(outside / "secret.md")
        (root / "wiki" / "x.md").symlink_to(root / "wiki" / "hop.md")
        rel = "wiki/x.md"
    with pytest.raises(InputError, match="outside the vault"):
        read_page_text(root, rel, 1000)


def test_the_vault_reached_through_a_symlinked_root_reads(layout: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    root, _ = layout
    alias = tmp_path / "alias-root"
    alias.symlink_to(root)
    assert read_page_text(alias, "wiki/a.md", 1000) == "# A\n"


def test_missing_folder_and_fifo_get_clear_errors(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    with pytest.raises(InputError, match="does not exist"):
        read_page_text(root, "wiki/none.md", 1000)
    (root / "wiki" / "dir.md").mkdir()
    with pytest.raises(InputError, match="folder"):
        read_page_text(root, "wiki/dir.md", 1000)
    os.mkfifo(root / "wiki" / "pipe.md")
    done: list[BaseException] = []

    def read() -> None:
        try:
            read_page_text(root, "wiki/pipe.md", 1000)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            done.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert done and isinstance(done[0], InputError)
    assert "regular file" in str(done[0])


def test_size_limit_and_bad_bytes_still_reported(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    (root / "wiki" / "big.md").write_bytes(b"x" * 2000)
    with pytest.raises(InputError, match="limit"):
        read_page_text(root, "wiki/big.md", 1000)
    (root / "wiki" / "bin.md").write_bytes(b"ab\0cd")
    with pytest.raises(InputError, match="NUL"):
        read_page_text(root, "wiki/bin.md", 1000)
