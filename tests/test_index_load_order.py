"""``load_pages_blobs`` for given paths: batched queries, the order asked, duplicates
kept and missing paths left out (the check's chunks depend on that order)."""

from __future__ import annotations

import random
from pathlib import Path

from veriwiki.adapters.sqlite_index import SqliteIndex


def test_pages_come_back_in_the_order_asked(tmp_path: Path) -> None:
    wiki = tmp_path / "wiki"
    wiki.mkdir()
    for i in range(1100):  # more than two batches
        (wiki / f"P{i}.md").write_text(f"# Page {i}\n\nSee [[P{(i + 1) % 1100}]].\n",
                                       encoding="utf-8")
    index = SqliteIndex(tmp_path, tmp_path / "index.db", "wiki", 1_000_000)
    try:
        index.update()
        paths = [f"wiki/P{i}.md" for i in range(1100)]
        random.Random(7).shuffle(paths)
        asked = paths[:700] + ["wiki/none.md"] + paths[:3] + paths[700:]
        got = index.load_pages_blobs(asked)
        expected = [p for p in asked if p != "wiki/none.md"]
        assert [page.path for page, _ in got] == expected
        for page, blob in got[:5]:
            n = int(page.path[len("wiki/P"):-3])
            assert page.headings[0].text == f"Page {n}" and len(blob) == 40
            assert [link.target for link in page.links] == [f"P{(n + 1) % 1100}"]
        assert index.load_pages_blobs([]) == []
    finally:
        index.close()
