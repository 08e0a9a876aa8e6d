"""Markdown files of the repository's corpora (fixtures, examples, template, docs), for
the differential tests that compare two readings of every page."""

from __future__ import annotations

from pathlib import Path


def corpus_files(*folders: Path) -> list[Path]:
    """Every ``*.md`` file under ``folders`` (outside ``.git``), in order."""
    out: list[Path] = []
    for folder in folders:
        out += sorted(p for p in folder.rglob("*.md") if ".git" not in p.parts)
    return out


def read_utf8(path: Path) -> str | None:
    """The file's text, or None when it is not UTF-8."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None
