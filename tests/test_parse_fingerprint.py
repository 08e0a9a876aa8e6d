"""What the parser stores in the index is pinned to the index's schema version.

The index keeps each page's parse result until the page's bytes change; a parser that
now reads a page differently must make every index rebuild, which a new
``SCHEMA_VERSION`` does (and the check cache, whose key covers that module, follows).
This test fails when the stored parse results of the repository's pages change while
the version stays: bump ``SCHEMA_VERSION`` in ``adapters/index_light.py`` and record
the new fingerprint below.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from veriwiki.adapters.index_light import SCHEMA_VERSION
from veriwiki.adapters.sqlite_index.write import _page_row
from veriwiki.core.parse import parse_page

ROOT = Path(__file__).parent.parent
FINGERPRINTS = {
    "12": "35ad6554d32302e16fd6a944c2b92a061f10100b5992c6210ac0c4de752af652",
}


def _fingerprint() -> str:
    h = hashlib.sha256()
    pages = sorted([*(ROOT / "tests" / "fixtures").rglob("*.md"), *(ROOT / "examples").rglob("*.md")])
    assert len(pages) > 50
    for page in pages:
        rel = page.relative_to(ROOT).as_posix()
        text = page.read_bytes().decode("utf-8", errors="replace")
        row = _page_row(parse_page(rel, text))
        stored = (row.title, row.type, row.summary, row.names, row.data, row.link_keys,
                  row.link_lines, list(row.tags), row.name_keys, row.aliases, row.headings,
                  row.body)  # the values the index keeps, whatever the row's layout
        h.update(repr(stored).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def test_parse_results_match_the_schema_version() -> None:
    got = _fingerprint()
    assert FINGERPRINTS.get(SCHEMA_VERSION) == got, (
        f"the parser's stored results changed (fingerprint {got}) under index schema "
        f"{SCHEMA_VERSION}: bump SCHEMA_VERSION in src/veriwiki/adapters/index_light.py "
        "so every index rebuilds, and record the fingerprint in this test")


def test_the_check_cache_key_covers_the_schema_version() -> None:
    """Findings cached from an old index's rows must not outlive its schema."""
    import veriwiki
    import veriwiki.adapters.index_light as light
    from veriwiki.services.check_reuse import CHECK_CODE

    rel = Path(light.__file__).relative_to(Path(veriwiki.__file__).parent).as_posix()
    assert any(rel == part or rel.startswith(part + "/") for part in CHECK_CODE)
