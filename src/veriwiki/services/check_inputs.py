"""The inputs of a check run, read from the vault: rules, sources, texts, facts.

:func:`vault_inputs` builds the :class:`~veriwiki.checks.inputs.CheckInputs` every rule
reads; the check service and the web app's one-page check both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from veriwiki.checks import CheckContext, Rule, all_rules
from veriwiki.checks.context import PageSource
from veriwiki.checks.inputs import CheckInputs
from veriwiki.core.model import FileProblem, Finding, Page, Severity, Source, SourceText
from veriwiki.core.resolve import PageNames
from veriwiki.errors import ConfigError, VeriwikiError
from veriwiki.services.types import TypeRegistry, load_types
from veriwiki.vault import Vault

CHUNK_PAGES = 4000
"""Pages decoded at once when rules run over many of them: a check holds this many
parsed pages and their link resolutions at a time, not the whole vault's (at 100k
pages the whole vault's would need ~2 GiB)."""
KEEP_PAGES = 10_000
"""Up to this many pages, those decoded for a chunk are kept for the rest of the check
(~11 kB a page): the check reads every page twice (what it cites, then the rules), and
below this size decoding once is worth more than the memory."""


class IndexPages(PageSource):
    """The vault's pages read from the index on demand: pages asked for one by one are
    decoded once and kept, those of :meth:`chunks` only while the chunk is in use."""

    def __init__(self, vault: Vault, blobs: dict[str, str]) -> None:
        super().__init__(())
        self.vault = vault
        self.blobs = blobs  # path -> blob id when the check started
        self.code_paths: list[str] | None = None  # pages with check blocks (None: unknown)
        self.loaded: dict[str, Page] = {}
        self.loaded_blob: dict[str, str] = {}  # the blob each loaded page was parsed from
        self._all: list[Page] | None = None

    def load(self, paths: list[str]) -> list[Page]:
        """The pages at ``paths`` (in that order; pages gone from the index are left out)."""
        missing = [p for p in paths if p not in self.loaded]
        if missing:  # only those: every page would hold the whole vault in memory
            for page, blob in self.vault.index.load_pages_blobs(missing):
                self.loaded[page.path] = page
                self._note(page.path, blob)
        return [self.loaded[p] for p in paths if p in self.loaded]

    def chunks(self, paths: list[str], size: int | None = None) -> Iterator[list[Page]]:
        """The pages at ``paths``, in that order, ``size`` at a time (pages gone from the
        index are left out). Pages not loaded before are kept when there are at most
        :data:`KEEP_PAGES` of them or they fit in one chunk (a check after a few edits
        asks for them again), else decoded for their chunk only."""
        size = size or CHUNK_PAGES
        keep = len(paths) <= max(size, KEEP_PAGES)
        for start in range(0, len(paths), size):
            part = paths[start:start + size]
            fresh: dict[str, Page] = {}
            for page, blob in self.vault.index.load_pages_blobs(
                    [p for p in part if p not in self.loaded]):
                fresh[page.path] = page
                self._note(page.path, blob)
            if keep:
                self.loaded.update(fresh)
            yield [got for p in part
                   if (got := self.loaded.get(p) or fresh.get(p)) is not None]

    def records(self, paths: list[str], size: int | None = None
                ) -> Iterator[tuple[str, str, str]]:
        """(path, stored record, blob) of the pages at ``paths``, read ``size`` at a time
        and not decoded (nor kept); the blobs are noted as :meth:`chunks` notes them."""
        size = size or CHUNK_PAGES
        for start in range(0, len(paths), size):
            for path, data, blob in self.vault.index.page_rows(paths[start:start + size]):
                self._note(path, blob)
                yield path, data, blob

    def _note(self, path: str, blob: str) -> None:
        """Record the blob a page was decoded from ('' once two different ones were)."""
        seen = self.loaded_blob.get(path, blob)
        self.loaded_blob[path] = blob if seen == blob else ""

    def all(self) -> list[Page]:
        if self._all is None:
            pairs = self.vault.index.load_pages_blobs()
            for page, blob in pairs:
                if page.path not in self.loaded:
                    self.loaded[page.path] = page
                    self._note(page.path, blob)
            self._all = [self.loaded[page.path] for page, _ in pairs]
        return self._all

    def paths(self) -> list[str]:
        return list(self.blobs)

    def get(self, path: str) -> Page | None:
        found = self.load([path])
        return found[0] if found else None

    def names(self) -> list[PageNames]:
        return sorted(self.vault.index.page_names(), key=lambda n: n.path)

    def code_pages(self) -> list[Page]:
        if self.code_paths is None:
            return super().code_pages()
        return self.load(self.code_paths)


