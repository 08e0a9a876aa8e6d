"""Extractive ingest, the pure part: which sentences of a source are worth a claim, and
what each is about.

Nothing here paraphrases: a selected sentence becomes a claim whose quote is the
sentence itself, so it verifies by construction. The rules are plain and deterministic
(numbers, definitions, comparisons, names of models, methods and datasets); every
sentence left out carries the reason, so a reviewer sees the coverage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from veriwiki.core.claim_verify import CheckedClaim
from veriwiki.core.claims import sentence_spans
from veriwiki.core.source_names import (  # noqa: F401 - re-exported
    LEAD,
    NameInfo,
    find_names,
    fold,
    head_nouns,
    main_subject,
    name_runs,
    occurrences,
    page_worthy,
    proper_words,
    subject_of,
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of a source, in reading order, with the heading it sits under."""

    index: int
    text: str
    heading: str | None
    item: bool = False   # a list item (release notes rarely write full sentences)


@dataclass(frozen=True, slots=True)
class Selection:
    """Whether a sentence is taken as a claim, and why (the signals found, or the skip)."""

    sentence: Sentence
    taken: bool
    reason: str
    score: int


@dataclass(frozen=True, slots=True)
class TypedFact:
    """An attribute value stated in a recognisable pattern (``32 layers``)."""

    attribute: str
    value: str
    unit: str | None
    quote: str


# -- sentences ------------------------------------------------------------------------------

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_SKIP_LINE = re.compile(r"^\s*(\||```|~~~|<)")
_UNDERLINE = re.compile(r"^\s*(?:=+|-+)\s*$")


def source_sentences(text: str) -> list[Sentence]:
    """The prose sentences of ``text`` in order; headings, tables and fences are left out.

    A list item is a unit of its own (release notes rarely end items with a full stop).
    """
    out: list[Sentence] = []
    heading: str | None = None
    block: list[str] = []
    item = False
    front = re.match(r"---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|$)", text, re.S)
    if front:   # YAML frontmatter of a markdown source is metadata, not prose
        text = "\n" * text.count("\n", 0, front.end()) + text[front.end():]
    lined = "\n\n" not in text[:2000]   # one paragraph per line (extracted HTML)

    def flush() -> None:
        nonlocal item
        flat = " ".join(" ".join(block).split())
        block.clear()
        for a, b in sentence_spans(flat):
            piece = flat[a:b].strip()
            if piece:
                out.append(Sentence(len(out), piece, heading, item))
        item = False

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            flush()   # an H1 is the document's title, not a topic
            heading = (m.group(2).strip() or None) if len(m.group(1)) > 1 else None
            continue
        if _UNDERLINE.match(line) and len(line.strip()) >= 3:
            if len(block) == 1 and not item:     # a setext heading: "Title" over "====="
                heading = block[0].strip() or None
                block.clear()
            flush()
            continue
        if not line.strip() or _SKIP_LINE.match(line):
            flush()
            continue
        if _BULLET.match(line):
            flush()
            item = True
            block.append(_BULLET.sub("", line))
            continue
        if lined and len(block) == 1 and _is_title_line(block[0]) and \
                line.lstrip()[:1].isupper():
            heading = block.pop().strip() or None   # a bare title line
            flush()
        elif lined and block and re.search(r"[.!?]\s*$", block[-1]):
            flush()
        block.append(line)
    flush()
    return out


def _is_title_line(line: str) -> bool:
    s = line.strip()
    return 0 < len(s) <= 90 and not re.search(r"[.!?:;,]$", s) and len(s.split()) <= 12


# -- selection --------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![A-Za-z])\d[\d,.]*(?:e-?\d+)?|\b(?:half|twice|double[sd]?|"
                     r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|zero|"
                     r"tripled?|quadrupled?|dozens?|hundreds?|thousands?|millions?|"
                     r"billions?)\b", re.I)
_COMPARISON = re.compile(r"\b(?:than|compared (?:to|with)|outperform\w*|match(?:es|ed)|"
                         r"up from|down from|from \S+ to|rais\w+|ros[ei]\w*|f[ae]ll\w*|"
                         r"cut|halv\w+|doubl\w+|unchanged|improv\w+|beats?|exceeds?|"
                         r"instead of|rather than|better|worse|faster|slower|fewer|"
                         r"between|versus|vs\.?)\b", re.I)
