"""Deterministic candidate discovery for the model-derived rules of ``check --llm``.

Nothing here calls a model: it finds, cheaply and reproducibly, the few places worth a
question to the judge — pairs of statements that may disagree, terms that recur without
a page, mentions of a page that are not links. Every list comes back in a stable order,
so the per-rule cap always picks the same candidates (and a re-run hits the cache).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from veriwiki.core.claims import plain_text, sentence_spans
from veriwiki.core.frontmatter import read_frontmatter
from veriwiki.core.model import Page
from veriwiki.core.names import normalize_name
from veriwiki.core.retrieval import ENGLISH_STOPWORDS

MASK = "\x00"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMENT = re.compile(r"<!--.*?-->|%%.*?%%", re.S)
_INLINE_CODE = re.compile(r"(`+)[^\n]*?\1")
_CITATION = re.compile(r"\[@(?:[^\]\"\n]|\"[^\"\n]*\")*\]")
_LINK = re.compile(r"!?\[\[[^\]\n]*\]\]|!?\[[^\]\n]*\]\([^)\n]*\)|<https?://[^>\s]*>"
                   r"|https?://\S+")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s|$)")
_LIST = re.compile(r"^\s*(?:>\s*)*(?:[-*+]|\d+[.)])\s+")
_QUOTE = re.compile(r"^\s*(?:>\s*)+")
_WORD = re.compile(r"\w+")
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]*|\d+(?:[.,]\d+)*")
_TERM = re.compile(r"\b[A-Z][A-Za-z0-9\-]*(?:(?: | of | for | and | the | in | on )"
                   r"[A-Z][A-Za-z0-9\-]*){1,4}\b")
_BOLD = re.compile(r"\*\*([^*\n]{3,60}?)\*\*|__([^_\n]{3,60}?)__")
_STOP = ENGLISH_STOPWORDS
Hit = tuple[int, int, frozenset[str]]  # (start, end, pages named)
MAX_STATEMENTS_PER_PAGE = 200
MAX_GROUP = 200  # statements compared per entity
PARTNERS = 3  # most similar partners kept per statement
PAIR_BUDGET = 3_000_000  # word matches counted in all, so huge vaults stay bounded
MIN_MISSING_PAGES = 3


@dataclass(frozen=True, slots=True)
class PageText:
    """A page and two masked views of its file text (same offsets and lines as the file).

    ``prose`` blanks frontmatter, code, comments and citations; ``free`` also blanks
    links and URLs, leaving only the words a reader sees as plain text.
    """

    page: Page
    prose: str
    free: str

    @property
    def path(self) -> str:
        """The page's path."""
        return self.page.path


_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with every character but newlines in ``spans`` replaced by MASK."""
    parts, pos = [], 0
    for a, b in sorted(spans):
        a = max(a, pos)
        if a >= b:
            continue
        parts += [text[pos:a], _NOT_NEWLINE.sub(MASK, text[a:b])]
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


def page_text(page: Page, text: str) -> PageText:
    """The masked views of ``page``'s file ``text``."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    spans: list[tuple[int, int]] = []
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    yaml_lines = read_frontmatter(text).yaml_lines
    if yaml_lines:
        spans.append((0, min(len(text), offsets[yaml_lines])))
    fence: str | None = None
    start = 0
    for i in range(yaml_lines, len(lines)):
        m = _FENCE.match(lines[i])
        if fence is None and m:
            fence, start = m.group(1), offsets[i]
        elif fence is not None and m and m.group(1)[0] == fence[0] \
                and len(m.group(1)) >= len(fence) and not lines[i].strip()[len(m.group(1)):]:
            spans.append((start, offsets[i + 1] - 1))
            fence = None
    if fence is not None:
        spans.append((start, len(text)))
    prose = _blank(text, spans)
    spans = [m.span() for rx in (_COMMENT, _INLINE_CODE, _CITATION) for m in rx.finditer(prose)]
    prose = _blank(prose, spans)
    free = _blank(prose, [m.span() for m in _LINK.finditer(prose)])
    return PageText(page, prose, free)


