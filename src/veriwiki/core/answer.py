"""Evidence passages and the deterministic verification of answer sentences.

An answer sentence is *verified* when every check below passes; nothing here asks a
model anything:

1. it cites at least one passage, and every passage it cites exists;
2. every number it states is stated, by value, by a cited passage
   (:func:`veriwiki.core.numbers.compare`, the same code ``check`` uses);
3. at least :data:`MIN_OVERLAP` of its content words (lower-cased, stop words
   dropped, crudely stemmed) occur in the cited passages or their page titles;
4. each cited passage still occurs in the current text of its page
   (:func:`veriwiki.core.quotes.find_quote`), so a stale index cannot vouch for text
   that is gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from veriwiki.core.claims import Citation, plain_text, sentence_spans
from veriwiki.core.retrieval import overlap

MIN_OVERLAP = 0.5

_CITATION = re.compile(r'\[@(?:[^\]"\n]|"(?:[^"\\\n]|\\.)*")*\]')
_MARKERS = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST = re.compile(r"^\s*(?:>\s*)*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?")
_QUOTE = re.compile(r"^\s*(?:>\s*)+")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")


@dataclass(frozen=True, slots=True)
class Passage:
    """One numbered piece of evidence: a claim of a page, or a sentence of its prose.

    ``citations`` are the source citations of a claim (empty for prose).
    """

    ref: int
    path: str
    title: str
    line: int
    text: str
    kind: str  # "claim" | "text"
    citations: tuple[Citation, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form (one entry of ``citations`` in ``ask --json``)."""
        return {"ref": self.ref, "page": self.title, "path": self.path, "line": self.line,
                "quote": self.text, "kind": self.kind,
                "source_citations": [citation_json(c) for c in self.citations]}


def citation_json(cite: Citation) -> dict[str, Any]:
    """A source citation as JSON."""
    return {"source": cite.key, "locator": cite.locator, "quote": cite.quote}


@dataclass
class CheckedSentence:
    """One sentence of an answer, the passages it cites, and whether it verified."""

    text: str
    refs: list[int]
    verified: bool = False
    reasons: list[str] = field(default_factory=list)


# -- page prose ------------------------------------------------------------------------------


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line, lines) of each prose block of a page file: paragraphs and list items."""
    from veriwiki.core.frontmatter import read_frontmatter

    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    skip = read_frontmatter(text).yaml_lines
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    fence: str | None = None
    comment = False

    def flush() -> None:
        if current:
            blocks.append((start, list(current)))
            current.clear()

    for i in range(skip, len(lines)):
        line = lines[i]
        fenced = _FENCE.match(line)
        if fence is not None:
            if fenced and fenced.group(1)[0] == fence[0] and len(fenced.group(1)) >= len(fence):
                fence = None
            continue
        if comment:
            comment = "-->" not in line
            continue
        if fenced:
            flush()
            fence = fenced.group(1)
            continue
        stripped = line.strip()
        if stripped.startswith("<!--"):
            flush()
            comment = "-->" not in stripped
            continue
        if (not stripped or stripped.startswith(("#", "|", "<")) or _RULE.match(line)
                or stripped.startswith("%%")):
            flush()
            continue
        item = _LIST.match(line)
        if item:
            flush()
            line = line[item.end():]
        else:
            line = _QUOTE.sub("", line)
        if not current:
            start = i + 1
        current.append(line.strip())
    flush()
    return blocks


def page_sentences(text: str) -> list[tuple[int, str]]:
    """(file line, sentence as a reader sees it) for the prose of a page, citations removed."""
    out: list[tuple[int, str]] = []
    for first, lines in _blocks(text):
        raw = _CITATION.sub("", "\n".join(lines))
        for a, b in sentence_spans(raw):
            sentence = plain_text(raw[a:b])
            if len(sentence) < 3 or not any(c.isalnum() for c in sentence):
                continue
            lead = len(raw[a:b]) - len(raw[a:b].lstrip())
            out.append((first + raw.count("\n", 0, a + lead), sentence))
    return out


def reader_text(text: str, path: str = "page.md") -> str:
    """What a reader sees of a page file: its claims and its prose, one per line."""
    from veriwiki.core.parse import parse_page

    page = parse_page(path, text)
    return "\n".join([c.text for c in page.claims] + [s for _, s in page_sentences(text)])


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (no ellipsis added)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


# -- answer sentences ------------------------------------------------------------------------


def split_answer(sentence: str, refs: Sequence[int]) -> list[tuple[str, list[int]]]:
    """A model's answer sentence cleaned and split into single sentences with their refs.

    Inline markers such as ``[2]`` or ``[1, 3]`` are removed and added to the refs;
    citations and link markup are reduced to plain text.
    """
    numbers = list(dict.fromkeys(int(r) for r in refs))
    for m in _MARKERS.finditer(sentence):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            numbers.append(int(n))
    numbers = list(dict.fromkeys(numbers))
    text = _MARKERS.sub("", sentence)
    text = _CITATION.sub("", text)
    text = re.sub(r"<[^>]{0,200}>", " ", text)
    text = plain_text(text.replace("\n", " "))
    text = text.lstrip("-*•># ").strip()
    pieces = []
    for a, b in sentence_spans(text):
        piece = text[a:b].strip()
        if len(piece) < 2 or not any(c.isalnum() for c in piece):
            continue
        if piece[-1] not in ".!?":
            piece += "."
        pieces.append((piece, list(numbers)))
    return pieces


def verify_sentence(text: str, refs: Sequence[int], passages: Mapping[int, Passage],
                    current_text: Callable[[str], str | None],
                    min_overlap: float = MIN_OVERLAP) -> CheckedSentence:
    """Check one answer sentence against the passages it cites (see the module doc).

    ``current_text(path)`` is the reader text of a page as it is now (None if gone).
    """
    from veriwiki.core.numbers import compare
    from veriwiki.core.quotes import find_quote

    out = CheckedSentence(text, list(refs))
    if not refs:
        out.reasons.append("cites no passage")
    unknown = [n for n in refs if n not in passages]
    if unknown:
        out.reasons.append("cites passages that do not exist: "
                           + ", ".join(f"[{n}]" for n in unknown))
    cited = [passages[n] for n in refs if n in passages]
    if cited:
        issues = compare(text, " … ".join(p.text for p in cited))
        for i in issues:
            said = f' (they say "{i.quote_raw}")' if i.quote_raw else ""
            out.reasons.append(
                f'number "{i.claim_raw}" is not stated by the cited passages{said}'
                if i.kind == "number-mismatch" else
                f'number "{i.claim_raw}" is in another unit than the cited passages{said}')
        share, missing = overlap(text, [t for p in cited for t in (p.text, p.title)])
        if share == 0 and not missing:
            out.reasons.append("has no content words to check")
        elif share < min_overlap:
            out.reasons.append(
                f"only {share:.0%} of its content words occur in the cited passages "
                f"(needs {min_overlap:.0%}; missing: {', '.join(missing[:6]) or 'all'})")
        for p in cited:
            now = current_text(p.path)
            if now is None:
                out.reasons.append(f"passage [{p.ref}]: {p.path} no longer exists")
            elif find_quote(now, p.text) is None:
                out.reasons.append(f"passage [{p.ref}] is no longer in {p.path} (the page "
                                   "changed since it was indexed)")
    out.verified = not out.reasons
    return out