def run_facets(ctx: CheckContext, store: IndexPages, facets: dict[str, list[Rule]],
               todo: dict[str, set[str]], paths: list[str]
               ) -> Iterator[tuple[Rule, Finding, bool]]:
    """Run each facet's rules on the pages of ``todo`` (path → the facets to compute
    there), taken in ``paths`` order a chunk at a time; yields (rule, finding, whether
    it is on one of the pages examined).

    A rule with a facet finds on each page what it would find with the whole vault
    examined (see :data:`~veriwiki.checks.FACETS`), so the chunks change no finding;
    its findings elsewhere (a schema file) do not depend on the pages either, and are
    taken from its first run only. After each chunk its pages' link resolutions are
    dropped (their link targets are kept), so memory holds one chunk's pages.
    """
    ran: set[str] = set()
    for pages in store.chunks([p for p in paths if p in todo]):
        for facet, rules in facets.items():
            mine = [p for p in pages if facet in todo[p.path]]
            if mine:
                yield from _run_rules(ctx, facet, rules, mine, facet not in ran)
                ran.add(facet)
        ctx.forget_resolutions(p.path for p in pages)
    for facet, rules in facets.items():
        if facet not in ran:  # no page to examine: the findings elsewhere still count
            yield from _run_rules(ctx, facet, rules, [], True)


def _run_rules(ctx: CheckContext, facet: str, rules: list[Rule], pages: list[Page],
               first: bool) -> Iterator[tuple[Rule, Finding, bool]]:
    sub = ctx.subset(pages)
    here = {p.path for p in pages}
    for r in rules:
        for item in r.run(sub):
            on_page = item.path in here
            if on_page or first:
                yield r, item, on_page
    if facet == "links":  # what orphan-page and missing-from-index read
        for page in pages:
            ctx.link_targets(page)


def cited_sources(vault: Vault, wanted: set[tuple[str, int | None]],
                   parse: Callable[[str, str], Source] | None = None,
                   ) -> tuple[dict[str, Source], dict[tuple[str, int | None], SourceText],
                              list[FileProblem]]:
    """Sources by id, and the extracted text of every ``wanted`` (cited) source version."""
    from veriwiki.services.sources import load_sources, version_text

    loaded, problems = load_sources(vault, parse) if parse else load_sources(vault)
    sources = {s.id: s for s in loaded}
    texts: dict[tuple[str, int | None], SourceText] = {}
    wanted = {(sid, version) for sid, version in wanted if sid in sources}
    # the previous version of each source cited by its latest: stale-claim compares them
    for sid, version in list(wanted):
        versions = sources[sid].versions
        if version is None and len(versions) > 1:
            wanted.add((sid, sorted(v.version for v in versions)[-2]))
    for sid, version in sorted(wanted, key=lambda k: (k[0], k[1] or 0)):
        ref = sid if version is None else f"{sid}:v{version}"
        source = sources[sid]
        chosen = source.current if version is None else source.version(version)
        if chosen is None:
            continue  # unknown-source reports a missing version
        try:
            texts[(sid, version)] = version_text(vault, source, chosen)
        except VeriwikiError as exc:
            problems.append(FileProblem(exc.path or f"raw/{sid}", "unreadable-source",
                                        f"source {ref} cannot be read: {exc.message}",
                                        exc.line or 1))
    return sources, texts, problems


