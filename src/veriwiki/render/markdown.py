"""Markdown to HTML with the parser the index uses (``core.markdown.make_parser``).

The page is parsed exactly as ``check`` parses it (same plugins, same line numbering),
then rendered token by token. Everything veriwiki adds to CommonMark — wikilinks,
embeds, citations, fact references, tags, block ids, callouts — asks a
:class:`RenderContext` what it leads to, so this module does no I/O and knows nothing
of the site's layout. Raw HTML is reduced to a small allow-list (see ``sanitize``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from markdown_it.token import Token

from veriwiki.core.markdown.citations import CiteParts
from veriwiki.core.model import LinkKind
from veriwiki.core.resolve import github_slug
from veriwiki.render.highlight import highlight_code
from veriwiki.render.sanitize import (
    SCHEME,
    anchor_block,
    anchor_spans,
    attr_html,
    clean_fragment,
    clean_html_block,
    close_bare,
    inline_tag,
    is_anchor_only,
    safe_href,
    text_html,
    track_bare,
)
from veriwiki.render.tokens import (
    frontmatter_lines,
    heading_words,
    inline_children,
    parse_tokens,
    section_tokens,
)

__all__ = ["FactView", "LinkView", "RenderContext", "RenderedBody", "frontmatter_lines",
           "parse_tokens", "render_markdown", "render_tokens", "safe_href", "section_tokens"]

_BLOCK_ID = re.compile(r"(?:^|\s)\^([A-Za-z0-9][A-Za-z0-9-]*)\s*$")
_CALLOUT = re.compile(r"^\[!([A-Za-z][\w-]*)\]([+-]?)[ \t]*(.*)$")
_ANCHORED = frozenset({"heading_open", "paragraph_open", "fence", "code_block", "html_block",
                       "table_open", "blockquote_open", "hr"})
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".bmp")


@dataclass(frozen=True, slots=True)
class LinkView:
    """Where a link leads, as the site shows it.

    ``href`` is relative to the page being rendered (None for a broken link);
    ``status`` is ``ok``, ``broken`` or ``ambiguous``; ``problem`` explains the latter two.
    """

    href: str | None
    title: str
    status: str = "ok"
    problem: str | None = None
    is_attachment: bool = False
    path: str | None = None


@dataclass(frozen=True, slots=True)
class FactView:
    """A resolved ``{{entity.attribute}}``: the value shown and where it comes from."""

    display: str
    where: str
    href: str | None
    source_id: str | None


_FOOTNOTE_MARKUP = {  # the footnote block's tokens; {n} is the note's number, {ref} the
    # id of the reference a back-link returns to (``_ref_id``)
    "footnote_block_open": '<section class="footnotes"><ol class="footnotes-list">\n',
    "footnote_block_close": "</ol></section>\n", "footnote_close": "</li>\n",
    "footnote_open": '<li id="fn-{n}" class="footnote-item">',
    "footnote_anchor": ' <a href="#{ref}" class="footnote-backref">↩</a>'}


def _ref_id(tok: Token) -> str:
    """The id of a footnote reference: ``fnref-N`` for a note's first, ``fnref-N-K`` for
    its K-th (each back-link returns to its own reference, as markdown-it's plugin)."""
    meta = tok.meta or {}
    n = int(meta.get("id", 0)) + 1
    sub = int(meta.get("subId", 0))
    return f"fnref-{n}" if sub == 0 else f"fnref-{n}-{sub + 1}"


class RenderContext(Protocol):
    """What the renderer asks about the vault while rendering one page."""

    def link(self, kind: LinkKind, target: str, fragment: str | None, raw: str) -> LinkView:
        """Resolve a link as written (``kind``: wikilink, embed, markdown, image)."""

    def chip(self, line: int, cite: CiteParts) -> str:
        """The HTML of one citation chip (``line`` is the citation's file line)."""

    def fact(self, entity: str, attribute: str) -> FactView | None:
        """The fact a reference names, or None."""

    def embed(self, view: LinkView, fragment: str | None) -> str | None:
        """The rendered HTML of an embedded page (None when it cannot be embedded)."""

    def tag_href(self, tag: str) -> str:
        """The URL of a tag's page."""


@dataclass
class RenderedBody:
    """A rendered page body and its table of contents ``(level, text, anchor)``."""

    html: str
    toc: list[tuple[int, str, str]] = field(default_factory=list)


_attr = attr_html
_text = text_html
# inline tokens whose HTML holds an <a>: inside a link label they would nest anchors,
# which nh3 (html5ever) takes apart
_ANCHOR_KINDS = frozenset({"wikilink", "embed", "link_open", "tag", "fact_ref",
                           "footnote_ref"})


class _Writer:
    """Renders one token stream; state: heading anchors and the table of contents."""

    def __init__(self, ctx: RenderContext, depth: int) -> None:
        self.ctx = ctx
        self.depth = depth
        self.anchors: dict[str, int] = {}
        self.toc: list[tuple[int, str, str]] = []
        self.out: list[str] = []
        self.lines: set[int] = set()
        self.open_anchors = 0  # <a name=...> tags dropped whose </a> is still to come
        self.bare: list[str] = []  # bare tags (<b>) opened in this paragraph, still open
        self.in_link = 0  # inside a markdown link's label
        # True once the body holds markup not written here (raw HTML, chips, embeds), an
        # external URL (nh3 drops one it cannot parse) or nested anchors: nh3 runs on it
        self.raw = False

    def anchor(self, text: str) -> str:
        base = github_slug(text) or "section"
        n = self.anchors.get(base, 0)
        self.anchors[base] = n + 1
        return base if n == 0 else f"{base}-{n}"

    # ------------------------------------------------------------------ blocks

    def blocks(self, tokens: Sequence[Token]) -> None:
        out = self.out
        i = 0
        n = len(tokens)
        while i < n:
            tok = tokens[i]
            kind = tok.type
            if tok.map and self.depth == 0 and kind in _ANCHORED:
                line = tok.map[0] + 1
                if line not in self.lines:
                    self.lines.add(line)
                    out.append(f'<span class="line" id="L{line}"></span>')
            if kind == "heading_open":
                inline = tokens[i + 1]
                text = inline.content.strip()
                anchor = self.anchor(text)
                self.toc.append((int(tok.tag[1]), heading_words(inline) or text, anchor))
                out.append(f'<{tok.tag} id="{_attr(anchor)}">')
                self.inline(inline)
                out.append(f'<a class="anchor" href="#{_attr(anchor)}" aria-hidden="true">#</a>'
                           f"</{tok.tag}>\n")
                i += 3
                continue
            if kind == "paragraph_open":
                i = self.paragraph(tokens, i)
                continue
            if kind == "blockquote_open":
                i = self.blockquote(tokens, i)
                continue
            if kind in ("fence", "code_block"):
                info = tok.info.strip() if kind == "fence" else ""
                out.append(highlight_code(tok.content, info))
            elif kind == "html_block":
                self.raw = True
                anchors = anchor_block(tok.content)
                out.append(clean_html_block(tok.content) if anchors is None else anchors)
            elif kind == "inline":
                self.inline(tok)
            elif kind == "hr":
                out.append("<hr>\n")
            elif kind in ("bullet_list_open", "ordered_list_open", "list_item_open",
                          "table_open", "thead_open", "tbody_open", "tr_open", "th_open",
                          "td_open"):
                out.append(self.open_tag(tok))
            elif kind.endswith("_close") and tok.tag and not kind.startswith("footnote"):
                out.append(f"</{tok.tag}>" + ("\n" if tok.block else ""))
            elif kind.startswith("footnote"):
                self.raw = True  # footnote markup goes through nh3, as raw HTML does
                self.footnote(tok)
            i += 1

    def open_tag(self, tok: Token) -> str:
        attrs = ""
        if tok.type == "ordered_list_open" and tok.attrs.get("start"):
            attrs = f' start="{int(str(tok.attrs["start"]))}"'
        style = str(tok.attrs.get("style") or "")
        if style.startswith("text-align:") and style[11:] in ("left", "right", "center"):
            attrs += f' class="align-{style[11:]}"'
        return f"<{tok.tag}{attrs}>" + ("\n" if tok.type.endswith("list_open") else "")

    def paragraph(self, tokens: Sequence[Token], i: int) -> int:
        """A paragraph (tight list paragraphs are hidden), with a trailing ``^block-id``."""
        open_tok, inline = tokens[i], tokens[i + 1]
        block_id = None
        children = inline_children(inline)
        if children and children[-1].type == "text" and "^" in children[-1].content:
            m = _BLOCK_ID.search(children[-1].content)
            if m:
                block_id = m.group(1).lower()
                children[-1].content = children[-1].content[: m.start()].rstrip()
        hidden = open_tok.hidden
        if not hidden:
            ident = f' id="^{_attr(block_id)}"' if block_id else ""
            self.out.append(f"<p{ident}>")
        elif block_id:
            self.out.append(f'<span id="^{_attr(block_id)}"></span>')
        self.inline(inline)
        j = i + 2  # a footnote's last paragraph holds its back-reference before the close
        while j < len(tokens) and tokens[j].type == "footnote_anchor":
            self.footnote(tokens[j])
            j += 1
        if not hidden:
            self.out.append("</p>\n")
        return j + 1

    def blockquote(self, tokens: Sequence[Token], i: int) -> int:
        """A block quote, or an Obsidian callout (``> [!note] Title``)."""
        callout = None
        if i + 2 < len(tokens) and tokens[i + 1].type == "paragraph_open":
            inline = tokens[i + 2]
            children = inline_children(inline)
            if children and children[0].type == "text":
                first, _, _rest = inline.content.partition("\n")
                m = _CALLOUT.match(children[0].content)
                if m and first.startswith(children[0].content):
                    callout = m
        if callout is None:
            self.out.append("<blockquote>\n")
            return i + 1
        kind = callout.group(1).lower()
        title = callout.group(3).strip() or kind.capitalize()
        # the callout line is the first line of the first paragraph: drop it from the body
        inline = tokens[i + 2]
        children = inline_children(inline)
        cut = 1
        while cut < len(children) and children[cut].type not in ("softbreak", "hardbreak"):
            cut += 1
        title_children = children[1:cut]
        inline.children = children[cut + 1:]
        if sum(c.nesting for c in title_children):
            self.raw = True  # emphasis running from the title line on: nh3 balances it
        fold = callout.group(2)
        tag = "details" if fold else "div"
        open_attr = ' open=""' if fold == "+" else ""
        self.out.append(f'<{tag} class="callout callout-{_attr(kind)}" data-callout="{_attr(kind)}"'
                        f'{open_attr}>')
        head = "summary" if fold else "div"
        self.out.append(f'<{head} class="callout-title">{_text(title)}')
        for child in title_children:
            self.out.append(self.child(child))
        self.out.append(close_bare(self.bare) + f"</{head}>\n")
        # render up to the matching blockquote_close ourselves, closing with the callout tag
        depth = 0
        j = i + 1
        body: list[Token] = []
        while j < len(tokens):
            tok = tokens[j]
            if tok.type == "blockquote_open":
                depth += 1
            elif tok.type == "blockquote_close":
                if depth == 0:
                    break
                depth -= 1
            body.append(tok)
            j += 1
        if not inline.children and len(body) >= 3 and body[0].type == "paragraph_open":
            body = body[3:]  # the paragraph held only the callout line
        self.out.append('<div class="callout-body">')
        self.blocks(body)
        self.out.append(f"</div></{tag}>\n")
        return j + 1

    def footnote(self, tok: Token) -> None:
        n = int((tok.meta or {}).get("id", 0)) + 1  # the note's number, where one is used
        self.out.append(_FOOTNOTE_MARKUP.get(tok.type, "").format(n=n, ref=_ref_id(tok)))

    # ------------------------------------------------------------------ inline

    def inline(self, tok: Token) -> None:
        base = (tok.map[0] if tok.map else 0) + 1
        content = tok.content
        out = self.out
        for child in inline_children(tok):
            if child.type == "text":  # most children: no call
                out.append(_text(child.content))
            elif child.type == "citation":
                pos = int(child.meta["pos"])
                line = base + content.count("\n", 0, pos)
                raw = child.content
                chips = []
                for cite in child.meta["cites"]:
                    chips.append(self.ctx.chip(line + raw.count("\n", 0, cite.offset), cite))
                out.append('<span class="citations">' + "".join(chips) + "</span>")
                self.raw = True  # the context's HTML
            else:
                out.append(self.child(child))
        out.append(close_bare(self.bare))

    def child(self, child: Token) -> str:
        kind = child.type
        if kind == "text":
            return _text(child.content)
        if self.in_link and kind in _ANCHOR_KINDS:
            self.raw = True
        if kind == "softbreak":
            return "\n"
        if kind == "hardbreak":
            return "<br>\n"
        if kind == "code_inline":
            return f"<code>{_text(child.content)}</code>"
        if kind in ("em_open", "strong_open", "s_open"):
            return f"<{child.tag}>"
        if kind in ("em_close", "strong_close", "s_close"):
            return f"</{child.tag}>"
        if kind == "link_close":
            self.in_link -= 1
            return "</a>"
        if kind == "html_inline":
            self.raw = True
            # GitHub shows a README's <a name="opts"></a> as nothing; as text it was noise
            if is_anchor_only(child.content):
                if not child.content.rstrip().endswith("/>"):
                    self.open_anchors += 1
                return anchor_spans(child.content)
            if self.open_anchors and child.content.strip().lower() == "</a>":
                self.open_anchors -= 1
                return ""
            return track_bare(inline_tag(child.content), self.bare)
        if kind == "wikilink":
            meta = child.meta
            view = self.ctx.link("wikilink", meta["target"], meta["fragment"], meta["raw"])
            label = meta["label"] or meta["raw"][2:-2].split("|", 1)[0].rstrip("\\")
            if not meta["label"] and view.status == "ok" and not meta["fragment"]:
                label = meta["target"]
            return self.anchor_html(view, label)
        if kind == "embed":
            return self.embed(child)
        if kind == "link_open":
            self.in_link += 1
            href = str(child.attrs.get("href") or "")
            if SCHEME.match(href) or href.startswith("//"):
                self.raw = True
                safe = safe_href(href)
                if safe is None:
                    return '<a class="unsafe-link">'
                return f'<a class="external" href="{_attr(safe)}" rel="noopener nofollow">'
            if href.startswith("#"):
                return f'<a href="{_attr(href)}">'
            view = self.ctx.link("markdown", href, None, href)
            return self.anchor_open(view)
        if kind == "image":
            return self.image(child)
        if kind == "tag":
            tag = child.content
            return f'<a class="tag" href="{_attr(self.ctx.tag_href(tag))}">#{_text(tag)}</a>'
        if kind == "fact_ref":
            return self.fact(child)
        if kind == "footnote_ref":
            n = int((child.meta or {}).get("id", 0)) + 1
            return (f'<sup class="footnote-ref"><a href="#fn-{n}" id="{_ref_id(child)}">[{n}]'
                    "</a></sup>")
        return _text(child.content)

    def anchor_open(self, view: LinkView) -> str:
        if view.status == "ok" and view.href is not None:
            cls = "internal attachment" if view.is_attachment else "internal"
            return f'<a class="{cls}" href="{_attr(view.href)}" title="{_attr(view.title)}">'
        problem = view.problem or "broken link"
        cls = "broken-link" if view.status == "broken" else "broken-link ambiguous-link"
        return f'<a class="{cls}" title="{_attr(problem)}">'

    def anchor_html(self, view: LinkView, label: str) -> str:
        return self.anchor_open(view) + _text(label) + "</a>"

    def embed(self, child: Token) -> str:
        meta = child.meta
        view = self.ctx.link("embed", meta["target"], meta["fragment"], meta["raw"])
        label = meta["label"] or meta["target"]
        if view.status != "ok" or view.href is None:
            return self.anchor_html(view, meta["raw"])
        if view.is_attachment:
            if meta["target"].lower().endswith(_IMAGE_EXT):
                return f'<img src="{_attr(view.href)}" alt="{_attr(label)}" loading="lazy">'
            return self.anchor_html(view, label)
        inner = self.ctx.embed(view, meta["fragment"]) if self.depth < 2 else None
        if inner is None:
            return self.anchor_html(view, label)
        self.raw = True  # the context's HTML
        return (f'<span class="embed" data-embed="{_attr(view.title)}">'
                f'<a class="embed-title internal" href="{_attr(view.href)}">'
                f"{_text(view.title)}</a>{inner}</span>")

    def image(self, child: Token) -> str:
        src = str(child.attrs.get("src") or "")
        alt = _attr(child.content)
        if SCHEME.match(src) or src.startswith("//"):
            self.raw = True
            safe = safe_href(src)
            if safe is None or safe.lower().startswith("mailto:"):
                return f'<span class="unsafe-link">{alt}</span>'
            return f'<img src="{_attr(safe)}" alt="{alt}" loading="lazy">'
        view = self.ctx.link("image", src, None, src)
        if view.status != "ok" or view.href is None:
            return self.anchor_html(view, child.content or src)
        return f'<img src="{_attr(view.href)}" alt="{alt}" loading="lazy">'

    def fact(self, child: Token) -> str:
        meta = child.meta
        got = self.ctx.fact(meta["entity"], meta["attribute"])
        if got is None:
            return (f'<span class="fact fact-unknown" title="no such fact">'
                    f"{_text(child.content)}</span>")
        where = (f'<a class="fact-origin" href="{_attr(got.href)}">{_text(got.where)}</a>'
                 if got.href else f'<span class="fact-origin">{_text(got.where)}</span>')
        source = f' <span class="fact-source">@{_text(got.source_id)}</span>' \
            if got.source_id else ""
        return (f'<span class="fact" tabindex="0" data-fact="{_attr(child.content[2:-2])}">'
                f'{_text(got.display)}<span class="fact-pop" role="tooltip">'
                f"{_text(child.content[2:-2])} = {_text(got.display)}{source}"
                f" · from {where}</span></span>")


def render_tokens(tokens: list[Token], ctx: RenderContext, *, depth: int = 0) -> RenderedBody:
    """HTML for parsed tokens; sanitized to the site's allow-list.

    A body made only of the writer's own markup skips nh3: every byte of it is a fixed
    tag of the site's allow-list or text and attribute values escaped by ``_text`` and
    ``_attr`` (page text, link targets and titles, tags, fact values: all escaped), or
    Pygments' output (text escaped by Pygments, then by ``highlight_code`` as nh3
    writes it). Raw HTML, chips, embeds, external URLs and anchors inside link labels
    set ``raw`` and send the body through nh3, as before. Skipping gives the same
    bytes: ``tests/test_render_fast.py`` checks ``clean_fragment(html) == html`` for
    every body that skips it, on every corpus and on generated markdown.
    """
    writer = _Writer(ctx, depth)
    writer.blocks(tokens)
    html = "".join(writer.out)
    return RenderedBody(clean_fragment(html) if writer.raw else html, writer.toc)


def render_markdown(text: str, ctx: RenderContext, *, depth: int = 0) -> RenderedBody:
    """Render a page's text (frontmatter included; it is not shown) to HTML."""
    return render_tokens(parse_tokens(text), ctx, depth=depth)
