"""HTML anchors outside headings (``<a id="x"></a>``) are link targets: kept by the
parse, the page record, the index's names, and the stored resolver tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Veriwiki, describe
from veriwiki.core.model import Link
from veriwiki.core.parse import parse_page
from veriwiki.core.records import page_from_json, page_to_json
from veriwiki.core.resolve import PageNames, Resolver
from veriwiki.services import resolver_tables

TEXT = ('# Guide\n\n<a id="top"></a>\nIntro <a name="mid" href="#x">m</a> and `<a id="no">`.\n\n'
        '## <a name="in-heading"></a> Usage\n\n    <a id="indented-code"></a>\n\n'
        '```\n<a id="fenced"></a>\n```\n\n<A ID=\'Upper\'></A> <a id="top"></a>\n')


def test_parse_keeps_anchors_outside_headings_and_code_once_each() -> None:
    page = parse_page("wiki/Guide.md", TEXT)
    assert page.anchors == ("top", "mid", "Upper")
    assert page_from_json(page.path, page_to_json(page)).anchors == page.anchors
    plain = parse_page("wiki/Plain.md", "# Plain\n\nNo anchors.\n")
    assert plain.anchors == () and '"an"' not in page_to_json(plain)


def test_names_column_keeps_three_lists_without_anchors() -> None:
    bare = PageNames("wiki/A.md", "A", ("a",), ("H",), ("b1",))
    assert json.loads(bare.names_json()) == [["a"], ["H"], ["b1"]]
    assert PageNames.from_json("wiki/A.md", "A", bare.names_json()) == bare
    full = PageNames("wiki/A.md", "A", (), ("H",), (), ("top", "mid"))
    assert json.loads(full.names_json()) == [[], ["H"], [], ["top", "mid"]]
    assert PageNames.from_json("wiki/A.md", "A", full.names_json()) == full
    with pytest.raises(ValueError):
        PageNames.from_json("wiki/A.md", "A", "[[], [], [], [], []]")


def test_stored_resolver_tables_keep_anchors() -> None:
    for names in (PageNames("wiki/A.md", "A", (), (), (), ("top",)),
                  PageNames("wiki/B.md", "B", (), (), ())):  # empty lists: no fifth
        raw = resolver_tables.encode("names", names)
        assert resolver_tables.value_of("pages", names.path, raw) == names
    assert json.loads(resolver_tables.encode("names", PageNames("p", "t", (), (), ()))) == [
        "t", [], [], []]


def test_markdown_link_to_an_anchor_resolves_a_wikilink_fragment_does_not() -> None:
    res = Resolver([PageNames("wiki/Guide.md", "Guide", (), ("Guide",), (), ("top",))])
    md = Link("markdown", "", "top", None, "[t](#top)", 3, 1)
    assert res.resolve(md, "wiki/Guide.md").status == "ok"
    wiki = Link("wikilink", "Guide", "top", None, "[[Guide#top]]", 3, 1)
    assert res.resolve(wiki, "wiki/Guide.md").status == "broken"


def test_site_renders_the_anchors_a_link_lands_on(vw: Veriwiki, vault: Path) -> None:
    (vault / "wiki" / "Porting.md").write_text(
        '# Porting\n\nSee [variant 2](#variant-2) and [inline](#inl).\n\n<a id="variant-2"></a>\n'
        '## Variant 2\n\nText with <a name="inl"></a> an inline anchor, and '
        '<a id=\'x"><script>alert(1)</script>\'></a> a hostile one.\n\n'
        '#### <a name="opts"></a> Options\n', encoding="utf-8")
    proc = vw("build", "--json")
    assert proc.returncode == 0, describe(proc)
    html = (vault / "site" / "wiki" / "Porting.html").read_text(encoding="utf-8")
    assert '<span id="variant-2"></span>' in html and '<span id="inl"></span>' in html
    assert '<span id="opts"></span>' in html  # the heading's own anchor too
    assert 'href="#variant-2"' in html and "broken-link" not in html.split("page-body")[1]
    assert "<script>alert(1)" not in html
