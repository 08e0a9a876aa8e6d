"""Writing the site's files: only when their bytes change, atomically, never through a link.

The output folder may hold what a repository committed (a ``site/`` with links in it);
every write and delete stays inside the folder and refuses a link on the way
(:func:`veriwiki.adapters.writes.check_write_path`), and names read back from an earlier
build's manifest must be plain relative paths.
"""

from __future__ import annotations

import filecmp
import os
import stat
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from veriwiki.adapters.writes import check_write_path, ensure_dir, remove_file
from veriwiki.errors import InputError


def safe_rel(rel: str) -> str:
    """``rel`` when it is a plain relative path inside the output folder, else an error."""
    pure = PurePosixPath(rel)
    if (not rel or pure.is_absolute() or "\\" in rel or "\0" in rel
            or any(part in ("", ".", "..") for part in rel.split("/"))):
        raise InputError(f"refusing the site file name {rel!r}: not a plain relative path",
                         hint="delete the output folder and build again")
    return rel


BUILDING = ".veriwiki-site.building"  # there while a build runs


def begin_build(out: Path) -> bool:
    """Mark ``out`` as being built. True when the build before this one stopped before
    it finished (its mark is still there): the files it wrote match no manifest, so
    nothing of the last build may be reused (the pages are rendered and every group
    made again, which costs time, never output)."""
    mark = out / BUILDING
    check_write_path(out, mark)
    if os.path.lexists(mark):
        return True
    os.close(os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    return False


def end_build(out: Path) -> None:
    """The build finished: its manifest names what it wrote."""
    remove_file(out / BUILDING, root=out)


class Output:
    """Writes files under the output folder only when their bytes change."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.produced: set[str] = set()
        self.written = 0
        self._dirs: set[Path] = set()

    def _target(self, rel: str) -> Path:
        """The path for ``rel``, its folders made as real folders; no link on the way."""
        target = self.out / safe_rel(rel)
        if target.parent not in self._dirs:
            ensure_dir(target.parent, self.out)
            if target.parent != self.out:
                check_write_path(self.out, target.parent)
            self._dirs.add(target.parent)
        # the folders on the way were checked when first written to in this build
        for item in (target, target.with_name(target.name + ".tmp")):
            try:
                if stat.S_ISLNK(os.lstat(item).st_mode):
                    check_write_path(self.out, item)  # raises, naming the link
            except FileNotFoundError:
                pass
        return target

    def write(self, rel: str, data: str | bytes) -> None:
        blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        self.produced.add(rel)
        target = self._target(rel)
        try:
            if target.stat().st_size == len(blob) and target.read_bytes() == blob:
                return
        except OSError:
            pass
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, target)
        self.written += 1

    def write_chunks(self, rel: str, chunks: Iterable[str | bytes], *,
                     changed: bool = False) -> None:
        """Like :meth:`write` for a document produced piece by piece (a report with
        hundreds of thousands of rows is never held whole in memory); text chunks are
        written as UTF-8, bytes as they are. With ``changed`` (the caller knows the
        bytes differ) the old file is replaced without comparing it first."""
        self.produced.add(rel)
        target = self._target(rel)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk if isinstance(chunk, bytes)
                         else chunk.encode("utf-8", "surrogatepass"))
        try:
            if not changed and filecmp.cmp(tmp, target, shallow=False):
                tmp.unlink()
                return
        except OSError:
            pass
        os.replace(tmp, target)
        self.written += 1

    def keep(self, rel: str) -> None:
        """Count ``rel`` as produced without writing it (unchanged since the last build)."""
        self.produced.add(rel)

    def remove(self, rel: str) -> bool:
        """Delete ``rel`` (a file an earlier build made) without following links."""
        return remove_file(self.out / safe_rel(rel), root=self.out)


def present_files(out: Path, rels: list[str]) -> set[str]:
    """Which of ``rels`` are files under ``out``: one listing per folder instead of a
    ``stat`` per file (10k pages)."""
    folders: dict[str, list[str]] = {}
    for rel in rels:
        if not isinstance(rel, str):
            continue
        folder, _, name = rel.rpartition("/")
        folders.setdefault(folder, []).append(name)
    found: set[str] = set()
    for folder, names in folders.items():
        try:
            with os.scandir(out / folder if folder else out) as entries:
                files = {e.name for e in entries if e.is_file()}
        except OSError:
            continue
        found.update(f"{folder}/{n}" if folder else n for n in names if n in files)
    return found
