"""What check rules see: the parsed pages, link resolutions and vault settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from veriwiki.core.model import FileProblem, Finding, Page, Severity
from veriwiki.core.resolve import Resolution, Resolver

if TYPE_CHECKING:
    from veriwiki.services.types import TypeRegistry


@dataclass
class CheckContext:
    """Inputs shared by all rules of one check run. Rules must not modify it."""

    pages: list[Page]
    resolver: Resolver
    problems: list[FileProblem]
    types: TypeRegistry
    index_page: str
    log_page: str
    default_type: str | None = None
    sources: dict[str, Any] = field(default_factory=dict)
    facts: list[Any] = field(default_factory=list)
    vault: Any = None  # the Vault, for rules that need settings, paths or caches
    text_loader: Callable[[str, int | None], Any] | None = None
    current_rule: str = ""
    _resolved: dict[str, list[Resolution]] | None = field(default=None, repr=False)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    def cached(self, key_parts: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """A JSON-able result of a pure computation, reused across check runs.

        ``key_parts`` must capture every input of ``compute``; without a vault this is a
        plain in-run memo.
        """
        cache = self.memo("verify-cache", self._open_cache)
        if cache is None:
            return self.memo(("cached", key_parts), compute)
        from veriwiki.adapters.verify_cache import content_key

        key = content_key(*key_parts)
        hit = cache.get(key)
        if hit is None:
            hit = {"v": compute()}
            cache.put(key, hit)
        return hit["v"]

    def _open_cache(self) -> Any:
        if self.vault is None:
            return None
        from veriwiki.adapters.verify_cache import VerifyCache

        return VerifyCache(self.vault.state_dir / "verify-cache.db")

    def flush(self) -> None:
        """Persist what :meth:`cached` learnt in this run."""
        cache = self._memo.get("verify-cache")
        if cache is not None:
            cache.flush()

    def text_hash(self, source_id: str, version: int | None) -> str:
        """A hash of a source version's extracted text ('' when it has none)."""
        import hashlib

        def compute() -> str:
            text = self.source_text(source_id, version)
            return "" if text is None else hashlib.sha1(text.text.encode()).hexdigest()

        return str(self.memo(("text-hash", source_id, version), compute))

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        """A value shared between rules of one run (computed once)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def source_text(self, source_id: str, version: int | None) -> Any:
        """The extracted text of a source version (None when unknown or unreadable)."""
        if self.text_loader is None or source_id not in self.sources:
            return None
        return self.memo(("text", source_id, version),
                         lambda: self.text_loader(source_id, version) if self.text_loader
                         else None)

    def resolutions(self, page: Page) -> list[Resolution]:
        """How each of ``page``'s links resolves, in link order."""
        if self._resolved is None:
            self._resolved = {}
        got = self._resolved.get(page.path)
        if got is None:
            got = [self.resolver.resolve(link, page.path) for link in page.links]
            self._resolved[page.path] = got
        return got

    def is_generated(self, path: str) -> bool:
        """True for the generated catalog and the log, which some rules skip."""
        return path in (self.index_page, self.log_page)

    def finding(self, path: str, line: int, message: str, *, hint: str | None = None,
                column: int | None = None) -> Finding:
        """A finding of the running rule (its severity is set by the check service)."""
        return Finding(self.current_rule, Severity.ERROR, path, line, message, hint, column)
