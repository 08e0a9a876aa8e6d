"""The markdown renderer (veriwiki.render) on its own, with a stand-in context."""

from __future__ import annotations

from veriwiki.core.markdown.citations import CiteParts
from veriwiki.render.chips import Verdict, chip_html
from veriwiki.render.markdown import FactView, LinkView, render_markdown
from veriwiki.render.sanitize import clean_html_block, inline_tag


class Ctx:
    """Resolves 'Known' (with a heading), reports every other target as broken."""

    def __init__(self) -> None:
        self.chips: list[tuple[int, CiteParts]] = []

    def link(self, kind: str, target: str, fragment: str | None, raw: str) -> LinkView:
        if target in ("Known", "Known.md"):
            return LinkView("Known.html" + (f"#{fragment.lower()}" if fragment else ""), "Known",
                            path="wiki/Known.md")
        if target == "fig.png":
            return LinkView("img/fig.png", "fig.png", is_attachment=True, path="wiki/fig.png")
        return LinkView(None, target, "broken", f"no page named '{target}'")

    def chip(self, line: int, cite: CiteParts) -> str:
        self.chips.append((line, cite))
        return chip_html(cite.source_id, cite.version, cite.locator, cite.quote,
                         Verdict("verified"), None, "2026-01-01")

    def fact(self, entity: str, attribute: str) -> FactView | None:
        if (entity, attribute) == ("Llama 2", "layers"):
            return FactView("80", "data/models.csv:2", None, "llama2")
        return None

    def embed(self, view: LinkView, fragment: str | None) -> str | None:
        return "<p>embedded body</p>"

    def tag_href(self, tag: str) -> str:
        return f"_vw/tags/{tag}.html"


def render(text: str) -> tuple[str, Ctx]:
    ctx = Ctx()
    return render_markdown(text, ctx).html, ctx


def test_render_wikilinks_broken_links_and_embeds() -> None:
    html, _ = render("[[Known]] [[Known#Intro|the intro]] [[Nope]] ![[Known]] ![[fig.png]]")
    assert '<a class="internal" href="Known.html" title="Known">Known</a>' in html
    assert 'href="Known.html#intro" title="Known">the intro</a>' in html
    assert '<a class="broken-link" title="no page named \'Nope\'">Nope</a>' in html
    assert '<span class="embed" data-embed="Known">' in html and "embedded body" in html
    assert '<img src="img/fig.png" alt="fig.png" loading="lazy">' in html


def test_render_citation_lines_count_the_frontmatter() -> None:
    html, ctx = render('---\ntitle: X\n---\nA claim.\nSecond line [@src, p. 4, "the words"].\n')
    assert [(line, c.source_id, c.locator, c.quote) for line, c in ctx.chips] == [
        (5, "src", "p. 4", "the words")]
    assert '<span class="citation" data-source="src" data-verdict="verified"' in html
    assert '<q class="cite-quote">the words</q>' in html


def test_render_callouts_block_ids_footnotes_tables_code() -> None:
    text = ("> [!warning] Mind this\n> body text\n\nA paragraph. ^para-1\n\nNote[^n].\n\n"
            "[^n]: The note.\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nx = 1\n```\n")
    html, _ = render(text)
    assert '<div class="callout callout-warning" data-callout="warning">' in html
    assert '<div class="callout-title">Mind this</div>' in html and "body text" in html
    assert '<p id="^para-1">A paragraph.</p>' in html
    assert 'href="#fn-1"' in html and '<li id="fn-1" class="footnote-item">' in html
    assert '<th class="align-left">a</th>' in html and '<td class="align-right">2</td>' in html
    assert '<pre class="highlight" data-lang="python"><code><span class="n">x</span>' in html


def test_render_fact_references_and_tags() -> None:
    html, _ = render("It has {{Llama 2.layers}} layers and {{Nope.x}} #arch/attention")
    assert 'data-fact="Llama 2.layers">80<span class="fact-pop"' in html
    assert '<span class="fact fact-unknown" title="no such fact">{{Nope.x}}</span>' in html
    assert '<a class="tag" href="_vw/tags/arch/attention.html">#arch/attention</a>' in html


def test_render_unsafe_links_and_raw_html_are_neutralised() -> None:
    html, _ = render('[x](javascript:alert(1)) <b>bold</b> <i onclick="x()">i</i>\n\n'
                     '<div class="citation" data-verdict="verified" onclick="x()">'
                     '<script>alert(1)</script><a href="javascript:y()">a</a></div>\n')
    assert "javascript:" not in html.split("[x]")[0] and "<script" not in html
    assert "<b>bold</b>" in html and "&lt;i onclick" in html
    assert 'class="citation"' not in html and "onclick" not in html.replace("&lt;i onclick", "")
    assert inline_tag("<img src=x onerror=alert(1)>").startswith("&lt;img")
    assert clean_html_block('<p style="x" data-verdict="verified">t</p>') == "<p>t</p>\n"


def test_render_chip_escapes_quotes_and_ids() -> None:
    html = chip_html('a"b', None, None, '</q><script>x</script>', Verdict("quote-not-found"),
                     None, "2026-01-01")
    assert 'data-source="a&quot;b"' in html and "<script>" not in html
    assert 'data-verdict="quote-not-found"' in html


def test_search_table_update_equals_a_full_merge() -> None:
    """Updating the postings table for changed documents gives the table a merge of
    every document's weights gives, or says it cannot (never a wrong table)."""
    import random

    from veriwiki.render.search import MAX_POSTINGS, SearchBuilder, SearchDoc, update_table

    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(40)]

    def table_of(weights: list[dict[str, int]]) -> dict[str, list[int]]:
        builder = SearchBuilder()
        for i, w in enumerate(weights):
            builder.add(SearchDoc(f"p{i}.html", f"P{i}", "", "", "", ""), w)
        return builder.table()

    def random_weights() -> dict[str, int]:
        return {w: rng.randint(1, 9) for w in rng.sample(vocab, rng.randint(0, 12))}

    outcomes = {True: 0, False: 0}
    for _ in range(300):
        docs = [random_weights() for _ in range(rng.choice([20, 150, 400]))]
        table = table_of(docs)
        changes = []
        for i in rng.sample(range(len(docs)), rng.randint(1, 3)):
            new = dict(docs[i])
            for w in rng.sample(vocab, 3):  # words added, removed, weighed up or down
                action = rng.random()
                if action < 0.3:
                    new.pop(w, None)
                elif action < 0.6:
                    new[w] = new.get(w, 0) + rng.randint(1, 5)
                else:
                    new[w] = max(1, new.get(w, 2) - rng.randint(0, 3))
            changes.append((i, docs[i], new))
            docs[i] = new
        ok = update_table(table, changes)
        outcomes[ok] += 1
        if ok:
            assert table == table_of(docs)
    assert outcomes[True] > 50 and outcomes[False] > 5
    assert max(len(v) for v in table_of([{"x": 1}] * 100).values()) == 2 * MAX_POSTINGS


def test_footnotes_keep_their_back_reference_inside_the_last_paragraph() -> None:
    html, _ = render("A note.[^1] Two.[^n]\n\n[^1]: First.\n\n    More of the first.\n\n"
                     "[^n]: Second, **bold**.\n")
    assert "<p></p>" not in html
    assert html.count('class="footnote-backref"') == 2
    assert '<p>More of the first. <a href="#fnref-1" class="footnote-backref">↩</a></p>' in html
    assert ('<p>Second, <strong>bold</strong>. '
            '<a href="#fnref-2" class="footnote-backref">↩</a></p>') in html
    assert html.count("<p") == html.count("</p>")