def line_of(text: str, offset: int) -> int:
    """The 1-based line of ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1


def column_of(text: str, offset: int) -> int:
    """The 1-based column of ``offset`` in ``text``."""
    return offset - (text.rfind("\n", 0, offset) + 1) + 1


def is_heading_line(text: str, offset: int) -> bool:
    """True when ``offset`` sits on a markdown heading line."""
    start = text.rfind("\n", 0, offset) + 1
    return bool(_HEADING.match(text, start))


def excerpt(text: str, offset: int, end: int, width: int = 300) -> str:
    """The readable line around ``text[offset:end]``, at most about ``width`` characters."""
    a = text.rfind("\n", 0, offset) + 1
    b = text.find("\n", end)
    b = len(text) if b < 0 else b
    if b - a > width:
        a = max(a, offset - width // 2)
        b = min(b, end + width // 2)
    line = text[a:b].replace(MASK, " ")
    line = _QUOTE.sub("", _LIST.sub("", line)).lstrip("#").strip()
    return plain_text(line)


# -- page names and mentions -----------------------------------------------------------

@dataclass
class NameIndex:
    """Every page title and alias, normalised, for finding where pages are named."""

    names: dict[str, set[str]] = field(default_factory=dict)
    first_words: set[str] = field(default_factory=set)
    max_words: int = 1

    @classmethod
    def build(cls, pages: list[Page], skip: Collection[str] = ()) -> NameIndex:
        """The names of ``pages`` (names shorter than 3 characters are left out)."""
        index = cls()
        for page in pages:
            if page.path in skip:
                continue
            for name in (page.title, *page.aliases):
                key = normalize_name(name)
                words = _WORD.findall(key)
                if len(key) < 3 or not words or not any(c.isalpha() for c in key):
                    continue
                index.names.setdefault(key, set()).add(page.path)
                index.first_words.add(words[0])
                index.max_words = max(index.max_words, min(len(words), 8))
        return index

    def names_page(self, term: str) -> bool:
        """True when ``term`` is some page's title or alias."""
        return normalize_name(term) in self.names

    def mentions(self, text: str) -> list[Hit]:
        """(start, end, pages) of each page name in ``text``, longest match first, no overlaps.

        Matches are whole words, case-insensitive, and never cross a masked region or a
        blank line.
        """
        tokens = list(_WORD.finditer(text))
        out = []
        i = 0
        while i < len(tokens):
            if tokens[i].group().casefold() not in self.first_words:
                i += 1
                continue
            hit = None
            for n in range(min(self.max_words, len(tokens) - i), 0, -1):
                a, b = tokens[i].start(), tokens[i + n - 1].end()
                span = text[a:b]
                if MASK in span or "\n\n" in span:
                    continue
                paths = self.names.get(normalize_name(span))
                if paths:
                    hit = (a, b, frozenset(paths), n)
                    break
            if hit is None:
                i += 1
                continue
            out.append(hit[:3])
            i += hit[3]
        return out


# -- suggested-link ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Mention:
    """Page ``source`` names page ``target`` at ``offset`` without linking it."""

    source: PageText
    target: str
    offset: int
    end: int
    exact_case: bool

    @property
    def text(self) -> str:
        """The words as written."""
        return self.source.free[self.offset:self.end]


def unlinked_mentions(docs: list[PageText], mentions: dict[str, list[Hit]],
                      linked: dict[str, set[str]], titles: dict[str, Page]) -> list[Mention]:
    """The first unlinked mention of each other page in each page, best first.

    ``mentions`` holds :meth:`NameIndex.mentions` of each page's ``free`` text;
    ``linked`` maps a page to the pages its links reach. Mentions written with the
    target's exact case come first, then by page and position.
    """
    out = []
    for doc in docs:
        seen: set[str] = set()
        own = {doc.path}
        for a, b, paths in mentions.get(doc.path, []):
            if own & paths or len(paths) != 1 or is_heading_line(doc.free, a):
                continue  # the page's own name, an ambiguous name, or a heading
            target = next(iter(paths))
            if target in seen or target in linked.get(doc.path, set()):
                continue
            seen.add(target)
            page = titles[target]
            written = doc.free[a:b]
            exact = written in (page.title, *page.aliases)
            out.append(Mention(doc, target, a, b, exact))
    out.sort(key=lambda m: (not m.exact_case, m.source.path, m.offset))
    return out


# -- missing-page -----------------------------------------------------------------------