_DEFINES = re.compile(r"^(?:[\w\s'’.-]{1,60}?)\s(?:is|are)\s(?:a|an|the|one)\s"
                      r"|\b(?:refers to|is defined as|stands for|is known as|"
                      r"is a (?:kind|form|type|variant) of)\b", re.I)
_FACT_VERB = re.compile(r"\b(?:released?|publish\w*|developed|built|designed|trained|"
                        r"operated|uses?|using|adds?|fix\w*|requires?|supports?|contains?|"
                        r"introduc\w+|propos\w+|licen[cs]e[ds]?|deprecated|removed|"
                        r"replac\w+|based on|applies|apply|allows?|limits?|caps?|"
                        r"counts?|holds?|shares?|splits?|returns?|rejects?|plans?|"
                        r"evaluat\w+|scores?|reach\w*|achiev\w+|keeps?|permits?)\b", re.I)
_NEGATIVE_FACT = re.compile(r"\b(?:not|never|no|only|without)\b", re.I)
_OPINION = re.compile(r"^(?:honestly|frankly|personally|so|well|anyway|luckily|sadly|"
                      r"i think|i feel|i guess|i wanted|i finally|would i|next up|"
                      r"here's|here is|that was|it was (?:fun|great|nice))\b"
                      r"|\b(?:i think|i hope|in my opinion|pretty good|stay tuned|"
                      r"thanks to everyone|let us know|feel free)\b", re.I)
_ABOUT_SOURCE = re.compile(r"^(?:an? )?(?:excerpt|extract|adapted|reprinted|taken|"
                           r"abridged|summary) (?:from|of)\b|^this (?:page|post|document|"
                           r"article|section) (?:lists|describes|explains|covers|is)\b", re.I)
_BOILERPLATE = re.compile(r"^please\b|\b(?:please (?:open|send|contact|see|report)|cookie|"
                          r"subscribe|sign up|newsletter|all rights reserved|"
                          r"click here|read more|contact us|privacy)\b", re.I)
REFERENCE = re.compile(r"\b(?:this|these|that|those|it|they|its|their|the (?:model|"
                        r"card|benchmark|paper|system|method|release|update|api|database|"
                        r"project|engine|team|plan|product|dataset|limit|tool|library))\b",
                        re.I)

MIN_WORDS = 5
MAX_CHARS = 400


_CLAUSE_BREAK = re.compile(r";\s+|,\s+(?=(?:and|but|while|whereas|although)\s)")


def split_long(sentences: list[Sentence]) -> list[Sentence]:
    """Sentences too long to quote as one claim, cut into their clauses (at ``;`` and at
    ``, and`` / ``, but`` / ``, while`` …): each clause is still the source's own words."""
    out: list[Sentence] = []
    for s in sentences:
        if len(s.text) <= MAX_CHARS:
            out.append(s)
            continue
        pieces = [p.strip(" ,;") for p in _CLAUSE_BREAK.split(s.text)]
        pieces = [p for p in pieces if p]
        if len(pieces) < 2 or any(len(p) > MAX_CHARS for p in pieces):
            out.append(s)   # no clause boundary to cut at: skipped as too long
            continue
        out += [Sentence(s.index, p, s.heading, s.item) for p in pieces]
    return out


def signals(text: str, names: Iterable[str]) -> list[str]:
    """What makes a sentence informative: number, definition, comparison, name."""
    found = []
    bare = re.sub(r"(?<![\w.])v\d+(?:\.\d+)*(?![\w.])|/v\d+/", " ", text)
    if _NUMBER.search(bare):
        found.append("number")
    if _DEFINES.search(text):
        found.append("definition")
    if _COMPARISON.search(text):
        found.append("comparison")
    named = [n for n in names if n]
    if (named or REFERENCE.search(text)) and _FACT_VERB.search(text):
        found.append("name")
    elif _NEGATIVE_FACT.search(text) and (named or REFERENCE.search(text)):
        found.append("constraint")
    return found