def load_check_facts(vault: Vault, pages: list[Page], sources: dict[str, Source],
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


def text_loader(vault: Vault, sources: dict[str, Source],
                 texts: dict[tuple[str, int | None], SourceText]
                 ) -> Callable[[str, int | None], SourceText | None]:
    """Texts for rules: the cited ones loaded up front, any other current version on demand
    (quote-not-found looks for a missing quote in the other sources)."""
    extra: dict[str, SourceText | None] = {}

    def load(sid: str, version: int | None) -> SourceText | None:
        got = texts.get((sid, version))
        if got is not None or version is not None or sid not in sources:
            return got
        if sid not in extra:
            from veriwiki.services.sources import version_text

            try:
                extra[sid] = version_text(vault, sources[sid], sources[sid].current)
            except VeriwikiError:
                extra[sid] = None  # reported when a page cites it
        return extra[sid]

    return load


def rule_settings(vault: Vault, strict: bool, only: list[str] | None
                   ) -> list[tuple[Rule, Severity]]:
    """The rules to run, in order, with the severity each reports at."""
    rules = all_rules()
    known = {r.id for r in rules}
    severities = vault.check_severities
    unknown = sorted(set(severities) - known)
    if unknown:
        raise ConfigError("[checks] names unknown rules: " + ", ".join(unknown),
                          path="veriwiki.toml",
                          hint="known rules: " + ", ".join(sorted(known)))
    if only:
        bad = sorted(set(only) - known)
        if bad:
            raise ConfigError("unknown rule ids: " + ", ".join(bad),
                              hint="known rules: " + ", ".join(sorted(known)))
    active = []
    for r in rules:
        severity = severities.get(r.id, r.default)
        if severity is Severity.OFF or (only and r.id not in only) or r.model_derived:
            continue
        if strict and severity is Severity.WARNING:
            severity = Severity.ERROR
        active.append((r, severity))
    return active




def vault_inputs(vault: Vault, *, problems: list[FileProblem], sources: dict[str, Source],
                 facts: list[Any], text_loader: Callable[[str, int | None], SourceText | None],
                 cache_version: str, types: TypeRegistry | None = None) -> CheckInputs:
    """The inputs of a check of ``vault`` (settings, today, a block runner, page texts);
    ``types``: the page types when the caller has them already."""
    from pathlib import Path

    def run_blocks(pages: list[Page], facts: list[Any]) -> list[Any]:
        from veriwiki.adapters.isolation import choose_isolation
        from veriwiki.adapters.sandbox import Limits
        from veriwiki.services.code_checks import run_check_blocks

        return run_check_blocks(Path(vault.root), Path(vault.cache_dir), pages, facts,
                                Limits.from_settings(vault.sandbox_settings),
                                isolation=choose_isolation(vault.sandbox))

    limit = vault.vault_settings.max_page_bytes  # (read once: read_text runs a page)

    def read_text(path: str) -> str:
        from veriwiki.adapters.fs import read_page_text

        try:
            return read_page_text(vault.root, path, limit)
        except VeriwikiError:
            return ""  # unreadable-file reports it

    def page_types() -> dict[str, str | None]:
        return {path: row[2] for path, row in vault.index.catalog_rows().items()}

    return CheckInputs(
        problems=problems, types=types if types is not None else load_types(vault), index_page=vault.index_page,
        log_page=vault.log_page, default_type=vault.default_type,
        sources=sources, facts=facts, text_loader=text_loader, today=vault.today,
        freshness=vault.freshness, run_blocks=run_blocks, read_text=read_text,
        page_types=page_types, cache_dir=vault.cache_dir, cache_version=cache_version,
        sandbox=vault.sandbox_settings)
