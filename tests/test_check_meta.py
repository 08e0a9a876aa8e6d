"""The check cache's first pass reads what each page cites and whether it holds check
blocks straight from the stored record (``_Meta.of_record``), without building the
page; it must say what the parsed page says."""

from __future__ import annotations

from pathlib import Path

from veriwiki.checks.context import has_check_blocks
from veriwiki.core.model import Page
from veriwiki.core.parse import parse_page
from veriwiki.core.records import page_to_json
from veriwiki.services.check_reuse import _SEP, _SUB, _Meta

ROOT = Path(__file__).resolve().parent.parent
CORPORA = [ROOT / "tests" / "fixtures", ROOT / "examples",
           ROOT / "src" / "veriwiki" / "templates"]
EXTRA = {
    "versions.md": 'A [@a:v2, "x"] and [@a, "y"] and [@b:v1, "z"] and [@c]. [@a:v2, "w"]\n',
    "blocks.md": "```python check\nassert 1\n```\n\n```python\nx\n```\n\n"
                 "```  python   check  extra\npass\n```\n",
    "none.md": "# Nothing\n\nPlain text.\n",
    "odd.md": 'Odd id [@we\x1eird, "q"] here.\n',
}


def _reference(page: Page) -> tuple[bool, str, str, bool]:
    cites = [c for claim in page.claims for c in claim.citations]
    quoted = sorted({(c.source_id, c.version) for c in cites if c.quote},
                    key=lambda k: (k[0], k[1] or 0))
    cited = sorted({c.source_id for c in cites})
    return (has_check_blocks(page),
            _SEP.join(f"{sid}{_SUB}{'' if v is None else v}" for sid, v in quoted),
            _SEP.join(cited), not any(_SEP in s or _SUB in s for s in cited))


def _pages() -> list[Page]:
    pages = [parse_page(name, text) for name, text in EXTRA.items()]
    for corpus in CORPORA:
        for path in sorted(corpus.rglob("*.md")):
            text = path.read_text(encoding="utf-8", errors="replace")
            pages.append(parse_page(str(path.relative_to(ROOT)), text))
    return pages


def test_meta_from_the_record_equals_the_parsed_pages() -> None:
    pages = _pages()
    assert len(pages) > 50
    assert sum(bool(p.claims) for p in pages) > 10  # the corpora do cite
    assert any(has_check_blocks(p) for p in pages)
    for page in pages:
        meta = _Meta.of_record(page_to_json(page))
        assert (meta.blocks, meta.quoted, meta.cited, meta.ok) == _reference(page), page.path
