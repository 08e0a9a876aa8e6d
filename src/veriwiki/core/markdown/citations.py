"""Citations ``[@source-id, "exact quote"]`` as a markdown-it inline rule.

Grammar (one bracket may hold several citations joined by ``;``)::

    citation  := "[" cite (";" cite)* "]"
    cite      := "@" id [":v" N] ["," locator] ["," quote]
    locator   := "p." / "pp." / "page" / "sec." / "§" / "table" / "fig." ... up to ","
    quote     := '"' ... '"'   (or curly “ ”; \\" escapes a quote character)

Ids are lower-case slugs (``[a-z0-9][a-z0-9._-]*``). The rule runs before the link
rule, so ``[@id, "..."]`` is never read as a link; text such as ``[see @x]`` that
does not start with ``[@`` is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline

_ID = re.compile(r"@([a-z0-9][a-z0-9._-]*?)(?::v(\d+))?(?=[\s,;\]]|$)", re.I)
_OPEN_QUOTES = {'"': '"', "“": "”", "„": "“"}


@dataclass(frozen=True, slots=True)
class CiteParts:
    """One parsed citation inside a bracket."""

    source_id: str
    version: int | None
    locator: str | None
    quote: str | None
    offset: int  # offset of the "@" from the start of the bracket


def _read_quote(src: str, pos: int, end: int) -> tuple[str, int] | None:
    close = _OPEN_QUOTES.get(src[pos])
    if close is None:
        return None
    out = []
    i = pos + 1
    while i < end:
        ch = src[i]
        if ch == "\\" and i + 1 < end:
            out.append(src[i + 1])
            i += 2
            continue
        if ch == close or (close == "“" and ch == "”"):
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return None


def find_close(src: str, start: int, end: int, memo: dict[int, int] | None = None) -> int:
    """Index of the ``]`` closing the bracket at ``start`` (quotes may hold ``]``).

    A walk that passes another ``[`` outside quotes continues exactly as a walk from
    that bracket would, so ``memo`` (one per ``src`` and ``end``) records the answer
    for those brackets too: a run of unclosed ``[@`` then costs one walk, not one each.
    """
    if memo is not None and start in memo:
        return memo[start]
    passed = [start]
    i = start + 1
    found = -1
    while i < end:
        ch = src[i]
        if ch in _OPEN_QUOTES:
            got = _read_quote(src, i, end)
            if got is None:
                break
            i = got[1]
            continue
        if ch == "\n" and i + 1 < end and src[i + 1] == "\n":
            break
        if ch == "]":
            found = i
            break
        if ch == "[" and memo is not None:
            if i in memo:
                found = memo[i]
                break
            passed.append(i)
        i += 1
    if memo is not None:
        for at in passed:
            memo[at] = found
    return found


def parse_citations(body: str) -> list[CiteParts] | None:
    """Parse the inside of ``[...]``; None when it is not a citation."""
    cites: list[CiteParts] = []
    i, n = 0, len(body)
    while i < n:
        while i < n and body[i].isspace():
            i += 1
        m = _ID.match(body, i)
        if not m:
            return None
        at = i
        i = m.end()
        locator = quote = None
        while i < n and body[i] not in ";":
            while i < n and body[i].isspace():
                i += 1
            if i >= n or body[i] == ";":
                break
            if body[i] != ",":
                return None
            i += 1
            while i < n and body[i].isspace():
                i += 1
            if i < n and body[i] in _OPEN_QUOTES:
                got = _read_quote(body, i, n)
                if got is None or quote is not None:
                    return None
                quote, i = got
            else:
                j = i
                while j < n and body[j] not in ",;":
                    j += 1
                part = body[i:j].strip()
                if not part or locator is not None or quote is not None:
                    return None
                locator, i = part, j
        cites.append(CiteParts(m.group(1).lower(), int(m.group(2)) if m.group(2) else None,
                               locator, quote, at))
        i += 1  # skip ";"
    return cites or None


def _citation(state: StateInline, silent: bool) -> bool:
    src = state.src
    pos = state.pos
    if src[pos] != "[" or not src.startswith("[@", pos):
        return False
    memos = state.__dict__.setdefault("_veriwiki_close", {})
    close = find_close(src, pos, state.posMax, memos.setdefault(state.posMax, {}))
    if close < 0 or src[close + 1 : close + 2] in ("(", "["):
        return False  # [@name](url) and [@name][ref] are links
    cites = parse_citations(src[pos + 1 : close])
    if cites is None:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.content = src[pos : close + 1]
        token.meta = {"pos": pos, "cites": cites}
    state.pos = close + 1
    return True


def citations_plugin(md: MarkdownIt) -> None:
    """Register the citation rule ahead of wikilinks and links."""
    md.inline.ruler.before("wikilink", "citation", _citation)


def strip_citations(text: str) -> str:
    """``text`` without its ``[@id, "quote"]`` citations (for summaries and listings)."""
    out = []
    pos = 0
    memo: dict[int, int] = {}
    while True:
        start = text.find("[@", pos)
        if start < 0:
            break
        close = find_close(text, start, len(text), memo)
        if close < 0 and _ID.match(text, start + 1):
            out.append(text[pos:start].rstrip(" "))  # a citation cut off by truncation
            return "".join(out)
        if close < 0 or parse_citations(text[start + 1 : close]) is None:
            out.append(text[pos : start + 2])
            pos = start + 2
            continue
        out.append(text[pos:start].rstrip(" "))
        pos = close + 1
    out.append(text[pos:])
    return "".join(out)
