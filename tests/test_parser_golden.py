"""Golden tests for the markdown dialect: markdown in, parsed structure out.

The expected JSON next to each fixture was checked by hand against docs/links.md;
regenerate it only after reviewing the difference line by line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from veriwiki.core.parse import parse_page

FIXTURES = Path(__file__).parent / "fixtures" / "parser"


def _structure(path: str, text: str, *, for_index: bool) -> dict[str, Any]:
    p = parse_page(path, text, for_index=for_index)
    return {
        "title": p.title, "aliases": list(p.aliases), "tags": list(p.tags), "type": p.type,
        "headings": [[h.level, h.text, h.line] for h in p.headings],
        "links": [[x.kind, x.target, x.fragment, x.label, x.line, x.column] for x in p.links],
        "block_ids": [list(b) for b in p.block_ids],
        "code_blocks": [[c.info, c.line] for c in p.code_blocks],
        "footnote_refs": [list(r) for r in p.footnote_refs],
        "footnote_defs": list(p.footnote_defs),
        "summary": p.summary,
    }


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.md")))
@pytest.mark.parametrize("for_index", [True, False], ids=["index-parser", "full-parser"])
def test_parse_page_matches_golden(name: str, for_index: bool) -> None:
    text = (FIXTURES / f"{name}.md").read_text("utf-8")
    expected = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    got = _structure(f"wiki/{name}.md", text, for_index=for_index)
    assert got == expected


def test_parse_page_crlf_and_bom_same_as_lf() -> None:
    text = (FIXTURES / "dialect.md").read_text("utf-8")
    lf = _structure("wiki/d.md", text, for_index=True)
    crlf = _structure("wiki/d.md", "\ufeff" + text.replace("\n", "\r\n"), for_index=True)
    assert crlf == lf


def test_parse_page_invalid_yaml_keeps_body_links() -> None:
    text = "---\ntitle: [unclosed\n---\nBody with [[Link]].\n"
    page = parse_page("wiki/x.md", text)
    assert page.frontmatter_error is not None
    assert (page.frontmatter_error.line, page.frontmatter_error.column) == (3, 1)
    assert [x.target for x in page.links] == ["Link"]
    assert page.title == "x"


def test_parse_page_impossible_date_is_text_not_crash() -> None:
    page = parse_page("wiki/x.md", "---\nreviewed: 2024-13-01\n---\n")
    assert page.frontmatter == {"reviewed": "2024-13-01"}
    assert page.frontmatter_error is None
