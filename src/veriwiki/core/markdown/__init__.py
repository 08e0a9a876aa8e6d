"""The veriwiki markdown dialect: CommonMark plus Obsidian syntax, as markdown-it plugins."""

from __future__ import annotations

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from veriwiki.core.markdown.bounded import bounded_labels_plugin
from veriwiki.core.markdown.citations import citations_plugin
from veriwiki.core.markdown.external import external_links_plugin
from veriwiki.core.markdown.factrefs import factrefs_plugin
from veriwiki.core.markdown.positions import positions_plugin
from veriwiki.core.markdown.selective import selective_inline_plugin
from veriwiki.core.markdown.tags import tags_plugin
from veriwiki.core.markdown.wikilinks import wikilinks_plugin


def make_parser(*, for_index: bool = False) -> MarkdownIt:
    """Build the markdown parser.

    With ``for_index`` the parser skips what indexing never reads: emphasis and
    entities, the inline pass of blocks that hold no ``[`` or ``#``, and normalising
    destinations with a scheme.
    """
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.use(footnote_plugin)
    md.use(wikilinks_plugin)
    md.use(citations_plugin)
    md.use(factrefs_plugin)
    md.use(tags_plugin)
    md.use(positions_plugin)
    md.use(bounded_labels_plugin)
    if for_index:
        md.inline.ruler.disable(["emphasis", "entity"])
        md.inline.ruler2.disable(["emphasis", "balance_pairs", "fragments_join"])
        md.use(selective_inline_plugin)
        md.use(external_links_plugin)
    return md
