"""The check's findings for one page — saved or being edited — without checking the vault.

Rules with a facet (:data:`veriwiki.checks.FACETS`) report a page's findings from the
page and a known set of vault-wide inputs; ``check`` relies on that to re-check only
changed pages. The web app runs exactly those rules on the one page it shows or
previews, against inputs kept until the vault's files change (sources, facts, page
names, types), so a page view or a live preview costs one page's check. Quote look-ups
go through the same verification cache as ``check``.

Rules without a facet (orphan pages, catalog entries, check blocks, fact tables) look
at the whole vault or run code: page views show them from the background full check
(:mod:`veriwiki.web.fullcheck`), and add orphan-page from the backlinks for a page
changed since that check; the live preview leaves them out.
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
from veriwiki.core.resolve import PageNames, Resolver
from veriwiki.errors import VeriwikiError
from veriwiki.vault import Vault
from veriwiki.web.context import WebContext


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    """The check's code digest, so quote look-ups share ``check``'s verification cache
    (a digest of our own when the check service does not offer one)."""
    try:
        from veriwiki.services.check import _code_digest

        return str(_code_digest())
    except ImportError:  # pragma: no cover - the check service was reorganised
        pass
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

    def __init__(self, vault: Vault, page: Page, inputs: Inputs) -> None:
        super().__init__(())
        self.vault = vault
        self.page = page
        self.inputs = inputs
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
        return self.inputs.page_names()


class Inputs:
    """The vault-wide inputs of a page check, kept across changes and brought up to date
    with the pages that changed: their names are read again and the resolver rebuilt;
    sources, facts and types are read again only when a source, a data table, a schema,
    the settings or a model page changed."""

    def __init__(self, vault: Vault, generation: int) -> None:
        from veriwiki.services.facts import load_facts
        from veriwiki.services.sources import load_sources
        from veriwiki.services.types import load_types

        self.vault = vault
        self.generation = generation
        self.names: dict[str, PageNames] = {n.path: n for n in vault.index.page_names()}
        self._sorted: list[PageNames] | None = None
        self.resolver = self._resolver()
        loaded, self.problems = load_sources(vault)
        self.sources: dict[str, Source] = {s.id: s for s in loaded}
        self.model_paths = set(vault.index.paths(page_type="model"))
        models = vault.index.load_pages(sorted(self.model_paths))
        self.facts, fact_problems = load_facts(vault, models)
        self.problems += fact_problems
        self.types = load_types(vault)
        self.has_quantities = any(getattr(f, "quantity", None) is not None
                                  for f in self.facts)
        self.rules = _rule_settings(vault)
        self._texts: dict[tuple[str, int | None], SourceText | None] = {}
        self.quote_places: dict[tuple[str, int, str], tuple[int, int, str] | None] = {}
        self.memo: dict[str, Any] = {}
        self.rule_memo: dict[Any, Any] = {}
        """Memos of rules that depend on the sources only (kept between page checks)."""
        self._owners: dict[str, set[str]] | None = None

    def _resolver(self) -> Resolver:
        self._sorted = None
        return Resolver(self.page_names(), self.vault.index.attachments(),
                        self.vault.pages_root)

    def page_names(self) -> list[PageNames]:
        """Every page's names, in path order."""
        if self._sorted is None:
            self._sorted = sorted(self.names.values(), key=lambda n: n.path)
        return self._sorted

    def catch_up(self, changes: list[tuple[int, float, tuple[str, ...]]], now: int) -> bool:
        """Apply the page changes after this generation; False when a full reload is
        needed (other inputs changed, a model page changed, or changes were lost)."""
        newer = [paths for number, _, paths in changes if number > self.generation]
        if now > self.generation and (not changes or changes[0][0] > self.generation + 1):
            return False
        touched: set[str] = set()
        for paths in newer:
            if not paths or "*" in paths:
                return False
            touched.update(paths)
        if touched & self.model_paths:
            return False
        if touched:
            fresh = _names_of(self.vault, sorted(touched))
            if fresh is None:
                return False
            old_names = {p: (n.title, n.aliases) for p, n in self.names.items() if p in touched}
            # a path neither page before nor now is an attachment: links may resolve anew
            same = all(self.names.get(p) == fresh.get(p) for p in touched) and all(
                p in self.names or p in fresh for p in touched)
            for path in touched:
                if path in fresh:
                    self.names[path] = fresh[path]
                else:
                    self.names.pop(path, None)
            if _models_among(self.vault, sorted(p for p in touched if p in fresh)):
                return False  # a page became a model page: its facts are new
            if not same:  # headings, aliases, titles or pages changed: links may resolve
                self.resolver = self._resolver()  # differently now
                self.memo.clear()
            if any(old_names.get(p) != ((fresh[p].title, fresh[p].aliases) if p in fresh
                                     else None) for p in touched):
                self._owners = None
        self.generation = now
        return True

    def title_owners(self) -> dict[str, set[str]]:
        """Look-alike key of every title and alias → the pages claiming it."""
        if self._owners is None:
            from collections import defaultdict

            from veriwiki.core.names import skeleton

            owners: dict[str, set[str]] = defaultdict(set)
            generated = (self.vault.index_page, self.vault.log_page)
            for names in self.names.values():
                if names.path in generated:
                    continue
                for name in (names.title, *names.aliases):
                    key = skeleton(name)
                    if key:
                        owners[key].add(names.path)
            self._owners = dict(owners)
        return self._owners

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


