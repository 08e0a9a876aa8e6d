"""One title per page: the body's own `# Title` folded into the page header, the home
page headed by the index page's heading, folder pages with their parents' links."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import Veriwiki, describe
from veriwiki.render.markdown import parse_tokens, render_tokens
from veriwiki.render.title import fold_title, lead_heading


class _Plain:
    """A render context for text that links, cites and embeds nothing."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"unexpected context call {name}")


def _body(text: str) -> tuple[str, list[tuple[int, str, str]]]:
    got = render_tokens(parse_tokens(text), _Plain())  # type: ignore[arg-type]
    return got.html, got.toc


def test_a_body_opening_with_its_title_loses_that_heading() -> None:
    html, toc = _body("# KV cache\n\nText.\n\n## How it works\n\nMore.\n")
    folded = fold_title(html, toc, " kv   Cache")  # words compared, case and spaces aside
    assert folded.anchor == "kv-cache"
    assert "<h1" not in folded.html and folded.html.startswith('<span class="line" id="L1">')
    assert "<p>Text.</p>" in folded.html
    assert [anchor for _, _, anchor in folded.toc] == ["how-it-works"]


def test_a_heading_with_other_words_or_later_in_the_body_stays() -> None:
    html, toc = _body("# Grouped-query attention\n\nText.\n")
    assert fold_title(html, toc, "GQA").anchor is None
    later, toc2 = _body("Intro first.\n\n# GQA\n\nText.\n")
    kept = fold_title(later, toc2, "GQA")
    assert kept.anchor is None and kept.html == later and kept.toc == toc2


def test_title_with_markup_and_entities_is_compared_as_text() -> None:
    html, toc = _body("# The *R&D* <b>plan</b>\n\nText.\n")
    assert fold_title(html, toc, "The R&D plan").anchor is not None
    assert lead_heading(html) is not None and lead_heading(html)[0] == "The R&D plan"
    assert lead_heading("<p>no heading</p>") is None


def _build(vw: Veriwiki) -> None:
    proc = vw("build", "--json")
    assert proc.returncode == 0, describe(proc)
    json.loads(proc.stdout)


def test_built_page_shows_its_title_once_and_keeps_its_anchor(vw: Veriwiki,
                                                             vault: Path) -> None:
    wiki = vault / "wiki"
    wiki.mkdir(exist_ok=True)
    (wiki / "Alpha.md").write_text(
        "---\ntitle: 'Alpha & \"one\"'\n---\n# Alpha & \"one\"\n\nSee [[Beta#Beta]].\n\n"
        "## Details\n\nMore.\n", encoding="utf-8")
    (wiki / "Beta.md").write_text("# Beta\n\nBack to [[Alpha]].\n", encoding="utf-8")
    (wiki / "Gamma.md").write_text("---\ntitle: Gamma\n---\n# Something else\n\nText.\n",
                                   encoding="utf-8")
    (wiki / "deep" / "er").mkdir(parents=True)
    (wiki / "deep" / "er" / "Delta.md").write_text("Delta text.\n", encoding="utf-8")
    index = vault / "wiki" / "index.md"
    text = index.read_text(encoding="utf-8")
    index.write_text(re.sub(r"(?m)^# .*$", "# My own wiki", text, count=1), encoding="utf-8")
    _build(vw)
    site = vault / "site"
    alpha = (site / "wiki" / "Alpha.html").read_text(encoding="utf-8")
    # the header holds the title (escaped: a title is text) and the heading's anchor
    assert len(re.findall(r"<h1\b", alpha)) == 1
    header = re.search(r'<h1 class="page-title" id="([^"]+)">Alpha &amp; &#34;one&#34;</h1>',
                       alpha)
    assert header is not None, alpha
    assert f'href="#{header.group(1)}"' not in alpha  # not in the contents either
    assert 'href="#details"' in alpha
    beta = (site / "wiki" / "Beta.html").read_text(encoding="utf-8")
    assert '<h1 class="page-title" id="beta">Beta</h1>' in beta
    assert 'href="Beta.html#beta"' in alpha  # a link to the folded heading still resolves
    gamma = (site / "wiki" / "Gamma.html").read_text(encoding="utf-8")
    assert '<h1 class="page-title">Gamma</h1>' in gamma
    assert re.search(r'<h1 id="something-else">Something else', gamma)
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "<title>My own wiki · " in home and len(re.findall(r"<h1\b", home)) == 1
    folder = (site / "_vw" / "folders" / "wiki" / "deep" / "er.html").read_text(
        encoding="utf-8")
    assert re.search(r'<nav class="breadcrumbs"><a href="(\.\./)+index.html">Folders</a> / '
                     r'<a href="\.\./\.\./wiki.html">wiki</a> / '
                     r'<a href="\.\./deep.html">deep</a> / </nav>', folder), folder
    for html in (alpha, home, folder):
        assert '<link rel="icon" href="data:image/svg+xml,' in html
