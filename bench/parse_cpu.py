"""CPU seconds of the index parse alone: ``parse_page`` and the stored row of every page
of a corpus, in one process, as the cold index's parse workers do it.

Usage::

    PYTHONPATH=SNAPSHOT/src python bench/parse_cpu.py CORPUS [--repeat N]

The files are read and decoded before the clock starts, so what is timed is the parse
(``time.process_time``: user and system CPU of this process). Run old and new code in
turns, each from a frozen snapshot (``git archive COMMIT src | tar -x -C DIR``) on
``PYTHONPATH``, in the same minutes: the machine is shared and its load moves the
figures. Not run in CI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="a vault folder (its .md files are parsed)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds over every page")
    args = ap.parse_args()

    from veriwiki.adapters.sqlite_index.write import _page_row
    from veriwiki.core.parse import parse_page

    pages = []
    for folder, dirs, files in os.walk(args.corpus):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".md"):
                path = Path(folder) / name
                text = path.read_bytes().decode("utf-8", errors="replace")
                pages.append((path.relative_to(args.corpus).as_posix(), text))
    if not pages:
        print(f"{args.corpus}: no .md file", file=sys.stderr)
        return 1
    parse_page("warm.md", "# a\n\ntext [a](b.md) [[c]]\n")  # imports and parser built
    import veriwiki

    for _ in range(args.repeat):
        start = time.process_time()
        for rel, text in pages:
            _page_row(parse_page(rel, text))
        print(f"{Path(veriwiki.__file__).parent.parent} {len(pages)} pages "
              f"{time.process_time() - start:.2f} s CPU", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
