"""Compact JSON form of a parsed page, for storing parse results in the index."""

from __future__ import annotations

import json
from typing import Any

from veriwiki.core.claims import Citation, Claim
from veriwiki.core.model import CodeBlock, FrontmatterError, Heading, Link, Page


def page_to_json(page: Page) -> str:
    """Serialise everything of ``page`` but its body."""
    err = page.frontmatter_error
    return json.dumps({
        "t": page.title, "a": list(page.aliases), "y": page.type, "g": list(page.tags),
        "s": page.summary, "f": page.frontmatter, "fl": page.field_lines,
        "e": [err.message, err.line, err.column] if err else None,
        "h": [[h.level, h.text, h.line] for h in page.headings],
        "l": [[x.kind, x.target, x.fragment, x.label, x.raw, x.line, x.column]
              for x in page.links],
        "b": [list(b) for b in page.block_ids],
        "c": [[c.info, c.content, c.line] for c in page.code_blocks],
        "fr": [list(r) for r in page.footnote_refs], "fd": list(page.footnote_defs),
        "cl": [[c.text, c.line, [[x.source_id, x.version, x.locator, x.quote, x.line, x.column,
                                 x.raw] for x in c.citations]] for c in page.claims],
        "u": [list(u) for u in page.uncited],
        "fx": [list(r) for r in page.fact_refs],
        **({"uc": [list(r) for r in page.unread_citations]} if page.unread_citations else {}),
        **({"an": list(page.anchors)} if page.anchors else {}),
    }, ensure_ascii=False, separators=(",", ":"))


def page_from_json(path: str, data: str, body: str = "") -> Page:
    """Rebuild a :class:`Page` stored by :func:`page_to_json`."""
    d: dict[str, Any] = json.loads(data)
    e = d["e"]
    return Page(
        path=path, title=d["t"], aliases=tuple(d["a"]), type=d["y"], tags=tuple(d["g"]),
        summary=d["s"], frontmatter=d["f"], field_lines=d["fl"],
        frontmatter_error=FrontmatterError(e[0], e[1], e[2]) if e else None,
        headings=tuple(Heading(*h) for h in d["h"]),
        links=tuple(Link(*x) for x in d["l"]),
        block_ids=tuple((b[0], b[1]) for b in d["b"]),
        code_blocks=tuple(CodeBlock(*c) for c in d["c"]),
        footnote_refs=tuple((r[0], r[1]) for r in d["fr"]), footnote_defs=tuple(d["fd"]),
        claims=tuple(Claim(c[0], c[1], tuple(Citation(*x) for x in c[2]))
                     for c in d.get("cl", [])),
        uncited=tuple((u[0], u[1]) for u in d.get("u", [])),
        fact_refs=tuple((r[0], r[1], r[2], r[3]) for r in d.get("fx", [])),
        unread_citations=tuple((r[0], r[1], r[2]) for r in d.get("uc", [])),
        anchors=tuple(d.get("an", ())),
        body=body,
    )


def citations_and_infos(data: str) -> tuple[list[tuple[str, int | None, str | None]], list[str]]:
    """From a record of :func:`page_to_json`, without building the page: every
    citation's (source id, version, quote), in claim order, and every code block's info
    string (what the check cache's first pass needs of each page)."""
    d: dict[str, Any] = json.loads(data)
    cites = [(x[0], x[1], x[3]) for c in d.get("cl", []) for x in c[2]]
    return cites, [c[0] for c in d["c"]]
