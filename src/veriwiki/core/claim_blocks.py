"""Pure text work of ingest: cutting a source into passages, and the claim blocks
ingest writes into pages (rendering, merging with what a person added, new pages and
source summaries). No I/O: the ingest service decides what to write where.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from veriwiki.core.claim_verify import CheckedClaim
from veriwiki.core.claims import sentence_spans
from veriwiki.core.model import Source

BLOCK_START = "<!-- veriwiki:claims source={id} -->"
BLOCK_END = "<!-- /veriwiki:claims -->"
_BLOCK = re.compile(r"<!-- veriwiki:claims source=(?P<id>[^ ]+) -->\n(?P<body>.*?)"
                    r"<!-- /veriwiki:claims -->\n?", re.S)

# -- passages --------------------------------------------------------------------------------


def passages(text: str, limit: int) -> list[str]:
    """``text`` cut at paragraph (then sentence) boundaries into chunks of ≤ ``limit`` chars."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\f", text) if p.strip()]
    pieces: list[str] = []
    for para in paragraphs:
        if len(para) <= limit:
            pieces.append(para)
            continue
        current = ""
        for a, b in sentence_spans(para):
            sentence = para[a:b].strip()
            if current and len(current) + len(sentence) + 1 > limit:
                pieces.append(current)
                current = ""
            current = f"{current} {sentence}".strip()
        if current:
            pieces.append(current)
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + len(piece) + 2 <= limit:
            out[-1] += "\n\n" + piece
        else:
            out.append(piece[:limit * 2])
    return out


def passage_sentences(passage: str) -> list[str]:
    """The sentences of a passage (one line each), for the model to choose quotes from."""
    out = []
    for para in passage.split("\n\n"):
        lines = [ln for ln in para.splitlines()
                 if not re.match(r"\s*(#|\||```)", ln)]  # headings, table rows, fences
        flat = " ".join(" ".join(lines).split())
        for a, b in sentence_spans(flat):
            sentence = flat[a:b].strip()
            if 12 <= len(sentence) <= 400 and len(sentence.split()) >= 4 and \
                    sentence not in out:
                out.append(sentence)
    return out


# -- pages -------------------------------------------------------------------------------------


def citation(source_id: str, quote: str) -> str:
    """``[@id, "quote"]`` with quotation marks in the quote escaped."""
    return f'[@{source_id}, "{quote.replace(chr(92), " ").replace(chr(34), chr(92) + chr(34))}"]'


def claim_lines(source_id: str, claims: list[CheckedClaim]) -> list[str]:
    """Bullet lines for claims: verified ones cited, unverified ones marked and uncited."""
    lines = []
    for c in claims:
        if c.verified:
            lines.append(f"- {c.claim} {citation(source_id, c.quote)}")
        else:
            lines.append(f"- Unverified, not cited ({c.reason}): {c.claim}")
    return lines


def render_block(source_id: str, summary_title: str, claims: list[CheckedClaim],
                 related: list[str], keep: list[str]) -> str:
    """The managed block ingest owns inside a page (human lines in ``keep`` carried over)."""
    lines = [BLOCK_START.format(id=source_id), f"## From [[{summary_title}]]", ""]
    lines += claim_lines(source_id, claims)
    if keep:
        lines += ["", *keep]
    if related:
        lines += ["", "Related: " + ", ".join(f"[[{r}]]" for r in related)]
    lines.append(BLOCK_END)
    return "\n".join(lines) + "\n"


def _generated(line: str, source_id: str) -> bool:
    s = line.strip()
    return (not s or s.startswith("## From [[") or s.startswith("Related: [[")
            or s.startswith("### ")
            or s.startswith("- Unverified, not cited") or f"[@{source_id}" in s)


def merge_block(text: str, source_id: str, block_for: Callable[[list[str]], str]) -> str:
    """Replace this source's block in ``text`` (or append one); all other text is kept."""
    for m in _BLOCK.finditer(text):
        if m.group("id") == source_id:
            keep = [ln for ln in m.group("body").splitlines() if not _generated(ln, source_id)]
            return text[:m.start()] + block_for(keep) + text[m.end():]
    base = text if text.endswith("\n") else text + "\n"
    return base + "\n" + block_for([])


def new_page_text(title: str, kind: str, source_id: str) -> str:
    """A new page for an entity or concept, typed by its schema."""
    import yaml

    front: dict[str, Any] = {"title": title}
    if kind == "concept":
        front["type"] = "concept"
    else:
        front["type"] = "entity"
        front["kind"] = ("organization" if kind == "organization" else
                         kind if kind in ("person", "dataset", "product", "paper",
                                          "benchmark") else "other")
    front["sources"] = [source_id]
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    return f"---\n{head}---\n# {title}\n"


def summary_text(source: Source, version: int, title: str, pages: list[str],
                 claims: list[CheckedClaim], model: str) -> str:
    """The source-summary page: where the source is, which pages it touched, its claims."""
    import yaml

    front: dict[str, Any] = {"title": title, "type": "source-summary", "sources": [source.id],
                             "ingested": f"{source.id}:v{version}", "model": model}
    if source.origin and re.match(r"^https?://", source.origin):
        front["url"] = source.origin
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    lines = [f"---\n{head}---", f"# {title}", "",
             f"What the source `{source.id}` states, as claims checked against its text. "
             "Each claim below carries the exact passage it rests on.", ""]
    if pages:
        lines += ["## Pages", ""] + [f"- [[{p}]]" for p in pages] + [""]
    lines += ["## Key claims", ""]
    verified = [c for c in claims if c.verified]
    lines += claim_lines(source.id, verified) if verified else [
        "No claim from this source could be verified."]
    return "\n".join(lines) + "\n"
