"""Review: list, show, approve and reject proposals; claim diffs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veriwiki.adapters.store import CommitResult
from veriwiki.core.claims import Claim
from veriwiki.core.model import Finding
from veriwiki.errors import ConflictError, VeriwikiError
from veriwiki.services.proposals import (
    Proposal,
    changed_pages,
    check_files,
    delete_branch,
    get_proposal,
    merge3,
)
from veriwiki.vault import Vault


class CheckFailedError(VeriwikiError):
    """The proposal's changes fail the check."""

    exit_code = 1


@dataclass
class ClaimChange:
    """One line of a claim diff."""

    kind: str  # added | removed | changed
    path: str
    text: str
    quotes: list[str]
    old_text: str | None = None
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"kind": self.kind, "path": self.path, "line": self.line,
                               "claim": self.text, "quotes": self.quotes}
        if self.old_text is not None:
            out["old_claim"] = self.old_text
        return out


@dataclass
class ClaimDiff:
    """Claims added, changed and removed by a proposal; pages created and touched."""

    changes: list[ClaimChange] = field(default_factory=list)
    pages_created: list[str] = field(default_factory=list)
    pages_touched: list[str] = field(default_factory=list)
    pages_deleted: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        """How many changes of ``kind``."""
        return sum(1 for c in self.changes if c.kind == kind)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"added": self.count("added"), "changed": self.count("changed"),
                "removed": self.count("removed"), "pages_created": self.pages_created,
                "pages_touched": self.pages_touched, "pages_deleted": self.pages_deleted,
                "claims": [c.to_json() for c in self.changes]}


def _claims(path: str, data: bytes | None) -> list[Claim]:
    if data is None:
        return []
    from veriwiki.core.parse import parse_page

    return list(parse_page(path, data.decode("utf-8", "replace")).claims)


def _quotes(claim: Claim) -> list[str]:
    return [f"@{c.key}: {c.quote}" if c.quote else f"@{c.key}" for c in claim.citations]


def _counterpart(claim: Claim, removed: list[Claim]) -> Claim | None:
    """The removed claim that ``claim`` most plausibly replaces (same sources, similar words)."""
    from rapidfuzz import fuzz

    ids = {c.source_id for c in claim.citations}
    best, score = None, 0.0
    for old in removed:
        if {c.source_id for c in old.citations} != ids:
            continue
        similarity = max(fuzz.ratio(old.text, claim.text),
                         fuzz.ratio(" ".join(_quotes(old)), " ".join(_quotes(claim))))
        if similarity >= 70 and similarity > score:
            best, score = old, similarity
    return best


def claim_diff_of(files: dict[str, tuple[bytes | None, bytes | None]]) -> ClaimDiff:
    """The claim diff between the old and new contents of each page."""
    diff = ClaimDiff()
    for path, (old, new) in sorted(files.items()):
        if old is None:
            diff.pages_created.append(path)
        elif new is None:
            diff.pages_deleted.append(path)
        else:
            diff.pages_touched.append(path)
        before = {c.text: c for c in _claims(path, old)}
        after = {c.text: c for c in _claims(path, new)}
        added = [c for t, c in after.items() if t not in before]
        removed = [c for t, c in before.items() if t not in after]
        for text, c in after.items():
            if text in before and _quotes(before[text]) != _quotes(c):
                diff.changes.append(ClaimChange("changed", path, text, _quotes(c), text, c.line))
        for c in added:
            match = _counterpart(c, removed)
            if match is not None:
                removed.remove(match)
                diff.changes.append(ClaimChange("changed", path, c.text, _quotes(c),
                                                match.text, c.line))
            else:
                diff.changes.append(ClaimChange("added", path, c.text, _quotes(c),
                                                line=c.line))
        for c in removed:
            diff.changes.append(ClaimChange("removed", path, c.text, _quotes(c), line=c.line))
    return diff


def claim_diff(vault: Vault, proposal: Proposal) -> ClaimDiff:
    """The claim diff of ``proposal`` against the main commit it was made on."""
    return claim_diff_of(changed_pages(vault, proposal))


def show(vault: Vault, ident: str) -> tuple[Proposal, ClaimDiff, str]:
    """A proposal, its claim diff and its page diff."""
    from veriwiki.services.proposals import page_diff

    proposal = get_proposal(vault, ident)
    return proposal, claim_diff(vault, proposal), page_diff(vault, proposal)


def merged_files(vault: Vault, proposal: Proposal, head_content: Any
                 ) -> dict[str, bytes | None]:
    """The proposal's pages re-applied on the current main (three-way, per file)."""
    out: dict[str, bytes | None] = {}
    conflicts: list[str] = []
    for path, (base, theirs) in changed_pages(vault, proposal).items():
        try:
            out[path] = merge3(vault, path, base, head_content(path), theirs)
        except ConflictError:
            conflicts.append(path)
    if conflicts:
        raise ConflictError(
            f"proposal {proposal.id} conflicts with changes made on main since it was "
            f"created: {', '.join(conflicts)}",
            hint=f"reject it ('veriwiki review reject {proposal.id}') and run the operation "
                 "again on the current main")
    return out


def approve(vault: Vault, ident: str, *, force: bool = False,
            on_notice: Any = None) -> tuple[Proposal, CommitResult, list[Finding]]:
    """Merge a proposal into main as one commit, after re-verifying it on the current main.

    Refuses when it conflicts with main, or when the check finds new errors on the pages
    it changes (``force`` overrides the check, never a conflict).
    """
    from veriwiki.services.write import finish, write_operation

    proposal = get_proposal(vault, ident)
    with write_operation(vault, f"approve {proposal.id}", on_notice=on_notice) as tx:
        files = merged_files(vault, proposal, tx.head_content)
        errors = check_files(vault, files)
        if errors and not force:
            where = "; ".join(f"{f.path}:{f.line} {f.rule}: {f.message}" for f in errors[:5])
            raise CheckFailedError(
                f"proposal {proposal.id} fails the check ({len(errors)} new errors): {where}",
                hint=f"see 'veriwiki review show {proposal.id}'; reject it, or approve with "
                     "--force to merge anyway")
        for path, data in files.items():
            if data is None:
                tx.delete(path)
            else:
                tx.put(path, data)
        result = finish(vault, tx, "approve", f"{proposal.subject} (proposal {proposal.id})")
    delete_branch(vault, proposal)
    return proposal, result, errors


def reject(vault: Vault, ident: str) -> Proposal:
    """Delete a proposal's branch; main is not touched."""
    proposal = get_proposal(vault, ident)
    delete_branch(vault, proposal)
    return proposal
