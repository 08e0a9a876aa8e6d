"""Per-claim rejection: take some added claims out of a proposal, keep the rest for review.

A claim can be rejected alone when the proposal *adds* it and it has its line(s) to
itself (a list item or a one-sentence paragraph: nothing else would be removed with
it). Changed and removed claims, and claims sharing a line with other text, are taken
or left with the whole proposal. The proposal's branch is moved to a new commit on the
same base (compare-and-swap, as an agent's revision is), and the rejected claims are
listed in its trailer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from veriwiki.core.claims import Claim, plain_text
from veriwiki.errors import InputError
from veriwiki.services.proposals import Proposal, changed_pages, get_proposal, propose
from veriwiki.services.review import ClaimChange, claim_diff_of
from veriwiki.vault import Vault

_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?")


@dataclass(frozen=True, slots=True)
class ClaimPick:
    """A claim named by the page it is on and its text (as the claim diff shows it)."""

    path: str
    text: str


def _claims(path: str, data: bytes) -> list[Claim]:
    from veriwiki.core.parse import parse_page

    return list(parse_page(path, data.decode("utf-8", "replace")).claims)


def _own_lines(text: str, claim: Claim, others: list[Claim]) -> tuple[int, int] | None:
    """The 1-based line range holding ``claim`` and nothing else, or None."""
    lines = text.split("\n")
    first = claim.line
    last = max([first, *(c.line for c in claim.citations)])
    if any(first <= o.line <= last or any(first <= c.line <= last for c in o.citations)
           for o in others):
        return None
    if last > len(lines):
        return None
    chunk = "\n".join(lines[first - 1:last])
    for cite in claim.citations:
        chunk = chunk.replace(cite.raw, " ", 1)
    rest = plain_text(_BULLET.sub("", chunk))
    if rest.rstrip(" .") != claim.text.rstrip(" ."):
        return None
    return first, last


def can_reject_alone(path: str, data: bytes | None, change: ClaimChange) -> bool:
    """True when ``change`` (of a proposal's page ``data``) can be rejected by itself."""
    if change.kind != "added" or data is None:
        return False
    claims = _claims(path, data)
    mine = [c for c in claims if c.text == change.text and c.line == change.line]
    if len(mine) != 1:
        return False
    return _own_lines(data.decode("utf-8", "replace"), mine[0],
                      [c for c in claims if c is not mine[0]]) is not None


def _without(path: str, data: bytes, text: str) -> bytes:
    """``data`` with every claim whose text is ``text`` removed (its own lines)."""
    body = data.decode("utf-8", "replace")
    claims = _claims(path, data)
    cut: list[tuple[int, int]] = []
    for claim in claims:
        if claim.text != text:
            continue
        span = _own_lines(body, claim, [c for c in claims if c is not claim])
        if span is None:
            raise InputError(f"line {claim.line}: this claim shares its line with other "
                             "text, so it cannot be rejected alone", path=path,
                             hint="reject the whole proposal, or approve it and edit the page")
        cut.append(span)
    lines = body.split("\n")
    for first, last in sorted(cut, reverse=True):
        del lines[first - 1:last]
    return "\n".join(lines).encode("utf-8")


def reject_claims(vault: Vault, ident: str, picks: list[ClaimPick]) -> Proposal:
    """Remove the picked added claims from proposal ``ident``; the rest stays open.

    A picked claim is removed from every page of the proposal that adds the same
    sentence (an ingest repeats its claims on the source's summary page). Refuses a
    claim the proposal does not add, one that shares its line, and a rejection that
    would leave the proposal empty (reject the whole proposal instead).
    """
    if not picks:
        raise InputError("no claim picked", hint="pick the claims to reject")
    proposal = get_proposal(vault, ident)
    pages = changed_pages(vault, proposal)
    diff = claim_diff_of(pages)
    added = {(c.path, c.text) for c in diff.changes if c.kind == "added"}
    texts: set[str] = set()
    for pick in picks:
        if (pick.path, pick.text) not in added:
            raise InputError(f"proposal {proposal.id} does not add the claim "
                             f"{pick.text[:120]!r} on {pick.path}", path=pick.path,
                             hint="only claims the proposal adds can be rejected one by one; "
                                  "reject the whole proposal for the others")
        texts.add(pick.text)
    files = {path: new for path, (_, new) in pages.items()}
    for path, data in pages.items():
        new = data[1]
        if new is None or not any((path, t) in added for t in texts):
            continue
        for text in texts:
            if (path, text) in added:
                new = _without(path, new, text)
        files[path] = new
    after = claim_diff_of({p: (pages[p][0], files[p]) for p in files})
    left = {(c.path, c.text) for c in after.changes if c.kind == "added"}
    gone = {(p, t) for p, t in added if t in texts}
    if left & gone or (added - gone) - left:
        raise InputError("removing these claims would change other claims of the proposal",
                         hint="reject the whole proposal, or approve it and edit the page")
    if not after.changes and all(files[p] == pages[p][0] for p in files):
        raise InputError("rejecting these claims leaves nothing in the proposal",
                         hint=f"reject the whole proposal ('veriwiki review reject "
                              f"{proposal.id}')")
    meta: dict[str, Any] = {k: v for k, v in proposal.meta.items() if k not in ("op", "created")}
    before = meta.get("rejected_claims")
    meta["rejected_claims"] = [*(before if isinstance(before, list) else []),
                               *({"path": p, "claim": t} for p, t in sorted(gone))]
    kept = {p: d for p, d in files.items() if d != pages[p][0]}
    return propose(vault, proposal.op, proposal.subject, kept, meta, proposal.id,
                   replace=proposal)
