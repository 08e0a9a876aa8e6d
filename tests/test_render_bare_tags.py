"""A bare formatting tag a paragraph opens and never closes stays in that paragraph (the
HTML parser would reopen it after every later ``</p>``: one stray ``<b>`` made the rest
of the hostile test page bold)."""

from __future__ import annotations

import pytest

from veriwiki.render.markdown import parse_tokens, render_tokens
from veriwiki.render.sanitize import clean_fragment


class _Plain:
    """A render context for text that links, cites and embeds nothing."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"unexpected context call {name}")


def _html(text: str) -> str:
    return render_tokens(parse_tokens(text), _Plain()).html  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "want"), [
    ("A <b>bold open.\n\nNext para.\n", "<p>A <b>bold open.</b></p>"),
    ("x <b><i>y\n\nz\n", "<p>x <b><i>y</i></b></p>"),
    ("x <i>a</i> <b>b</b> <b>c\n", "<p>x <i>a</i> <b>b</b> <b>c</b></p>"),
    ("a </b> b <br> c <wbr>\n", "<p>a  b <br> c <wbr></p>"),
    ("| h |\n|---|\n| <em>cell |\n\nAfter.\n", "<td><em>cell</em></td>"),
    ("> [!note] Title <b>open\n> body\n\nAfter.\n", "<b>open</b></div>"),
])
def test_an_unclosed_bare_tag_is_closed_where_its_paragraph_ends(text: str, want: str) -> None:
    html = _html(text)
    assert want in html, html
    after = html.split("After.")[0] if "After." in html else html
    assert after.count("<b>") == after.count("</b>") and html == clean_fragment(html)
    assert "<p>Next para.</p>" in html or "Next" not in text