def select_sentence(sentence: Sentence, names_here: list[str],
                    seen: set[str]) -> Selection:
    """Take or skip one sentence; the reason names the signals, or why it was skipped."""
    text = sentence.text
    key = fold(text)
    words = text.split()
    if key in seen:
        return Selection(sentence, False, "repeats an earlier sentence", 0)
    if text.rstrip().endswith("?"):
        return Selection(sentence, False, "a question", 0)
    if len(words) < 3 or (len(words) < MIN_WORDS and not re.search(r"\d", text)):
        return Selection(sentence, False, "too short to stand alone", 0)
    if len(text) > MAX_CHARS:
        return Selection(sentence, False, "too long to quote as one claim", 0)
    if _ABOUT_SOURCE.search(text):
        return Selection(sentence, False, "describes the source, not its content", 0)
    if _BOILERPLATE.search(text):
        return Selection(sentence, False, "boilerplate (contact, sign-up, navigation)", 0)
    found = signals(text, names_here)
    strong = [s for s in found if s in ("number", "definition", "name")]
    if _OPINION.search(text) and "number" not in found:
        return Selection(sentence, False, "an aside or opinion without a figure", 0)
    if sentence.item and _FACT_VERB.search(text) and "name" not in found:
        found.append("list item")
    if not found:
        return Selection(sentence, False, "no number, definition, comparison or name", 0)
    if not strong and "constraint" not in found and "comparison" in found and \
            not names_here and not REFERENCE.search(text):
        return Selection(sentence, False, "a comparison without a subject", 1)
    seen.add(key)
    return Selection(sentence, True, ", ".join(found), len(found))


# -- subjects and typed facts ---------------------------------------------------------------
_SCALE = r"(?:thousand|million|billion|trillion|[KMBT])"
_NUM = r"\d[\d,]*(?:\.\d+)?"
_FACT_PATTERNS: tuple[tuple[str, str, str | None], ...] = (
    ("layers", rf"\b(?P<v>{_NUM})\s+(?:transformer\s+)?layers\b", None),
    ("context_length", rf"\bcontext (?:length|window) (?:of|is) (?P<v>{_NUM}\s*[K]?)(?:\s+tokens)?",
     "tokens"),
    ("tokens", rf"\b(?:pre-?)?trained (?:\w+ )?on (?P<v>{_NUM}\s*{_SCALE}?)\s+tokens\b",
     "tokens"),
    ("learning_rate", r"\blearning rate of (?P<v>\d+(?:\.\d+)?(?:e-?\d+)?)\b", None),
    ("width", rf"\bhidden (?:size|dimension) of (?P<v>{_NUM})\b", None),
    ("heads", rf"\b(?P<v>{_NUM}) (?:attention |query )heads\b", None),
    ("kv_heads", rf"\b(?P<v>{_NUM}) (?:key-value|kv|key/value) (?:heads|groups)\b", None),
    ("parameters", rf"\b(?:with|has|holds|of) (?P<v>{_NUM}\s*{_SCALE}?)\s+parameters\b",
     "parameters"),
)


def typed_facts(sentence: str) -> list[TypedFact]:
    """Attribute values the sentence states in a recognisable pattern."""
    out = []
    for attribute, pattern, unit in _FACT_PATTERNS:
        m = re.search(pattern, sentence, re.I)
        if m and re.match(r"\s*(?:[×x*]\s*10|⁻|\^|e-?\d)", sentence[m.end("v"):]):
            continue   # "3 × 10⁻⁴": the value is longer than the pattern reads; leave it
        if m and not re.search(r"\b(?:from|up to|at most|about|roughly|baseline)\s*$",
                               sentence[:m.start()]):
            value = " ".join(m.group("v").split())
            out.append(TypedFact(attribute, value, unit, sentence))
    return out


INSTRUCTIONS = "text addressed to a model (instructions); never a claim"


@dataclass
class Extraction:
    """What extractive ingest took from one source, and what it skipped and why."""

    claims: list[CheckedClaim] = field(default_factory=list)
    headings: list[str | None] = field(default_factory=list)   # per claim: source section
    pages: dict[str, str] = field(default_factory=dict)        # entity key → page title
    existing: dict[str, str] = field(default_factory=dict)     # entity key → existing path
    kinds: dict[str, str] = field(default_factory=dict)        # entity key → kind (new pages)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    facts: list[tuple[str, TypedFact]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (sentence, reason)
    sentences: int = 0
    asked: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Coverage summary for the proposal's metadata."""
        return {"sentences": self.sentences, "taken": len(self.claims),
                "skipped": [{"sentence": s[:300], "reason": r} for s, r in self.skipped][:200],
                "facts": [{"entity": e, "attribute": f.attribute, "value": f.value,
                           "unit": f.unit} for e, f in self.facts],
                "asked": self.asked}