def _models_among(vault: Vault, paths: list[str]) -> bool:
    """True when one of the indexed pages at ``paths`` is a model page."""
    for start in range(0, len(paths), 500):
        chunk = paths[start:start + 500]
        marks = ",".join("?" * len(chunk))
        if vault.index.conn.execute(f"SELECT 1 FROM pages WHERE type = 'model' AND path IN "
                                    f"({marks}) LIMIT 1", chunk).fetchone():
            return True
    return False


def _names_of(vault: Vault, paths: list[str]) -> dict[str, PageNames] | None:
    """The names of the indexed pages among ``paths`` (None when the index cannot say)."""
    import sqlite3

    out: dict[str, PageNames] = {}
    try:
        for start in range(0, len(paths), 500):
            chunk = paths[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for path, title, names in vault.index.conn.execute(
                    f"SELECT path, title, names FROM pages WHERE path IN ({marks})", chunk):
                out[path] = PageNames.from_json(path, title, names)
    except (sqlite3.Error, ValueError, TypeError):
        return None
    return out


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
    got = ctx.caches.get("page-check-inputs")
    if got is None:
        old: Inputs | None = ctx.stable.get("page-check-inputs")
        now = ctx.generation.number
        if old is not None and old.catch_up(ctx.generation.changed, now):
            got = old
        else:
            got = Inputs(ctx.open_vault(), now)
        ctx.stable["page-check-inputs"] = ctx.caches["page-check-inputs"] = got
    return got


def check_page(ctx: WebContext, page: Page) -> list[Finding]:
    """The findings of every faceted rule on ``page`` (saved or not), sorted by place."""
    vault = ctx.open_vault()
    got = inputs(ctx)
    from veriwiki.services.check_inputs import vault_inputs

    check = CheckContext(
        vault_inputs(vault, problems=got.problems, sources=got.sources, facts=got.facts,
                     text_loader=got.text, cache_version=_code_version(), types=got.types),
        source=_Pages(vault, page, got), resolver=got.resolver)
    sub = check.subset([page])
    sub._memo.update(got.rule_memo)  # noqa: SLF001 - source-only memos, see _SOURCE_MEMOS
    findings: list[Finding] = []
    for r, severity in got.rules:
        if r.id == "fact-contradiction" and not got.has_quantities:
            continue  # it compares sentences with facts' quantities: none, nothing to find
        if r.id == "duplicate-title":
            findings += [replace(f, rule=r.id, severity=severity)
                         for f in _duplicate_title(got, page)]
            continue
        try:
            for f in r.run(sub):
                if f.path == page.path:
                    findings.append(replace(f, rule=r.id, severity=severity))
        except VeriwikiError:
            continue  # the vault-wide check reports what stops a rule
    for key, value in sub._memo.items():  # noqa: SLF001
        if _is_source_memo(key):
            got.rule_memo[key] = value
    check.flush()
    findings.sort(key=lambda f: (f.line, f.column or 0, f.rule, f.message))
    return findings


# memo keys of rules whose values depend on the sources only (quote_not_found's corpus,
# stale_claim's quote look-ups): safe to keep from one page's check to the next
_SOURCE_MEMOS = ("source-catalog", "source-catalog-digest", "corpus-raw", "corpus-read")


def _is_source_memo(key: Any) -> bool:
    return key in _SOURCE_MEMOS or (isinstance(key, tuple) and bool(key) and key[0] == "quote")


def _duplicate_title(got: Inputs, page: Page) -> list[Finding]:
    """duplicate-title for one page against the kept title index (the rule's own check
    builds that index from every page's names on each run)."""
    from veriwiki.checks.rules.duplicate_title import _claims
    from veriwiki.core.names import skeleton

    vault = got.vault
    if page.path in (vault.index_page, vault.log_page):
        return []
    owners = got.title_owners()
    out: list[Finding] = []
    seen: set[str] = set()
    for name, line, what in _claims(page):
        key = skeleton(name)
        if not key:
            continue
        others = sorted(owners.get(key, set()) - {page.path})
        if not others or key in seen:
            continue
        seen.add(key)
        out.append(Finding("duplicate-title", Severity.WARNING, page.path, line,
                           f"{what} '{name}' is also claimed by " + ", ".join(others),
                           "rename one of them or drop the alias; links to this name are "
                           "ambiguous"))
    return out
