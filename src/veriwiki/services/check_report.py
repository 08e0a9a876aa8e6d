"""The report of a check run: its findings and a summary.

Kept apart from :mod:`veriwiki.services.check` so a caller that only receives a report
(the site build's parent, which waits for the check's child) does not import the rules,
the check cache and the schema validator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from veriwiki.core.model import Finding, Severity


@dataclass
class CheckReport:
    """The findings of one check run and a summary."""

    findings: list[Finding]
    pages: int

    @property
    def counts(self) -> Counter[str]:
        """Findings per severity."""
        return Counter(f.severity.value for f in self.findings)

    @property
    def has_errors(self) -> bool:
        """True when an error-severity finding remains (the CLI then exits 1)."""
        return any(f.severity is Severity.ERROR for f in self.findings)

    def summary(self) -> dict[str, Any]:
        """The ``summary`` object of ``check --json``."""
        counts = self.counts
        return {
            "pages": self.pages,
            "findings": len(self.findings),
            "error": counts.get("error", 0),
            "warning": counts.get("warning", 0),
            "info": counts.get("info", 0),
            "by_rule": dict(sorted(Counter(f.rule for f in self.findings).items())),
        }

    def to_json(self, items: Callable[[Iterator[dict[str, Any]]], Any] = list
                ) -> dict[str, Any]:
        """The whole report as ``check --json`` prints it; ``items`` makes the list of
        findings from their JSON objects (the CLI writes them one by one)."""
        return {"findings": items(f.to_json() for f in self.findings),
                "summary": self.summary()}
