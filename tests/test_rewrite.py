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


def test_one_title_cleaner_for_entities_and_questions() -> None:
    """Ingest's entity titles and ask's answer titles come from one function."""
    from veriwiki.core.claim_verify import clean_title
    from veriwiki.services.ask_save import page_title

    assert clean_title("  Llama\u00a02 / 70B ") == "Llama 2 70B"
    assert clean_title("a\u202eb[[c]]#d|e") == "a b c d e"
    assert clean_title("x" * 61) is None  # an entity name is not cut
    assert clean_title("...") is None
    assert page_title("What is GQA?") == "What is GQA"
    assert page_title("How does {{x}} 100% work: #1?") == "How does x 100 work 1"
    long = page_title("why " * 30)
    assert len(long) <= 80 and long.endswith("why")  # a question is cut at a word
    assert page_title("???") == "Answer"
