"""Citation chips: the verdict of each citation, and the chip's HTML (the site's contract).

The contract (docs/site.md): a chip is ``<span class="citation" data-source="ID"
data-verdict="VERDICT">`` and contains the quote text. ``VERDICT`` is ``verified``,
``quote-not-found``, ``number-mismatch``, ``unit-mismatch``, ``unknown-source`` or
``stale``; a citation without a quote (``[@id]``) has ``no-quote``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from veriwiki.core.claims import Citation
from veriwiki.core.model import Finding, Page

# rule id -> verdict; per citation (placed on it) and per claim (on its first citation)
CITE_RULES = {"unknown-source": "unknown-source", "stale-claim": "stale",
              "quote-not-found": "quote-not-found"}
CLAIM_RULES = {"number-mismatch": "number-mismatch", "unit-mismatch": "unit-mismatch"}
VERDICT_ORDER = ("unknown-source", "stale", "quote-not-found", "number-mismatch",
                 "unit-mismatch", "no-quote", "verified")
VERDICT_LABEL = {"verified": "verified", "quote-not-found": "quote not found",
                 "number-mismatch": "number mismatch", "unit-mismatch": "unit mismatch",
                 "unknown-source": "unknown source", "stale": "stale",
                 "no-quote": "no quote to check"}
CiteKey = tuple[int, str, int | None, str | None]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A citation's verdict and the messages of the findings behind it."""

    name: str
    messages: tuple[str, ...] = ()

    @property
    def is_verified(self) -> bool:
        """True for a quote found in its source with the claim's numbers."""
        return self.name == "verified"


@dataclass(frozen=True, slots=True)
class SourceView:
    """What a chip shows of the cited source."""

    title: str
    version: int | None
    href: str | None
    where: str | None  # "p. 4", "line 12": where the quote was found
    added: str | None


def cite_key(line: int, source_id: str, version: int | None, quote: str | None) -> CiteKey:
    """The key that pairs a rendered citation with the parsed one."""
    return (line, source_id, version, quote)


def _mentions(message: str, cite: Citation) -> bool:
    return (f"@{cite.key}" in message or f"'{cite.source_id}'" in message
            or f"{cite.source_id}:v" in message)


def page_verdicts(page: Page, findings: Iterable[Finding]) -> dict[CiteKey, list[Verdict]]:
    """The verdict of each citation of ``page`` (a list: one key may repeat)."""
    at: dict[tuple[int, int | None], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.rule in CITE_RULES or f.rule in CLAIM_RULES:
            at[(f.line, f.column)].append(f)
    out: dict[CiteKey, list[Verdict]] = defaultdict(list)
    for claim in page.claims:
        claim_level: list[Finding] = []
        if claim.citations:
            first = claim.citations[0]
            claim_level = [f for f in at.get((first.line, first.column), ())
                           if f.rule in CLAIM_RULES]
        for cite in claim.citations:
            here = [f for f in at.get((cite.line, cite.column), ()) if f.rule in CITE_RULES]
            mine = [f for f in here if _mentions(f.message, cite)]
            if not mine and here and not any(
                    _mentions(f.message, c) for f in here for c in claim.citations):
                mine = here
            found = mine + claim_level
            names = {CITE_RULES.get(f.rule) or CLAIM_RULES[f.rule] for f in found}
            if not names:
                names = {"verified" if cite.quote else "no-quote"}
            name = min(names, key=VERDICT_ORDER.index)
            out[cite_key(cite.line, cite.source_id, cite.version, cite.quote)].append(
                Verdict(name, tuple(f.message for f in found)))
    return out


def chip_html(source_id: str, version: int | None, locator: str | None, quote: str | None,
              verdict: Verdict, source: SourceView | None, checked: str) -> str:
    """One citation chip with its popover (shown on hover and keyboard focus by CSS)."""
    e = escape
    key = source_id + (f":v{version}" if version else "")
    label = VERDICT_LABEL.get(verdict.name, verdict.name)
    parts = [f'<span class="citation" data-source="{e(source_id)}" '
             f'data-verdict="{e(verdict.name)}" tabindex="0" role="button" '
             f'aria-label="citation of {e(key)}: {e(label)}">'
             f'<span class="cite-label">@{e(key)}</span>'
             f'<span class="cite-pop" role="tooltip">'
             f'<span class="cite-verdict">{e(label)}</span>']
    if quote is not None:
        parts.append(f'<q class="cite-quote">{e(quote)}</q>')
    if source is not None:
        title = e(source.title)
        link = f'<a href="{e(source.href)}">{title}</a>' if source.href else title
        ver = f" · v{source.version}" if source.version else ""
        parts.append(f'<span class="cite-source">{link}{ver}</span>')
    else:
        parts.append(f'<span class="cite-source">no source @{e(key)}</span>')
    where = [w for w in (locator, source.where if source else None) if w]
    if where:
        parts.append(f'<span class="cite-where">{e(" · ".join(where))}</span>')
    for message in verdict.messages:
        parts.append(f'<span class="cite-message">{e(message)}</span>')
    parts.append(f'<span class="cite-checked">checked {e(checked)}</span></span></span>')
    return "".join(parts)
