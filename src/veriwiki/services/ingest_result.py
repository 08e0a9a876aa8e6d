"""What ingesting one source did (both modes: write and extractive)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from veriwiki.core.claim_verify import CheckedClaim
from veriwiki.services.proposals import Proposal


@dataclass
class IngestResult:
    """What ingesting one source did."""

    source: str
    version: int
    proposal: Proposal | None
    claims: list[CheckedClaim] = field(default_factory=list)
    pages_created: list[str] = field(default_factory=list)
    pages_touched: list[str] = field(default_factory=list)
    noop: str | None = None
    approved: bool = False
    approve_error: str | None = None
    mode: str = "write"
    coverage: dict[str, Any] | None = None  # extractive: sentences taken and skipped

    @property
    def verified(self) -> list[CheckedClaim]:
        """Claims whose quote and numbers verified."""
        return [c for c in self.claims if c.verified]

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``ingest --json``."""
        return {"source": self.source, "version": self.version,
                "proposal": self.proposal.to_json() if self.proposal else None,
                "noop": self.noop, "approved": self.approved,
                "approve_error": self.approve_error,
                "pages_created": self.pages_created, "pages_touched": self.pages_touched,
                "mode": self.mode, "coverage": self.coverage,
                "claims": [c.to_json() for c in self.claims],
                "verified": len(self.verified), "dropped": len(self.claims) - len(self.verified)}
