"""The resolver remembers where a wikilink leads; the answer must be the one it would
give without remembering, from any page, and a page added afterwards must count."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from veriwiki.core.model import Link
from veriwiki.core.resolve import PageNames, Resolver

PAGES = [
    PageNames("wiki/a.md", "Alpha", ("First",), ("Intro", "Results"), ("b1",)),
    PageNames("wiki/sub/a.md", "Alpha two", (), ("Intro",), ()),
    PageNames("wiki/sub/beta.md", "Beta", ("B",), (), ("x-1",)),
    PageNames("wiki/gamma.md", "Gamma", (), ("Results",), ()),
]
ATTACH = ["wiki/img/pic.png", "raw/doc.pdf"]
TARGETS = ["a", "sub/a", "beta", "B", "First", "gamma", "nothing", "pic.png", "doc.pdf",
           "wiki/a", "  ", "", "Alpha", "sub/beta.md"]
FRAGMENTS = [None, "Intro", "Results", "^b1", "^x-1", "^nope", "Missing"]
SOURCES = ["wiki/a.md", "wiki/sub/beta.md", "wiki/gamma.md", "wiki/new.md"]


def _link(kind: str, target: str, fragment: str | None) -> Link:
    raw = f"[[{target}{'#' + fragment if fragment else ''}]]"
    return Link(kind, target, fragment, None, raw, 1, 1)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["wikilink", "embed", "markdown", "image"]),
                          st.sampled_from(TARGETS), st.sampled_from(FRAGMENTS),
                          st.sampled_from(SOURCES)), min_size=1, max_size=30))
def test_remembered_answers_equal_fresh_ones(calls: list[tuple[str, str, str | None, str]]
                                             ) -> None:
    kept = Resolver(PAGES, ATTACH)
    for kind, target, fragment, source in calls:
        link = _link(kind, target, fragment)
        fresh = Resolver(PAGES, ATTACH).resolve(link, source)
        assert kept.resolve(link, source) == fresh


def test_a_page_added_after_a_broken_answer_is_found() -> None:
    resolver = Resolver(PAGES, ATTACH)
    link = _link("wikilink", "Delta", None)
    assert resolver.resolve(link, "wiki/a.md").status == "broken"
    resolver.add_page(PageNames("wiki/delta.md", "Delta", (), (), ()))
    got = resolver.resolve(link, "wiki/a.md")
    assert got.status == "ok" and got.path == "wiki/delta.md"


def test_an_empty_target_still_means_the_page_it_is_written_in() -> None:
    resolver = Resolver(PAGES, ATTACH)
    for source in ("wiki/a.md", "wiki/gamma.md"):
        got = resolver.resolve(_link("wikilink", " ", "Results"), source)
        assert got.path == source
