"""What check rules see: the parsed pages, link resolutions and vault settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from veriwiki.checks.inputs import CheckInputs
from veriwiki.core.model import FileProblem, Finding, Page, Severity
from veriwiki.core.resolve import PageNames, Resolution, Resolver

if TYPE_CHECKING:
    from veriwiki.core.page_types import TypeRegistry


def is_check_info(info: str) -> bool:
    """True for the info string of a ``python check`` block."""
    return info.split()[:2] == ["python", "check"]


def has_check_blocks(page: Page) -> bool:
    """True when the page holds a ``python check`` block."""
    return any(is_check_info(b.info) for b in page.code_blocks)


def page_names(page: Page) -> PageNames:
    """What link resolution (and name matching) needs of ``page``."""
    return PageNames(page.path, page.title, page.aliases, tuple(h.text for h in page.headings),
                     tuple(b for b, _ in page.block_ids), page.anchors)


class PageSource:
    """Every page of the vault, for a check context: a plain list here.

    The check service passes a subclass that reads the index lazily, so a re-check that
    finds most results in its cache never loads the unchanged pages.
    """

    def __init__(self, pages: Sequence[Page]) -> None:
        self._pages = pages
        self._by_path: dict[str, Page] | None = None

    def all(self) -> Sequence[Page]:
        """Every page, in path order."""
        return self._pages

    def paths(self) -> list[str]:
        """Every page path, in path order."""
        return [p.path for p in self.all()]

    def get(self, path: str) -> Page | None:
        """The page at ``path``."""
        if self._by_path is None:
            self._by_path = {p.path: p for p in self.all()}
        return self._by_path.get(path)

    def names(self) -> list[PageNames]:
        """The names of every page, in path order."""
        return [page_names(p) for p in self.all()]

    def code_pages(self) -> list[Page]:
        """The pages holding ``python check`` blocks, in path order."""
        return [p for p in self.all() if has_check_blocks(p)]


class CheckContext:
    """Inputs shared by all rules of one check run. Rules must not modify it.

    ``pages`` are the pages a rule examines: every page, or (for a rule with a facet,
    run by ``check`` on the pages whose inputs changed) some of them. ``paths``,
    :meth:`page_names`, :meth:`link_targets` and :meth:`code_pages` always cover the
    whole vault.
    """

    def __init__(self, inputs: CheckInputs | None = None,
                 pages: Sequence[Page] | None = None, *, source: PageSource | None = None,
                 resolver: Resolver | None = None,
                 resolver_factory: Callable[[], Resolver] | None = None,
                 name_owners: Callable[[str], frozenset[str]] | None = None,
                 pages_named: Callable[[Iterable[str]], list[PageNames]] | None = None
                 ) -> None:
        self.inputs = inputs if inputs is not None else CheckInputs()
        self._name_owners = name_owners
        self._pages_named = pages_named
        self._pages = pages
        self._source = source if source is not None else PageSource(pages or [])
        self._resolver = resolver
        self._resolver_factory = resolver_factory
        self._memo: dict[Any, Any] = {}
        # shared with subset contexts: caches, source texts, resolutions, link targets
        self._shared: dict[Any, Any] = {}
        self._resolved: dict[str, list[Resolution]] = {}
        self._targets: dict[str, frozenset[str]] = {}

    # -- the run's inputs (see CheckInputs) -----------------------------------------------

    @property
    def problems(self) -> list[FileProblem]:
        """Files that could not be read or parsed."""
        return self.inputs.problems

    @property
    def types(self) -> TypeRegistry:
        """The page types (schemas)."""
        return self.inputs.types  # type: ignore[return-value]

    @property
    def index_page(self) -> str:
        """Path of the generated catalog page."""
        return self.inputs.index_page

    @property
    def log_page(self) -> str:
        """Path of the operations log page."""
        return self.inputs.log_page

    @property
    def default_type(self) -> str | None:
        """The type assumed for pages without one."""
        return self.inputs.default_type

    @property
    def sources(self) -> dict[str, Any]:
        """Source id -> Source."""
        return self.inputs.sources

    @property
    def facts(self) -> list[Any]:
        """The vault's facts."""
        return self.inputs.facts

    @property
    def text_loader(self) -> Callable[[str, int | None], Any] | None:
        """Loads a source version's extracted text."""
        return self.inputs.text_loader

    @property
    def cache_version(self) -> str:
        """The check code's version (part of every cached() key)."""
        return self.inputs.cache_version

    def today(self) -> Any:
        """Today's date as the run sees it."""
        return self.inputs.today()

    # -- the pages ----------------------------------------------------------------------

    @property
    def pages(self) -> Sequence[Page]:
        """The pages this rule run examines (loaded on first use)."""
        if self._pages is None:
            self._pages = self._source.all()
        return self._pages

    @property
    def paths(self) -> list[str]:
        """Every page path of the vault, in path order."""
        got: list[str] = self._shared_memo("paths", self._source.paths)
        return got

    def page_names(self) -> list[PageNames]:
        """Path, title, aliases, headings and block ids of every page, in path order."""
        got: list[PageNames] = self._shared_memo("names", self._source.names)
        return got

    def code_pages(self) -> list[Page]:
        """Every page holding a ``python check`` block, in path order."""
        got: list[Page] = self._shared_memo("code-pages", self._source.code_pages)
        return got

    @property
    def resolver(self) -> Resolver:
        """The link resolver over every page (built on first use)."""
        if self._resolver is None:
            if self._resolver_factory is None:
                self._resolver = Resolver(self.page_names())
            else:
                self._resolver = self._resolver_factory()
        return self._resolver

    def name_owners(self, name: str) -> frozenset[str]:
        """The pages claiming the name skeleton ``name`` (:func:`~veriwiki.core.names.
        skeleton` of a title or alias) when two or more do, else empty; the catalog and
        the log never count."""
        if self._name_owners is not None:
            return self._name_owners(name)
        owners: dict[str, frozenset[str]] = self._shared_memo("name-owners", self._owners)
        return owners.get(name, frozenset())

    def pages_named(self, keys: Iterable[str]) -> list[PageNames]:
        """The names of every page with a title or alias whose
        :func:`~veriwiki.core.facts.norm_key` is one of ``keys``, in path order."""
        if self._pages_named is not None:
            return self._pages_named(keys)
        from veriwiki.core.facts import norm_key

        wanted = set(keys)
        return [n for n in self.page_names()
                if any(norm_key(name) in wanted for name in (n.title, *n.aliases))]

    def _owners(self) -> dict[str, frozenset[str]]:
        from veriwiki.core.names import skeleton

        claimed: dict[str, set[str]] = {}
        for names in self.page_names():
            if self.is_generated(names.path):
                continue
            for name in (names.title, *names.aliases):
                key = skeleton(name)
                if key:
                    claimed.setdefault(key, set()).add(names.path)
        return {k: frozenset(v) for k, v in claimed.items() if len(v) > 1}

    def subset(self, pages: Sequence[Page]) -> CheckContext:
        """A context for the same run whose rules examine ``pages`` only.

        It shares the vault-wide inputs and caches but not :meth:`memo`, which may hold
        values computed over the examined pages.
        """
        sub = CheckContext(self.inputs, pages, source=self._source,
                           resolver_factory=lambda: self.resolver,
                           name_owners=self._name_owners, pages_named=self._pages_named)
        sub._shared = self._shared
        sub._resolved = self._resolved
        sub._targets = self._targets
        return sub

    # -- caches ---------------------------------------------------------------------------

    def cached(self, key_parts: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """A JSON-able result of a pure computation, reused across check runs.

        ``key_parts`` must capture every input of ``compute`` (the check service adds
        the version of the check code); without a vault this is a plain in-run memo.
        """
        cache = self._shared_memo("verify-cache", self._open_cache)
        if cache is None:
            return self._shared_memo(("cached", key_parts), compute)
        from veriwiki.adapters.verify_cache import content_key

        key = content_key(self.cache_version, *key_parts) if self.cache_version else \
            content_key(*key_parts)
        hit = cache.get(key)
        if hit is None:
            hit = {"v": compute()}
            cache.put(key, hit)
        return hit["v"]

    def _open_cache(self) -> Any:
        if self.inputs.cache_dir is None:
            return None
        from veriwiki.adapters.verify_cache import VerifyCache

        return VerifyCache(self.inputs.cache_dir / "verify-cache.db")

    def flush(self) -> None:
        """Persist what :meth:`cached` learnt in this run."""
        cache = self._shared.get("verify-cache")
        if cache is not None:
            cache.flush()

    def text_hash(self, source_id: str, version: int | None) -> str:
        """A hash of a source version's extracted text ('' when it has none)."""
        import hashlib

        def compute() -> str:
            text = self.source_text(source_id, version)
            return "" if text is None else hashlib.sha1(text.text.encode()).hexdigest()

        return str(self._shared_memo(("text-hash", source_id, version), compute))

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """A value shared between the rules of this context (computed once); it may
        depend on the pages examined (:meth:`subset` contexts have their own)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def run_memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """A value that does not depend on the pages examined, computed once per run
        and shared with every :meth:`subset` context (a check runs a rule with a facet
        on one chunk of pages at a time)."""
        return self._shared_memo(("run-memo", key), compute)

    def _shared_memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    # -- sources and links ----------------------------------------------------------------

    def source_text(self, source_id: str, version: int | None) -> Any:
        """The extracted text of a source version (None when unknown or unreadable)."""
        if self.text_loader is None or source_id not in self.sources:
            return None
        return self._shared_memo(("text", source_id, version),
                                 lambda: self.text_loader(source_id, version)
                                 if self.text_loader else None)

    def resolutions(self, page: Page) -> list[Resolution]:
        """How each of ``page``'s links resolves, in link order."""
        got = self._resolved.get(page.path)
        if got is None:
            got = []
            if page.links:  # the resolver is built on first use
                resolver = self.resolver
                got = [resolver.resolve(link, page.path) for link in page.links]
            self._resolved[page.path] = got
        return got

    def link_targets(self, page: Page | str) -> frozenset[str]:
        """Every page or file a page's links reach (ambiguous links: each candidate)."""
        path = page if isinstance(page, str) else page.path
        got = self._targets.get(path)
        if got is None:
            found = self._source.get(page) if isinstance(page, str) else page
            reached: set[str] = set()
            for res in self.resolutions(found) if found is not None else ():
                if res.path:
                    reached.add(res.path)
                reached.update(res.candidates)
            got = self._targets[path] = frozenset(reached)
        return got

    def forget_resolutions(self, paths: Iterable[str]) -> None:
        """Drop the kept link resolutions of these pages (their :meth:`link_targets`
        stay): a check running over many pages keeps only those of one chunk."""
        for path in paths:
            self._resolved.pop(path, None)

    def add_link_targets(self, targets: Iterable[tuple[str, frozenset[str]]]) -> None:
        """Record link targets known without loading the pages (from the check cache)."""
        self._targets.update(targets)

    # -- findings -------------------------------------------------------------------------

    def is_generated(self, path: str) -> bool:
        """True for the generated catalog and the log, which some rules skip."""
        return path in (self.index_page, self.log_page)

    def finding(self, path: str, line: int, message: str, *, hint: str | None = None,
                column: int | None = None) -> Finding:
        """A finding of the running rule: the runner stamps its rule id and severity."""
        return Finding("", Severity.ERROR, path, line, message, hint, column)
