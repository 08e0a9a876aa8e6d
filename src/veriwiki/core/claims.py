"""Claims: the sentences of a page that carry citations, and what they cite.

A claim is the sentence around one or more citations (``[@id, "quote"]``). Its text
is the sentence as a reader sees it: citations removed, link markup reduced to the
link's text, emphasis and code markers dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from veriwiki.core.names import tag_at

_ABBREV = {"e.g", "i.e", "al", "p", "pp", "vs", "approx", "fig", "eq", "sec", "no", "cf",
           "etc", "ca", "ch", "vol", "mr", "ms", "dr", "st", "resp", "ref", "refs", "tab"}
_BOUNDARY = re.compile(r"[.!?](?=[\"')\]]*\s+(?:[\"'(\[]*[A-Z0-9@#*_\[]|$))|[.!?][\"')\]]*$")
_WIKI = re.compile(r"!?\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\\?\|([^\]]*))?\]\]")
_MDLINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# the same without the optional "!" (which holds no digit): they start with a literal,
# which the engine searches for instead of trying every position
_WIKI_SPAN = re.compile(r"\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\\?\|([^\]]*))?\]\]")
_MDLINK_SPAN = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# white space before punctuation, in text whose white space is single spaces
_SPACE_PUNCT = re.compile(r" ([.,;:!?](?: |$))")
# emphasis and code markers: ``**``, ``__``, a backtick run, a ``*`` or ``_`` not between
# two word characters (every branch starts with a literal, so the engine skips ahead)
_MARKS = re.compile(r"\*\*|__|`+|[*_](?:(?<!\w[*_])|(?!\w))")
_ASCII_DIGIT = re.compile(r"[0-9]")
# the characters str.isdigit accepts: Unicode's decimal digits (\d) and the other digits
# (superscripts, circled, ...); tests/test_parse_fastpath.py checks the set
_DIGIT = re.compile(r"[\d\u00b2\u00b3\u00b9\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089"
                    r"\u2460-\u2468\u2474-\u247c\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff"
                    r"\u2776-\u277e\u2780-\u2788\u278a-\u2792\U00010a40-\U00010a43"
                    r"\U00010e60-\U00010e68\U00011052-\U0001105a\U0001f100-\U0001f10a]")
_ASCII_DIGITS = re.compile(r"[0-9]+")
# a block id closing a paragraph (core/parse.py)
_BLOCK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_NOT_SPACE = re.compile(r"\S")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")


def _has_digit(text: str) -> bool:
    """True when some character of ``text`` is a digit (``str.isdigit``)."""
    if text.isascii():  # the common case, searched in C
        return _ASCII_DIGIT.search(text) is not None
    return _DIGIT.search(text) is not None


@dataclass(frozen=True, slots=True)
class Citation:
    """One citation: the source it names and the exact quote it offers."""

    source_id: str
    version: int | None
    locator: str | None
    quote: str | None
    line: int
    column: int
    raw: str

    @property
    def key(self) -> str:
        """``id`` or ``id:vN`` as written."""
        return self.source_id + (f":v{self.version}" if self.version else "")


@dataclass(frozen=True, slots=True)
class Claim:
    """A cited sentence: its readable text, its line and its citations."""

    text: str
    line: int
    citations: tuple[Citation, ...]


def plain_text(markdown: str) -> str:
    """Inline markdown reduced to what a reader sees (links to their text)."""
    text = markdown
    # each pattern needs its opening characters: most sentences skip most patterns
    if "[[" in text:
        text = _WIKI.sub(lambda m: m.group(2) or m.group(1), text)
    if "](" in text:
        text = _MDLINK.sub(r"\1", text)
    if "*" in text or "_" in text or "`" in text:
        text = _MARKS.sub("", text)
    text = " ".join(text.split())
    if " ." in text or " ," in text or " ;" in text or " :" in text or " !" in text or \
            " ?" in text:
        return _SPACE_PUNCT.sub(r"\1", text)
    return text


def sentence_spans(text: str, through: int | None = None) -> list[tuple[int, int]]:
    """Start/end offsets of the sentences of ``text`` (with ``through``, only up to the
    sentence holding that offset: whether a full stop ends a sentence depends only on
    the text around it, so the sentences before are the same)."""
    spans = []
    start = 0
    n = len(text)
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if text[end - 1] == "." and end - start >= 2:
            # the run of letters and dots before the full stop ("e.g" in "... e.g."),
            # found from the end (matching ``([A-Za-z.]+)\.$`` scanned from the start)
            i = end - 1
            while i > start and text[i - 1] in _WORD_CHARS:
                i -= 1
            if i < end - 1 and text[i:end - 1].lower().rstrip(".") in _ABBREV:
                continue
        at = m.start()
        if at > 0 and end < n and text[at - 1].isdigit() and text[end:end + 1].isdigit():
            continue
        spans.append((start, end))
        if through is not None and end > through:
            return spans
        start = end
    if start < len(text) and text[start:].strip():
        spans.append((start, len(text)))
    return spans


@dataclass(frozen=True, slots=True)
class RawCitation:
    """A citation as found by the parser: where it sits in the inline source."""

    start: int
    end: int
    citations: tuple[Citation, ...]


def _strip(content: str, found: list[RawCitation]) -> tuple[str, list[tuple[int, RawCitation]]]:
    parts = []
    marks: list[tuple[int, RawCitation]] = []
    pos = length = 0
    for raw in sorted(found, key=lambda r: r.start):
        piece = content[pos:raw.start]
        parts.append(piece)
        length += len(piece)
        marks.append((length, raw))
        pos = raw.end
    parts.append(content[pos:])
    return "".join(parts), marks


def _assign(stripped: str, spans: list[tuple[int, int]], marks: list[tuple[int, RawCitation]]
            ) -> dict[int, list[RawCitation]]:
    by_sentence: dict[int, list[RawCitation]] = {}
    for offset, raw in marks:
        idx = next((i for i, (a, b) in enumerate(spans) if a <= offset < b), len(spans) - 1)
        if idx > 0 and not stripped[spans[idx][0]:offset].strip(" \t\n.,;:"):
            idx -= 1  # "... sentence. [@x, "q"]": the citation closes the previous sentence
        by_sentence.setdefault(max(idx, 0), []).append(raw)
    return by_sentence


def _line_of(stripped: str, first_line: int, a: int) -> int:
    lead = len(stripped[a:]) - len(stripped[a:].lstrip())
    return first_line + stripped.count("\n", 0, a + lead)


def _naming_spans(text: str) -> list[tuple[int, int]]:
    """The spans of ``text`` that name something rather than say something: a
    wikilink's target and heading (``[[Llama 3#Results]]``; its ``|alias`` is text a
    reader sees), a markdown link's address (``(https://arxiv.org/abs/2401.1)``), a
    ``#tag`` (``#gpt4``; ``#1`` is no tag) and a paragraph's closing block id
    (``^b832``)."""
    spans = []
    at = text.find("#")
    while at >= 0:  # a tag where the tag rule reads one
        tag = tag_at(text, at)
        if tag is not None:
            spans.append((at, tag[1]))
        at = text.find("#", at + 1 if tag is None else tag[1])
    if "^" in text:
        end = len(text.rstrip())
        caret = text.rfind("^", 0, end)
        if caret > 0 and text[caret - 1].isspace() and _BLOCK_ID.fullmatch(text, caret + 1, end):
            spans.append((caret, end))
    if "[[" in text:  # a span's "!" (an embed's) holds no digit: left out
        for m in _WIKI_SPAN.finditer(text):
            if m.group(2) is None:
                spans.append((m.start(), m.end()))
            else:
                spans += [(m.start(), m.start(2)), (m.end(2), m.end())]
    if "](" in text:
        spans += [(m.end(1), m.end()) for m in _MDLINK_SPAN.finditer(text)]
    return sorted(spans)


def _digit_offsets(text: str) -> list[int]:
    """Offsets of the digits of ``text`` (the first of each run of ASCII digits) that a
    reader sees as part of the prose: not those of a link's target or address, which
    name a page or a URL (``[[GPT 4]]`` states no number). A run never crosses the
    edge of a hidden span (none starts or ends next to a digit: ``[[``, ``#`` after a
    space, ``^`` after a space, ``](``; ``]]``, ``)``, ``|``, a tag's last character),
    so the runs are found once and those starting in a hidden span dropped."""
    if text.isascii():
        digits = [m.start() for m in _ASCII_DIGITS.finditer(text)]
    else:
        digits = [m.start() for m in _DIGIT.finditer(text)]  # every digit
    if not digits or ("#" not in text and "^" not in text and "[" not in text):
        return digits  # nothing names anything
    spans = _naming_spans(text)
    if not spans:
        return digits
    out = []
    k, count, hidden_to = 0, len(spans), 0
    for d in digits:  # spans by start: hidden_to is the furthest end of those begun
        while k < count and spans[k][0] <= d:
            hidden_to = max(hidden_to, spans[k][1])
            k += 1
        if d >= hidden_to:
            out.append(d)
    return out


def uncited_sentences(content: str, first_line: int, found: list[RawCitation]
                      ) -> list[tuple[int, str]]:
    """(line, text) of the sentences in ``content`` that hold a digit but no citation.

    A sentence's line is that of its first character other than white space. The
    digits are found once and walked along with the sentences, and lines are counted
    from the previous sentence reported, so a long paragraph costs one pass.
    """
    if not _has_digit(content):
        return []
    stripped, marks = _strip(content, found) if found else (content, [])
    digits = _digit_offsets(stripped)
    if not digits:
        return []
    if "." not in stripped and "!" not in stripped and "?" not in stripped:
        spans = [(0, len(stripped))]  # no sentence ends inside: one sentence
    else:  # a citation may sit after the last digit: every sentence is needed to place it
        spans = sentence_spans(stripped, None if marks else digits[-1])
    cited = _assign(stripped, spans, marks) if marks else {}
    out = []
    k, last = 0, len(digits)
    line, counted = first_line, 0
    for i, (a, b) in enumerate(spans):
        while k < last and digits[k] < a:
            k += 1
        if k == last:
            break  # no digit after this point
        if digits[k] >= b or i in cited:
            continue
        m = _NOT_SPACE.search(stripped, a)
        start = m.start() if m else len(stripped)
        line += stripped.count("\n", counted, start)
        counted = start
        out.append((line, plain_text(stripped[a:b])))
    return out


def build_claims(content: str, first_line: int, found: list[RawCitation]) -> list[Claim]:
    """Group the citations of one block's inline ``content`` into claims.

    ``first_line`` is the file line of the block's first line. A citation placed
    right after a sentence's closing punctuation belongs to that sentence.
    """
    if not found:
        return []
    stripped, marks = _strip(content, found)
    spans = sentence_spans(stripped) or [(0, len(stripped))]
    claims = []
    for idx, raws in sorted(_assign(stripped, spans, marks).items()):
        a, b = spans[idx]
        cites = tuple(c for r in raws for c in r.citations)
        claims.append(Claim(plain_text(stripped[a:b]), _line_of(stripped, first_line, a), cites))
    return claims
