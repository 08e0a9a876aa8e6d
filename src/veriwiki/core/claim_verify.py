"""Claim verification shared by both ingest modes: the deterministic checks a proposed
claim must pass before it is written as verified (quote in the source, numbers stated by
the quote, entity named, wording supported, quote not hidden or addressed to a model).

The writer's output is never trusted; extractive ingest runs its verbatim claims through
the same checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from veriwiki.core.claims import sentence_spans
from veriwiki.core.model import SourceText
from veriwiki.core.names import title_from
from veriwiki.core.quotes import find_quote


class ProposedClaim(Protocol):
    """A claim as a model proposes it (``ai.ingest_prompts.ExtractedClaim``)."""

    entity: str
    kind: str
    claim: str
    quote: str


KINDS = ("concept", "person", "organization", "dataset", "product", "paper", "benchmark",
         "other")


@dataclass
class CheckedClaim:
    """A proposed claim after verification."""

    entity: str
    kind: str
    claim: str
    quote: str
    verified: bool
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"entity": self.entity, "kind": self.kind, "claim": self.claim,
                "quote": self.quote, "verified": self.verified, "reason": self.reason}


# -- verification -----------------------------------------------------------------------------


def clean_title(name: str) -> str | None:
    """A page title made from an entity name, or None when nothing usable is left."""
    return title_from(name, max_chars=60)


def clean_claim(text: str) -> str:
    """Claim text reduced to one plain sentence: no citations, links, markup or comments."""
    text = re.sub(r"\[@[^\]]*\]", " ", text)
    text = re.sub(r"<!--.*?-->|<[^>]{0,200}>", " ", text, flags=re.S)
    text = text.replace("[[", " ").replace("]]", " ").replace("{{", " ").replace("}}", " ")
    text = " ".join(text.split())
    text = text.lstrip("#>-*+|` ").strip()
    text = text.replace("`", "'")
    if text and text[-1] not in ".!?":
        text += "."
    return text


def names_in(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


_STOP = frozenset(re.findall(r"\w+", """a an the of in on at to for from by with and or but
is are was were be been being it its this that these those as has have had not no than then
there their they which who what when where how also into over under about after before between
per via can may will"""))


def _content_words(text: str) -> list[str]:
    words = re.findall(r"[a-z][a-z0-9-]*", text.casefold())
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words if w not in _STOP]


def support_share(claim: str, quote: str, entity: str) -> float:
    """Share of the claim's content words (numbers aside) that the quote or entity name uses."""
    have = set(_content_words(quote)) | set(_content_words(entity))
    words = _content_words(claim)
    if not words:
        return 0.0
    return sum(1 for w in words if w in have) / len(words)


MIN_SUPPORT = 0.6


def _unbacked_label(claim: str, quote: str, entity: str) -> str | None:
    """A year, version or size label ("2020", "3.2", "70B") the claim has and the quote lacks.

    ``number-mismatch`` compares quantities by value; labels are compared literally here,
    so "Llama 2 13B" is not accepted on a quote about "Llama 2 70B".
    """
    from veriwiki.core.numbers import QUANTITY, extract_quantities

    haystack = f"{quote} {entity}"
    stated = {q.raw for q in extract_quantities(haystack)}
    for q in extract_quantities(claim):
        if q.kind == QUANTITY or q.raw in stated:
            continue
        if not re.search(rf"(?<![\w.]){re.escape(q.raw)}(?![\w])", haystack):
            return q.raw
    return None

# Text addressed to a model rather than to a reader: a quote inside it is never a claim.
INJECTION = re.compile(
    r"ignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?)"
    r"|disregard (all |the )?(previous|prior|above) |\b(system|assistant)\s*:"
    r"|you are now\b|administrator mode|developer mode|mark (it|this|them) as verified"
    r"|(as|is) verified\b|do not (check|verify)|approve (this|the) proposal"
    r"|(copy|output|return) the json|new instructions|prompt injection", re.I)


_HIDDEN = re.compile(r"^[ \t]*(```|~~~).*?(^[ \t]*\1[^\n]*$|\Z)|<!--.*?(-->|\Z)", re.S | re.M)


def hidden_spans(text: str) -> list[tuple[int, int]]:
    """Code fences and HTML comments: text a reader of the rendered source does not read
    as prose (and where injected "model output" hides). Quotes there are not claims."""
    return [m.span() for m in _HIDDEN.finditer(text)]


def visible_text(text: str) -> str:
    """``text`` without its code fences and HTML comments (what the writer is shown)."""
    return _HIDDEN.sub("\n", text)


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of ``text`` that address a model (``ignore previous instructions`` …)."""
    spans = []
    for a, b in sentence_spans(text):
        if INJECTION.search(text[a:b]):
            spans.append((a, b))
    return spans


def verify_claim(raw: ProposedClaim, source: SourceText, folded_source: str,
                 suspicious: list[tuple[int, int]] | None = None) -> CheckedClaim:
    """Check one proposed claim against the source; never trusts what the model says."""
    from veriwiki.core.numbers import compare

    entity = clean_title(raw.entity) or ""
    kind = raw.kind if raw.kind in KINDS else "other"
    claim = clean_claim(raw.claim)
    quote_in = " ".join(raw.quote.split())
    out = CheckedClaim(entity, kind, claim, quote_in, False)
    if not entity:
        out.reason = "no usable entity name"
    elif not claim or len(claim) < 8:
        out.reason = "empty claim"
    elif f" {names_in(entity)} " not in f" {folded_source} ":
        out.reason = f"the entity {entity!r} is not named in the source"
    elif (match := find_quote(source.text, quote_in)) is None:
        out.reason = "the quote does not occur in the source"
    elif any(a < match.end and match.start < b for a, b in suspicious or ()):
        out.reason = ("the quote sits in a code block, an HTML comment or text that gives "
                      "instructions to a model")
    else:
        out.quote = " ".join(source.text[match.start:match.end].split())
        issues = compare(claim, out.quote)
        label = _unbacked_label(claim, out.quote, entity)
        if issues:
            out.reason = issues[0].message
        elif label:
            out.reason = f'"{label}" in the claim is not in the quote'
        elif len(set(_content_words(claim)) - set(_content_words(entity))) < 2:
            out.reason = "the claim states nothing beyond the entity's name"
        elif support_share(claim, out.quote, entity) < MIN_SUPPORT:
            out.reason = "the claim's wording is not supported by the quote"
        else:
            out.verified = True
    return out
