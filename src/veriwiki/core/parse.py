"""Turn a page's text into a :class:`Page`: frontmatter, headings, links, tags, blocks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token

from veriwiki.core.claims import Citation, Claim, RawCitation, build_claims, uncited_sentences
from veriwiki.core.frontmatter import read_frontmatter
from veriwiki.core.markdown import fastinline, fastpath, make_parser
from veriwiki.core.markdown.fastinline import InlineToken
from veriwiki.core.markdown.selective import FAST_INLINE
from veriwiki.core.model import CodeBlock, Heading, Link, Page
from veriwiki.core.resolve import A_TAG, ANCHOR_ATTR
from veriwiki.core.summary import page_summary
from veriwiki.core.unread_citations import unread_citations

_OBSIDIAN_COMMENT = re.compile(r"%%.*?%%", re.S)
_BLOCK_ID = re.compile(r"(?:^|\s)\^([A-Za-z0-9][A-Za-z0-9-]*)\s*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_SEARCH_SPAN = 65536

_parsers: dict[bool, MarkdownIt] = {}


def _parser(for_index: bool) -> MarkdownIt:
    md = _parsers.get(for_index)
    if md is None:
        md = _parsers[for_index] = make_parser(for_index=for_index)
    return md


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def _as_strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip()) if "," in value else (
            (value.strip(),) if value.strip() else ())
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if v is not None and str(v).strip())
    return (str(value),)


class _Where:
    """Line and column of inline positions, found in time linear in the page.

    Lookups come in document order: counting line breaks resumes from the last position
    asked about in the same inline token, and the search of a file line resumes just
    after the last thing found on it (so a line of 20,000 links is not searched from its
    start 20,000 times, and a repeated link gets its own column, not the first one's).
    """

    __slots__ = ("lines", "cursor", "content", "base", "pos", "line")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.cursor: dict[int, int] = {}
        self.content, self.base, self.pos, self.line = "", 0, 0, 1

    def enter(self, content: str, base: int) -> None:
        """Start on the inline token holding ``content``, whose first line is ``base + 1``."""
        self.content, self.base, self.pos, self.line = content, base, 0, base + 1

    def line_of(self, pos: int) -> int:
        """The 1-based file line of offset ``pos`` in the current token's content."""
        if pos < self.pos:
            self.pos, self.line = 0, self.base + 1
        self.line += self.content.count("\n", self.pos, pos)
        self.pos = pos
        return self.line

    def find(self, line: int, *probes: str) -> tuple[str, int] | None:
        """The first of ``probes`` found on ``line`` and its 1-based column."""
        if not 1 <= line <= len(self.lines):
            return None
        text = self.lines[line - 1]
        start = self.cursor.get(line, 0)
        for probe in probes:
            idx = text.find(probe, start, start + _SEARCH_SPAN + len(probe))
            if idx < 0 and start and len(text) <= _SEARCH_SPAN:
                idx = text.find(probe)  # written differently from how it parsed
            if idx >= 0:
                self.cursor[line] = idx + 1
                return probe, idx + 1
        return None

    def column(self, line: int, probe: str) -> int:
        """The column of ``probe`` on ``line`` (1 when it cannot be found)."""
        got = self.find(line, probe)
        return got[1] if got else 1


_CODE_SPAN = re.compile(r"(`+).+?\1")


def _html_anchors(lines: list[str], out: _Collector) -> tuple[str, ...]:
    """The ids and names of ``<a>`` tags outside headings, code and fences, in order
    (a README's ``<a id="usage"></a>`` above a heading is a link target)."""
    skip = {h.line for h in out.headings}
    for c in out.code:
        skip.update(range(c.line, c.line + c.content.count("\n") + 2))
    found: dict[str, None] = {}
    for n, line in enumerate(lines, 1):
        if n in skip or "<a" not in line.lower() or line.startswith(("    ", "\t")):
            continue
        for tag in A_TAG.findall(_CODE_SPAN.sub("", line) if "`" in line else line):
            for name in ANCHOR_ATTR.findall(tag):
                found[name] = None
    return tuple(found)


class _Collector:
    """What a page's blocks hold, gathered block by block in document order."""

    def __init__(self, lines: list[str], tags: list[str], listing: bool = False) -> None:
        self.where = _Where(lines)
        self.listing = listing  # no uncited sentences (see parse_page)
        self.tags = tags
        self.headings: list[Heading] = []
        self.links: list[Link] = []
        self.blocks: list[tuple[str, int]] = []
        self.code: list[CodeBlock] = []
        self.fn_refs: list[tuple[str, int]] = []
        self.fn_defs: list[str] = []
        self.claims: list[Claim] = []
        self.uncited: list[tuple[int, str]] = []
        self.fact_refs: list[tuple[str, str, int, int]] = []
        self.read: list[tuple[int, int]] = []  # (line, column) of each citation bracket

    def inline(self, content: str, base: int, end: int,
               children: Sequence[Token | InlineToken], *,
               paragraph: bool = False, cell: bool = False) -> None:
        """One inline block: ``content`` from 0-based line ``base``, its block ending
        before line ``end``; ``paragraph`` and ``cell`` say where it sits."""
        raws: list[RawCitation] = []
        if children:
            self.where.enter(content, base)
            raws = _inline(children, self.where, self.links, self.tags, self.fn_refs,
                           self.fact_refs)
        if raws:
            self.claims.extend(build_claims(content, base + 1, raws))
            self.read += ((r.citations[0].line, r.citations[0].column) for r in raws)
        if (paragraph or cell) and not self.listing:
            self.uncited.extend(uncited_sentences(content, base + 1, raws))
        if paragraph and "^" in content:
            m = _BLOCK_ID.search(content.rsplit("\n", 1)[-1])
            if m:
                self.blocks.append((m.group(1), end))

    def tokens(self, tokens: list[Token]) -> None:
        """Every block of markdown-it's ``tokens``."""
        prev: Token | None = None
        block_line = 0
        for i, tok in enumerate(tokens):
            if tok.map:
                block_line = tok.map[0]
            if tok.type == "heading_open" and i + 1 < len(tokens):
                inline = tokens[i + 1]
                self.headings.append(
                    Heading(int(tok.tag[1]), inline.content.strip(), block_line + 1))
            elif tok.type == "fence":
                self.code.append(CodeBlock(tok.info.strip(), tok.content, block_line + 1))
            elif tok.type == "footnote_open":
                label = (tok.meta or {}).get("label")
                if label is not None:
                    self.fn_defs.append(str(label))
            elif tok.type == "inline":
                base = tok.map[0] if tok.map else block_line
                kind = prev.type if prev is not None else ""
                self.inline(tok.content, base, tok.map[1] if tok.map else base + 1,
                            tok.children or [], paragraph=kind == "paragraph_open",
                            cell=kind == "td_open")
            prev = tok


def parse_page(path: str, text: str, *, for_index: bool = True,
               fast: bool = fastpath.IS_VERIFIED, listing: bool = False) -> Page:
    """Parse one page. ``path`` is vault-relative; ``text`` the decoded file content.

    Line numbers in the result are 1-based and count frontmatter lines. With ``fast``
    the index parse reads plain blocks without markdown-it (``core.markdown.fastpath``),
    with the same result. ``listing`` is for the generated catalog and log: their lines
    state nothing, so no uncited sentences are looked for (the slowest part of reading
    a 10,000-line catalog, which every write operation re-indexes).
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n")
    fm = read_frontmatter(text)
    lines = text.split("\n")
    skip = fm.yaml_lines
    if skip:  # the frontmatter's lines read as blank ones
        page_body = "\n".join(lines[skip:])
        blanked = [""] * skip + lines[skip:]
        src = "\n".join(blanked)
    else:
        page_body = src = text
        blanked = lines
    src_lines: list[str] | None = blanked
    if "%%" in src:
        src = _OBSIDIAN_COMMENT.sub(_blank, src)
        src_lines = None  # split again by the scanner
    tags = [t.lstrip("#") for t in _as_strings(fm.data.get("tags") or fm.data.get("tag"))]
    md = _parser(for_index)
    env: dict[str, Any] = {}
    blocks = fastpath.scan_blocks(src, skip, md, env, lines=src_lines) \
        if fast and for_index else None
    out = _Collector(lines, tags, listing)
    if blocks is None:
        out.tokens(md.parse(src, {FAST_INLINE: True} if fast and for_index else {}))
    else:
        for block in blocks:
            if isinstance(block, fastpath.ParagraphBlock):
                out.inline(block.content, block.start, block.end,
                           fastinline.inline_tokens(block.content, md, env), paragraph=True)
            elif isinstance(block, fastpath.HeadingBlock):
                out.headings.append(Heading(block.level, block.content.strip(), block.line + 1))
                out.inline(block.content, block.line, block.line + 1,
                           fastinline.inline_tokens(block.content, md, env))
            elif isinstance(block, (fastpath.FenceBlock, fastpath.ItemFenceBlock)):
                out.code.append(CodeBlock(block.info.strip(), block.content, block.line + 1))
            elif isinstance(block, fastpath.TableBlock):
                for cell, line, body in block.cells:
                    out.inline(cell, line, line + 1, fastinline.inline_tokens(cell, md, env),
                               cell=body)
            elif isinstance(block, fastpath.SlowTokens):
                out.tokens(block.tokens)

    unread: tuple[tuple[int, int, str], ...] = ()
    if "[@" in src and src.count("[@") > len(out.read):  # some opening was not read
        fenced = (n for c in out.code for n in range(c.line, c.line + c.content.count("\n") + 2))
        unread = unread_citations(src.split("\n"), fenced, out.read)
    anchors = (_html_anchors(src_lines if src_lines is not None else src.split("\n"), out)
               if "<a" in src or "<A" in src else ())
    title = fm.data.get("title")
    stem = path.rsplit("/", 1)[-1]
    stem = stem[:-3] if stem.lower().endswith(".md") else stem
    page_type = fm.data.get("type")
    return Page(
        path=path,
        title=str(title).strip() if title not in (None, "") else stem,
        aliases=_as_strings(fm.data.get("aliases") or fm.data.get("alias")),
        type=str(page_type) if page_type not in (None, "") else None,
        tags=tuple(dict.fromkeys(out.tags)),
        summary=page_summary(fm.data, lines[skip:]),
        frontmatter=fm.data,
        field_lines=fm.field_lines,
        frontmatter_error=fm.error,
        headings=tuple(out.headings),
        links=tuple(out.links),
        block_ids=tuple(out.blocks),
        code_blocks=tuple(out.code),
        footnote_refs=tuple(out.fn_refs),
        footnote_defs=tuple(out.fn_defs),
        claims=tuple(out.claims),
        uncited=tuple(out.uncited),
        fact_refs=tuple(out.fact_refs),
        unread_citations=unread,
        anchors=anchors,
        body=page_body,
    )


def _inline(
    children: Sequence[Token | InlineToken], where: _Where, links: list[Link], tags: list[str],
    fn_refs: list[tuple[str, int]], fact_refs: list[tuple[str, str, int, int]],
) -> list[RawCitation]:
    raws: list[RawCitation] = []
    for j, child in enumerate(children):
        kind = child.type
        if kind == "citation":
            pos = child.meta["pos"]
            raw = child.content
            line = where.line_of(pos)
            col = where.column(line, raw.split("\n", 1)[0])
            cites = tuple(
                Citation(c.source_id, c.version, c.locator, c.quote,
                         line + raw.count("\n", 0, c.offset), col, raw)
                for c in child.meta["cites"])
            raws.append(RawCitation(pos, pos + len(raw), cites))
            continue
        if kind == "fact_ref":
            meta = child.meta
            line = where.line_of(meta["pos"])
            fact_refs.append((meta["entity"], meta["attribute"], line,
                              where.column(line, child.content)))
            continue
        if kind in ("wikilink", "embed"):
            meta = child.meta
            line = where.line_of(meta["pos"])
            raw = meta["raw"]
            # table cells arrive with \| unescaped
            got = where.find(line, raw, raw.replace("|", "\\|")) if "|" in raw else \
                where.find(line, raw)
            if got is not None:
                raw = got[0]
            target = meta["target"]
            if target.lower().endswith(".md"):
                target = target[:-3]
            links.append(Link("embed" if kind == "embed" else "wikilink", target,
                              meta["fragment"], meta["label"], raw, line,
                              got[1] if got else 1))
        elif kind in ("link_open", "image"):
            href = str(child.attrs.get("href" if kind == "link_open" else "src") or "")
            if not href or _SCHEME.match(href):
                continue
            line = where.line_of((child.meta or {}).get("pos", 0))
            if kind == "link_open":
                label_parts = []
                for k in range(j + 1, len(children)):
                    if children[k].type == "link_close":
                        break
                    label_parts.append(children[k].content)
                label = "".join(label_parts)
                raw_probe = f"[{label}]" if label else "]("
            else:
                label = child.content
                raw_probe = f"![{label}]"
            decoded = unquote(href)
            target, hash_, fragment = decoded.partition("#")
            if target.lower().endswith(".md"):
                target = target[:-3]
            links.append(Link("markdown" if kind == "link_open" else "image", target,
                              fragment if hash_ else None, label or None, href, line,
                              where.column(line, raw_probe)))
        elif kind == "tag":
            tags.append(child.content)
        elif kind == "footnote_ref":
            meta = child.meta or {}
            label = str(meta.get("label") or meta.get("id"))
            fn_refs.append((label, where.line_of(meta.get("pos", 0))))
    return raws
