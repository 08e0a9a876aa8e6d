"""Link rewriting (used by mv): targets change, labels, fragments and layout stay."""

from __future__ import annotations

from veriwiki.core.parse import parse_page
from veriwiki.core.rewrite import LinkEdit, apply_link_edits


def _retarget(text: str, path: str, new: str) -> str:
    page = parse_page(path, text)
    return apply_link_edits(text, path, [LinkEdit(x, new) for x in page.links])


def test_rewrite_wikilinks_keep_label_fragment_and_embed() -> None:
    text = "a [[Old]] b [[Old#H|lbl]] c ![[Old#^blk]] d\n"
    assert _retarget(text, "wiki/p.md", "New") == (
        "a [[New]] b [[New#H|lbl]] c ![[New#^blk]] d\n")


def test_rewrite_table_cell_keeps_escaped_pipe() -> None:
    text = "| a | b |\n|---|---|\n| [[Old\\|shown]] | x |\n"
    out = _retarget(text, "wiki/p.md", "New")
    assert out == "| a | b |\n|---|---|\n| [[New\\|shown]] | x |\n"


def test_rewrite_markdown_link_relative_encoded_and_angle() -> None:
    text = "[x](../Old%20Page.md#sec) and [y](<../Old Page.md>)\n"
    out = _retarget(text, "wiki/sub/p.md", "wiki/deep/New Page.md")
    assert out == "[x](../deep/New%20Page.md#sec) and [y](<../deep/New Page.md>)\n"


def test_rewrite_two_links_same_line_right_to_left() -> None:
    text = "[[Old]][[Old]] end\n"
    assert _retarget(text, "wiki/p.md", "Newer Name") == "[[Newer Name]][[Newer Name]] end\n"
