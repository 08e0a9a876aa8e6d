"""Running the check rules over a vault and summarising the findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from veriwiki.checks import CheckContext, all_rules
from veriwiki.core.model import FileProblem, Finding, Page, Severity, Source, SourceText
from veriwiki.errors import ConfigError, VeriwikiError
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


def _cited_sources(vault: Vault, pages: list[Page]
                   ) -> tuple[dict[str, Source], dict[tuple[str, int | None], SourceText],
                              list[FileProblem]]:
    """Sources by id, and the extracted text of every cited source version."""
    from veriwiki.services.sources import load_sources, source_text

    loaded, problems = load_sources(vault)
    sources = {s.id: s for s in loaded}
    texts: dict[tuple[str, int | None], SourceText] = {}
    wanted = {(c.source_id, c.version) for p in pages for claim in p.claims
              for c in claim.citations if c.quote and c.source_id in sources}
    # the previous version of each source cited by its latest: stale-claim compares them
    for sid, version in list(wanted):
        versions = sources[sid].versions
        if version is None and len(versions) > 1:
            wanted.add((sid, sorted(v.version for v in versions)[-2]))
    for sid, version in sorted(wanted, key=lambda k: (k[0], k[1] or 0)):
        ref = sid if version is None else f"{sid}:v{version}"
        try:
            texts[(sid, version)] = source_text(vault, ref)
        except VeriwikiError as exc:
            if version is not None and sources[sid].version(version) is None:
                continue  # unknown-source reports a missing version
            problems.append(FileProblem(exc.path or f"raw/{sid}", "unreadable-source",
                                        f"source {ref} cannot be read: {exc.message}",
                                        exc.line or 1))
    return sources, texts, problems


def _facts(vault: Vault, pages: list[Page], sources: dict[str, Source],
           texts: dict[tuple[str, int | None], SourceText]) -> tuple[list[Any], list[FileProblem]]:
    """The vault's facts, with the text of every source a fact quotes added to ``texts``."""
    from veriwiki.core.sources import parse_ref
    from veriwiki.services.facts import load_facts
    from veriwiki.services.sources import source_text

    facts, problems = load_facts(vault, pages)
    for fact in facts:
        if not (fact.source_id and fact.quote):
            continue
        try:
            key = parse_ref(fact.source_id)
        except VeriwikiError:
            continue  # fact-citation reports a malformed reference
        if key in texts or key[0] not in sources:
            continue
        try:
            texts[key] = source_text(vault, fact.source_id)
        except VeriwikiError as exc:
            if key[1] is None or sources[key[0]].version(key[1]) is not None:
                problems.append(FileProblem(exc.path or f"raw/{key[0]}", "unreadable-source",
                                            f"source {fact.source_id} cannot be read: "
                                            f"{exc.message}", exc.line or 1))
    return facts, problems


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
    problems = vault.index.problems()
    sources, texts, source_problems = _cited_sources(vault, pages)
    facts, fact_problems = _facts(vault, pages, sources, texts)
    source_problems += fact_problems
    ctx = CheckContext(
        pages=pages, resolver=build_resolver(vault), problems=problems + source_problems,
        types=load_types(vault), index_page=vault.index_page, log_page=vault.log_page,
        default_type=vault.config.vault.default_type, sources=sources, vault=vault,
        text_loader=lambda sid, ver: texts.get((sid, ver)), facts=facts)
    findings: list[Finding] = []
    for r in rules:
        severity = vault.config.checks.get(r.id, r.default)
        if severity is Severity.OFF or (only and r.id not in only):
            continue
        if strict and severity is Severity.WARNING:
            severity = Severity.ERROR
        ctx.current_rule = r.id
        findings.extend(replace(f, rule=r.id, severity=severity) for f in r.run(ctx))
    ctx.flush()
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule, f.message))
    return CheckReport(findings, len(pages))
