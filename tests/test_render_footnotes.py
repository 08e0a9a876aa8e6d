"""Footnotes as the renderer writes them, against markdown-it-py's own footnote plugin.

The site's footnote markup differs from the plugin's in fixed ways only (ids ``fn-1``
and ``fnref-1`` for ``fn1`` and ``fnref1``, no separator rule, ``↩`` without the
variation selector, line anchors, the site's section wrapper): once those are mapped,
every body here must render to the plugin's HTML, so each back-reference sits where
the plugin puts it (inside the note's last paragraph, or after its last block) and
returns to its own reference.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from test_render import Ctx
from veriwiki.render.markdown import render_markdown

BODIES = [
    "A note.[^1] Two.[^n]\n\n[^1]: First.\n\n    More of the first.\n\n[^n]: Second, **bold**.\n",
    "One[^a] and the same again[^a] and again[^a].\n\n[^a]: The note, *cited* thrice.\n",
    "A list note[^l].\n\n[^l]: Items:\n    - one\n    - two\n",
    "Code last[^c].\n\n[^c]: Before the code.\n\n        print(1)\n",
    "Inline^[an inline note with `code`] then a normal one[^x].\n\n[^x]: Normal.\n",
    "First[^1].\n\nA second paragraph[^2] with text.\n\n[^1]: Short.\n[^2]: Also short,\n"
    "continued lazily.\n",
    "Unused note below.\n\n[^u]: Never cited.\n\nEnd[^v].\n\n[^v]: Cited.\n",
]


def _plugin_html(text: str) -> str:
    """markdown-it-py's rendering, mapped to the site's ids and wrapper."""
    html = MarkdownIt("commonmark").use(footnote_plugin).render(text)
    html = html.replace('<hr class="footnotes-sep" />\n', "")
    html = html.replace('<section class="footnotes">\n<ol class="footnotes-list">\n',
                        '<section class="footnotes"><ol class="footnotes-list">\n')
    html = html.replace("</ol>\n</section>\n", "</ol></section>\n")
    html = html.replace("↩\ufe0e", "↩")
    html = re.sub(r'"#?fnref(\d+):(\d+)"',
                  lambda m: f'"{"#" if m.group(0)[1] == "#" else ""}fnref-{m.group(1)}-'
                            f'{int(m.group(2)) + 1}"', html)
    html = re.sub(r'"(#?)(fn|fnref)(\d+)"', r'"\1\2-\3"', html)
    html = re.sub(r"\[(\d+):\d+\]", r"[\1]", html)  # the site shows a note's number only
    html = html.replace("<pre><code>", '<pre class="highlight"><code>')  # Pygments' block
    return html.replace("<br />", "<br>")


def _site_html(text: str) -> str:
    html, _ = render(text)
    return re.sub(r'<span class="line" id="L\d+"></span>', "", html)


def render(text: str) -> tuple[str, object]:
    body = render_markdown(text, Ctx())
    return body.html, body.toc


@pytest.mark.parametrize("text", BODIES)
def test_footnotes_render_as_markdown_its_footnote_plugin(text: str) -> None:
    assert _site_html(text) == _plugin_html(text)


@pytest.mark.parametrize("text", BODIES)
def test_every_back_reference_returns_to_a_reference_of_its_note(text: str) -> None:
    html = _site_html(text)
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), f"duplicate ids in {html}"
    backs = re.findall(r'<a href="#(fnref-[^"]+)" class="footnote-backref">↩</a>', html)
    refs = re.findall(r'<a href="#fn-(\d+)" id="(fnref-[^"]+)">', html)
    assert sorted(backs) == sorted(ref for _, ref in refs)
    for note, ref in refs:
        assert ref == f"fnref-{note}" or ref.startswith(f"fnref-{note}-")
    assert html.count("<p>") == html.count("</p>") and "<p></p>" not in html


def test_a_repeated_reference_gets_its_own_id_and_back_link() -> None:
    html = _site_html(BODIES[1])
    assert [m for m in re.findall(r'id="(fnref-[^"]+)"', html)] == \
        ["fnref-1", "fnref-1-2", "fnref-1-3"]
    assert ('<p>The note, <em>cited</em> thrice. <a href="#fnref-1" class="footnote-backref">'
            '↩</a> <a href="#fnref-1-2" class="footnote-backref">↩</a> '
            '<a href="#fnref-1-3" class="footnote-backref">↩</a></p>') in html
