"""The index reads each page whole, whatever its size did since the scan listed it."""

from __future__ import annotations

from pathlib import Path

from veriwiki.adapters.sqlite_index.write import _parse_one, _read
from veriwiki.core.model import FileProblem


def test_a_file_read_whole_when_it_grew_shrank_or_kept_its_size(tmp_path: Path) -> None:
    page = tmp_path / "a.md"
    data = b"x" * 3_000_000 + b"end"
    page.write_bytes(data)
    for listed in (0, 10, len(data) - 1, len(data), len(data) + 5, 5_000_000):
        assert _read(str(page), listed) == data
    page.write_bytes(b"")
    assert _read(str(page), 100) == b""


def test_an_unreadable_page_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "wiki" / "dir.md").mkdir(parents=True)
    got = _parse_one((str(tmp_path), "wiki/dir.md", 10, 0, 1 << 20, "", False))
    assert isinstance(got[4], FileProblem) and got[4].kind == "unreadable"
    (tmp_path / "wiki" / "p.md").write_text("# P\n\nBody.\n", encoding="utf-8")
    row = _parse_one((str(tmp_path), "wiki/p.md", 3, 0, 1 << 20, "", False))[4]
    assert not isinstance(row, FileProblem) and row is not None and row.title == "p"
