"""Links on site pages: a link's view is remembered for the build (``PageContext.link``)
by the link as written and the folders it depends on; the pages rendered with the memo
warm equal the pages rendered each with an empty memo, and a relative link or an empty
target still leads where it should from each page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veriwiki.services import site_pages
from veriwiki.services.site import collect_site
from veriwiki.services.site_model import rel_url
from veriwiki.vault import open_vault

BODY = """---
title: P in {folder}
---
# Intro

Self [[#Intro]] and [me](.md) and [top](#intro); sibling [sib](Q.md) and [[Q]] and
[[Q in b#Sec|the section]]; the other folder [other](../{other}/Q.md); ![[Q in a#Sec]];
a file [f](f.txt) and a missing [[Nowhere]]; {{{{x.y}}}} #tag [@nosuch, "q"].
"""


@pytest.fixture
def linked_vault(vault: Path, monkeypatch: pytest.MonkeyPatch, vw: object) -> Path:
    monkeypatch.setenv("HOME", vw.env["HOME"])  # type: ignore[attr-defined]
    for folder, other in (("a", "b"), ("b", "a"), ("a/deep", "../b")):
        d = vault / "wiki" / folder
        d.mkdir(parents=True, exist_ok=True)
        (d / "P.md").write_text(BODY.format(folder=folder, other=other), encoding="utf-8")
        (d / "Q.md").write_text(f"---\ntitle: Q in {folder}\n---\n# Q\n\n## Sec\n\nText.\n",
                                encoding="utf-8")
        (d / "f.txt").write_text("a file\n", encoding="utf-8")
    return vault


def test_link_views_remembered_give_the_pages_rendered_without_them(linked_vault: Path) -> None:
    model = collect_site(open_vault(linked_vault))
    paths = sorted(model.pages)
    warm = {p: site_pages.render_page(model, p) for p in paths}
    assert model.link_views  # the memo was used
    assert all(key[1].strip(" #") and key[1] != ".md" for key in model.link_views)
    for p in paths:
        model.link_views.clear()
        model.embed_cache.clear()
        assert site_pages.render_page(model, p) == warm[p], p
    a, b = warm["wiki/a/P.md"], warm["wiki/b/P.md"]
    assert 'href="Q.html" title="Q in a"' in a and 'href="Q.html" title="Q in b"' in b
    assert 'href="../b/Q.html" title="Q in b"' in a and 'href="../a/Q.html" title="Q in a"' in b
    deep = warm["wiki/a/deep/P.md"]
    assert 'href="Q.html" title="Q in a/deep"' in deep
    assert 'href="../../b/Q.html" title="Q in b"' in deep
    for page, folder in ((a, "a"), (b, "b"), (deep, "a/deep")):
        # [[#Intro]] and [me](.md): this very page, whichever page it is
        assert f'href="P.html#intro" title="P in {folder}">#Intro</a>' in page
        assert f'href="P.html" title="P in {folder}">me</a>' in page
    assert 'href="../../b/Q.html#sec" title="Q in b">the section</a>' in deep
    assert 'href="../b/Q.html#sec" title="Q in b">the section</a>' in a
    assert 'data-embed="Q in a"' in b and 'class="embed-title internal" href="../a/Q.html#sec"' in b


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=10), st.booleans())
def test_rel_url_percent_encodes_as_urllib_quote(src: str, dst: str, frag: str,
                                                 has_frag: bool) -> None:
    to = dst + ("#" + frag if has_frag else "")
    got = rel_url("wiki/" + src.replace("#", ""), to)
    ref_frag = ""
    path = to
    if "#" in to:
        path, rest = to.split("#", 1)
        ref_frag = "#" + quote(rest, safe="^-_.~")
    source = ("wiki/" + src.replace("#", "")).split("/")[:-1]
    target = path.split("/")
    common = 0
    while common < len(source) and common < len(target) - 1 and \
            source[common] == target[common]:
        common += 1
    rel = "/".join([".."] * (len(source) - common) + target[common:])
    assert got == quote(rel, safe="/-_.~") + ref_frag
