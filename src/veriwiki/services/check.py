"""Running the check rules over a vault and summarising the findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from veriwiki.checks import CheckContext, all_rules
from veriwiki.core.model import Finding, Severity
from veriwiki.errors import ConfigError
from veriwiki.services.indexing import build_resolver, update_index
from veriwiki.services.types import load_types
from veriwiki.vault import Vault


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

    def to_json(self) -> dict[str, Any]:
        """The whole report as ``check --json`` prints it."""
        return {"findings": [f.to_json() for f in self.findings], "summary": self.summary()}


def check_vault(vault: Vault, *, strict: bool = False, only: list[str] | None = None
                ) -> CheckReport:
    """Run every enabled rule and return the findings, sorted by place."""
    update_index(vault)
    rules = all_rules()
    known = {r.id for r in rules}
    unknown = sorted(set(vault.config.checks) - known)
    if unknown:
        raise ConfigError("[checks] names unknown rules: " + ", ".join(unknown),
                          path="veriwiki.toml",
                          hint="known rules: " + ", ".join(sorted(known)))
    if only:
        bad = sorted(set(only) - known)
        if bad:
            raise ConfigError("unknown rule ids: " + ", ".join(bad),
                              hint="known rules: " + ", ".join(sorted(known)))
    pages = vault.index.load_pages()
    ctx = CheckContext(
        pages=pages, resolver=build_resolver(vault), problems=vault.index.problems(),
        types=load_types(vault), index_page=vault.index_page, log_page=vault.log_page,
        default_type=vault.config.vault.default_type)
    findings: list[Finding] = []
    for r in rules:
        severity = vault.config.checks.get(r.id, r.default)
        if severity is Severity.OFF or (only and r.id not in only):
            continue
        if strict and severity is Severity.WARNING:
            severity = Severity.ERROR
        ctx.current_rule = r.id
        findings.extend(replace(f, rule=r.id, severity=severity) for f in r.run(ctx))
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule, f.message))
    return CheckReport(findings, len(pages))
