"""Every page's names, for a check that examines only a few pages: kept, not re-read.

Resolving one page's links needs the names of every page (its title, aliases, path,
headings and block ids), and so does telling whether its title is claimed twice.
Reading and normalising them all costs ~0.3 s at 10k pages, which a check after a
one-page edit should not pay. :class:`NameStore` keeps the lookup tables of the last
full :class:`~veriwiki.core.resolve.Resolver` and the names two or more pages claim in
``.veriwiki/check-cache.db`` (:class:`~veriwiki.adapters.check_cache.NameTables`),
under the ``links`` facet's key (the check code, the settings and every page's names,
see :mod:`veriwiki.services.check_reuse`); while that key holds, a link is resolved by
looking up only the names it asks for. A missing or damaged table costs one full build.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from veriwiki.adapters.check_cache import CheckCache, NameTables
from veriwiki.core.facts import norm_key
from veriwiki.core.names import skeleton
from veriwiki.core.resolve import PageNames, Resolver
from veriwiki.services.resolver_tables import (
    Damaged,
    StoredResolver,
    encode,
    entries,
    value_of,
)
from veriwiki.vault import Vault

_OWNERS = "owners"  # name skeleton -> the pages claiming it, when two or more do
_NAMED = "named"  # norm_key of a title or alias -> the pages with that name


class NameStore:
    """The resolver and the shared names of one check, from the store when it holds."""

    def __init__(self, vault: Vault, cache: CheckCache, key: Callable[[], str]) -> None:
        self.vault = vault
        self.cache = cache
        self._key = key
        self._tables: NameTables | None = None
        self._opened = False
        self._full: tuple[Resolver, dict[str, frozenset[str]], dict[str, set[str]]] | None \
            = None

    def _stored(self) -> NameTables | None:
        if not self._opened:
            self._opened = True
            self._tables = self.cache.names(self._key())
        return self._tables

    def resolver(self) -> Resolver:
        """The link resolver over every page."""
        if self._full is None and self._stored() is not None:
            return StoredResolver(self, self.vault.pages_root)
        return self.full()[0]

    def owners(self, name: str) -> frozenset[str]:
        """The pages (catalog and log left out) claiming the name skeleton ``name`` as a
        title or alias, when two or more do; else empty."""
        if self._full is None and self._stored() is not None:
            found = self.lookup(_OWNERS, name)
            return frozenset(found) if found is not None else frozenset()
        return self.full()[1].get(name, frozenset())

    def pages_named(self, keys: Iterable[str]) -> list[PageNames]:
        """The names of every page with a title or alias whose ``norm_key`` is one of
        ``keys``, in path order."""
        if self._full is None and self._stored() is not None:
            paths: set[str] = set()
            for key in set(keys):
                paths.update(self.lookup(_NAMED, key) or ())
            if self._full is None:  # else a damaged entry: answer from the full tables
                found = [self.lookup("pages", p) for p in sorted(paths)]
                if self._full is None and all(found):
                    return found
        resolver, _, named = self.full()
        hits: set[str] = set()
        for key in set(keys):
            hits.update(named.get(key, ()))
        return [resolver.pages[p] for p in sorted(hits)]

    def lookup(self, attr: str, name: str) -> Any:
        """One stored entry (None when absent); the full tables when the store fails."""
        if self._full is None:
            tables = self._stored()
            raw = tables.get(attr, name) if tables is not None else None
            if raw is None and tables is not None:
                return None
            if raw is not None:
                try:
                    return value_of(attr, name, raw)
                except (ValueError, Damaged):
                    pass  # a damaged entry: answer from the full tables from now on
        full_resolver, owners, named = self.full()
        if attr in (_OWNERS, _NAMED):
            got = (owners if attr == _OWNERS else named).get(name)
            return sorted(got) if got else None
        return getattr(full_resolver, attr).get(name)

    def full(self) -> tuple[Resolver, dict[str, frozenset[str]], dict[str, set[str]]]:
        """Build the resolver, the shared names and the pages by name from every page
        (and store them)."""
        if self._full is None:
            index = self.vault.index
            names = index.page_names()
            resolver = Resolver(names, index.attachments(), self.vault.pages_root)
            claimed: dict[str, set[str]] = defaultdict(set)
            named: dict[str, set[str]] = defaultdict(set)
            skip = (self.vault.index_page, self.vault.log_page)
            for n in names:
                for name in (n.title, *n.aliases):
                    named[norm_key(name)].add(n.path)
                    key = skeleton(name)
                    if key and n.path not in skip:
                        claimed[key].add(n.path)
            owners = {k: frozenset(v) for k, v in claimed.items() if len(v) > 1}
            self._full = (resolver, owners, dict(named))
            kept = list(entries(resolver))
            kept += [(_OWNERS, k, encode("list", sorted(v))) for k, v in owners.items()]
            kept += [(_NAMED, k, encode("list", sorted(v))) for k, v in named.items()]
            self.cache.put_names(self._key(), kept)
        return self._full
