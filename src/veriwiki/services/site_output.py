"""Writing the site's files: only when their bytes change, atomically."""

from __future__ import annotations

import filecmp
import os
from collections.abc import Iterable
from pathlib import Path


class Output:
    """Writes files under the output folder only when their bytes change."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.produced: set[str] = set()
        self.written = 0

    def write(self, rel: str, data: str | bytes) -> None:
        blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        self.produced.add(rel)
        target = self.out / rel
        try:
            if target.stat().st_size == len(blob) and target.read_bytes() == blob:
                return
        except OSError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, target)
        self.written += 1

    def write_chunks(self, rel: str, chunks: Iterable[str]) -> None:
        """Like :meth:`write` for a document produced piece by piece (a report with
        hundreds of thousands of rows is never held whole in memory)."""
        self.produced.add(rel)
        target = self.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("w", encoding="utf-8", errors="surrogatepass", newline="") as fh:
            for chunk in chunks:
                fh.write(chunk)
        try:
            if filecmp.cmp(tmp, target, shallow=False):
                tmp.unlink()
                return
        except OSError:
            pass
        os.replace(tmp, target)
        self.written += 1

    def keep(self, rel: str) -> None:
        """Count ``rel`` as produced without writing it (unchanged since the last build)."""
        self.produced.add(rel)