@dataclass
class Term:
    """A term that names no page, and where it occurs (first place per page)."""

    key: str
    forms: Counter[str] = field(default_factory=Counter)
    places: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (offset, end)

    @property
    def text(self) -> str:
        """The most common way the term is written (ties: alphabetical)."""
        return min(self.forms.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _trim_term(term: str) -> str | None:
    words = term.split(" ")
    while words and words[0].lower() in _STOP:
        words = words[1:]
    while words and words[-1].lower() in _STOP:
        words = words[:-1]
    if not words or not any(c.isalpha() for c in "".join(words)):
        return None
    return " ".join(words)


def recurring_terms(docs: list[PageText], names: NameIndex,
                    broken: dict[str, list[tuple[str, int, int]]],
                    min_pages: int = MIN_MISSING_PAGES) -> list[Term]:
    """Terms on ``min_pages`` or more pages that name no page, most widespread first.

    A term is an unresolved link target (``broken``: page → (target, offset, end)), a
    run of capitalised words (``Mixture of Experts``, at least two words) or a
    **bold** phrase.
    """
    terms: dict[str, Term] = {}

    def add(path: str, raw: str, offset: int, end: int) -> None:
        text = _trim_term(" ".join(raw.split()))
        if text is None or len(text) < 3 or names.names_page(text):
            return
        key = normalize_name(text)
        term = terms.setdefault(key, Term(key))
        term.forms[text] += 1
        if path not in term.places or offset < term.places[path][0]:
            term.places[path] = (offset, end)

    for doc in docs:
        for target, a, b in broken.get(doc.path, []):
            add(doc.path, target, a, b)
        for m in _BOLD.finditer(doc.prose):
            raw = m.group(1) or m.group(2) or ""
            if MASK not in raw:
                add(doc.path, raw, m.start(), m.end())
        for m in _TERM.finditer(doc.free):
            text = _trim_term(m.group())
            if text is not None and len(text.split(" ")) >= 2:
                add(doc.path, m.group(), m.start(), m.end())
    found = [t for t in terms.values() if len(t.places) >= min_pages]
    found.sort(key=lambda t: (-len(t.places), t.key))
    return found


# -- possible-contradiction -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Statement:
    """A sentence of a page (cited or not) and its content words."""

    doc: PageText
    line: int
    end_line: int
    text: str
    cited: bool
    words: frozenset[str]
    numbers: frozenset[str]

    @property
    def place(self) -> tuple[str, int]:
        """(path, line), the order statements are compared in."""
        return (self.doc.path, self.line)


def _statement(doc: PageText, line: int, end_line: int, text: str, cited: bool
               ) -> Statement | None:
    if len(text) > 600:
        return None
    tokens = _KEYWORD.findall(text.lower())
    words = frozenset(t for t in tokens if len(t) >= 3 and t[0].isalpha() and t not in _STOP)
    if len(words) < 3:
        return None
    numbers = frozenset(t.replace(",", "") for t in tokens if t[0].isdigit())
    return Statement(doc, line, end_line, text, cited, words, numbers)


def statements(doc: PageText) -> list[Statement]:
    """The page's claims, then its other prose sentences (headings and tables skipped)."""
    out: list[Statement] = []
    claimed: set[tuple[int, str]] = set()
    for claim in doc.page.claims:
        st = _statement(doc, claim.line, claim.line, claim.text, True)
        claimed.add((claim.line, claim.text.casefold()))
        if st is not None:
            out.append(st)
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if not block:
            return
        joined = "\n".join(t for _, t in block)
        first = block[0][0]
        for a, b in sentence_spans(joined):
            lead = len(joined[a:b]) - len(joined[a:b].lstrip())
            line = first + joined.count("\n", 0, a + lead)
            text = plain_text(joined[a:b])
            if (line, text.casefold()) in claimed:
                continue
            st = _statement(doc, line, line + joined.count("\n", a + lead, b), text, False)
            if st is not None:
                out.append(st)
        block.clear()

    for number, raw in enumerate(doc.prose.split("\n"), 1):
        text = raw.replace(MASK, " ")
        if not text.strip() or _HEADING.match(text) or text.lstrip().startswith("|"):
            flush()
            continue
        m = _LIST.match(text)
        if m:
            flush()
            text = text[m.end():]
        block.append((number, _QUOTE.sub("", text)))
    flush()
    return out[:MAX_STATEMENTS_PER_PAGE]


@dataclass(frozen=True, slots=True)
class StatementPair:
    """Two statements that share an entity and most of their words; ``later`` is reported."""

    earlier: Statement
    later: Statement
    score: float


def statement_pairs(groups: dict[str, list[Statement]], min_shared: int = 2,
                    min_overlap: float = 0.3) -> list[StatementPair]:
    """Pairs of statements about one entity that share content words but differ.

    ``groups`` maps an entity (a page) to the statements about it. Pairs on the same
    line, and pairs with the same text, are left out. Each statement keeps its
    ``PARTNERS`` most similar partners; at most ``MAX_GROUP`` statements per entity and
    ``PAIR_BUDGET`` word matches in all are compared. Most similar first.
    """
    pairs: dict[tuple[tuple[str, int, str], tuple[str, int, str]], StatementPair] = {}
    budget = PAIR_BUDGET
    for entity in sorted(groups):
        members = sorted(groups[entity], key=lambda s: (s.place, s.text))[:MAX_GROUP]
        by_word: dict[str, list[int]] = defaultdict(list)
        for i, st in enumerate(members):
            shared: Counter[int] = Counter()
            for word in st.words:
                seen = by_word.get(word)
                if seen:
                    shared.update(seen)
                    budget -= len(seen)
                by_word[word].append(i)
            best = []
            for j, count in shared.items():
                if count < min_shared:
                    continue
                other = members[j]
                if other.place == st.place or other.text.casefold() == st.text.casefold():
                    continue
                overlap = count / len(st.words | other.words)
                if overlap >= min_overlap:
                    best.append((-round(overlap, 6), j))
            for neg, j in sorted(best)[:PARTNERS]:
                earlier, later = sorted((members[j], st), key=lambda s: (s.place, s.text))
                key = ((*earlier.place, earlier.text), (*later.place, later.text))
                if key not in pairs:
                    pairs[key] = StatementPair(earlier, later, -neg)
            if budget <= 0:
                break
        if budget <= 0:
            break
    return sorted(pairs.values(), key=lambda p: (-p.score, p.later.place, p.earlier.place,
                                                 p.later.text, p.earlier.text))
