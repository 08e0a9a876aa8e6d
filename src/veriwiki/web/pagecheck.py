"""The check's findings for one page — saved or being edited — without checking the vault.

Rules with a facet (:data:`veriwiki.checks.FACETS`) report a page's findings from the
page and a known set of vault-wide inputs; ``check`` relies on that to re-check only
changed pages. The web app runs exactly those rules on the one page it shows or
previews, against inputs kept until the vault's files change (sources, facts, page
names, types), so a page view or a live preview costs one page's check. Quote look-ups
go through the same verification cache as ``check``.

Rules without a facet (orphan pages, catalog entries, check blocks, fact tables) look
at the whole vault or run code; the page view adds orphan-page itself from the
backlinks and leaves the rest to ``veriwiki check`` and the Findings view.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from veriwiki.checks import CheckContext, Rule, all_rules
from veriwiki.checks.context import PageSource
from veriwiki.core.model import Finding, Page, Severity, Source, SourceText
from veriwiki.errors import VeriwikiError
from veriwiki.vault import Vault
from veriwiki.web.context import WebContext


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    """A digest of the rule and parsing code (part of every verification-cache key)."""
    import veriwiki

    root = Path(veriwiki.__file__).parent
    h = hashlib.sha1(f"web-page-check\0{veriwiki.__version__}".encode())
    for part in ("checks", "core"):
        for path in sorted((root / part).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


class _Pages(PageSource):
    """The vault's pages from the index, with the page being checked in place of its
    saved version."""

    def __init__(self, vault: Vault, page: Page) -> None:
        super().__init__(())
        self.vault = vault
        self.page = page
        self._loaded: dict[str, Page | None] = {page.path: page}

    def all(self) -> list[Page]:
        pages = [p for p in self.vault.index.load_pages() if p.path != self.page.path]
        return sorted([*pages, self.page], key=lambda p: p.path)

    def paths(self) -> list[str]:
        return sorted({*self.vault.index.paths(), self.page.path})

    def get(self, path: str) -> Page | None:
        if path not in self._loaded:
            found = self.vault.index.load_pages([path])
            self._loaded[path] = found[0] if found else None
        return self._loaded[path]

    def names(self) -> list[Any]:
        return sorted(self.vault.index.page_names(), key=lambda n: n.path)


class Inputs:
    """The vault-wide inputs of a page check (kept until the files change)."""

    def __init__(self, vault: Vault) -> None:
        from veriwiki.services.facts import load_facts
        from veriwiki.services.indexing import build_resolver
        from veriwiki.services.sources import load_sources
        from veriwiki.services.types import load_types

        self.vault = vault
        self.resolver = build_resolver(vault)
        loaded, self.problems = load_sources(vault)
        self.sources: dict[str, Source] = {s.id: s for s in loaded}
        models = vault.index.load_pages(vault.index.paths(page_type="model"))
        self.facts, fact_problems = load_facts(vault, models)
        self.problems += fact_problems
        self.types = load_types(vault)
        self.rules = _rule_settings(vault)
        self._texts: dict[tuple[str, int | None], SourceText | None] = {}

    def text(self, sid: str, version: int | None) -> SourceText | None:
        """A source version's extracted text (None when unknown or unreadable)."""
        key = (sid, version)
        if key not in self._texts:
            from veriwiki.services.sources import version_text

            source = self.sources.get(sid)
            chosen = None if source is None else (
                source.current if version is None else source.version(version))
            got = None
            if source is not None and chosen is not None:
                try:
                    got = version_text(self.vault, source, chosen)
                except VeriwikiError:
                    got = None
            self._texts[key] = got
        return self._texts[key]


def _rule_settings(vault: Vault) -> list[tuple[Rule, Severity]]:
    """The enabled rules with a facet, at their configured severity, in run order."""
    out: list[tuple[Rule, Severity]] = []
    for r in all_rules():
        severity = vault.config.checks.get(r.id, r.default)
        if severity is Severity.OFF or r.facet is None or not r.run.__module__.startswith(
                "veriwiki."):
            continue
        out.append((r, severity))
    return out


def inputs(ctx: WebContext) -> Inputs:
    """The current :class:`Inputs` (on the worker)."""
    return ctx.cache("page-check-inputs", lambda: Inputs(ctx.open_vault()))


def check_page(ctx: WebContext, page: Page) -> list[Finding]:
    """The findings of every faceted rule on ``page`` (saved or not), sorted by place."""
    vault = ctx.open_vault()
    got = inputs(ctx)
    check = CheckContext(
        None, got.resolver, got.problems, got.types, vault.index_page, vault.log_page,
        vault.config.vault.default_type, got.sources, got.facts, vault, got.text,
        source=_Pages(vault, page))
    check.cache_version = _code_version()
    sub = check.subset([page])
    findings: list[Finding] = []
    for r, severity in got.rules:
        sub.current_rule = r.id
        try:
            for f in r.run(sub):
                if f.path == page.path:
                    findings.append(replace(f, rule=r.id, severity=severity))
        except VeriwikiError:
            continue  # the vault-wide check reports what stops a rule
    check.flush()
    findings.sort(key=lambda f: (f.line, f.column or 0, f.rule, f.message))
    return findings
