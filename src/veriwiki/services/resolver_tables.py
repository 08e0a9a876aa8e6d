"""A link resolver whose tables are kept in a database and read name by name.

Building a :class:`~veriwiki.core.resolve.Resolver` reads every page's names (~0.3 s at
10k pages), and reading its tables back whole is not much cheaper (~0.08 s for 7 MB of
JSON); resolving the links of a few pages needs a few entries. The check
(:mod:`~veriwiki.services.check_names`) and the site build
(:mod:`~veriwiki.services.site_store`) keep the tables as (table, name, JSON) entries
(:func:`entries`) and answer through :class:`StoredResolver`, whose source looks one
entry up at a time (:class:`Lookup`); each store says when its entries hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from json.encoder import encode_basestring as quote  # what json.dumps uses, non-ASCII kept
from typing import Any, Protocol

from veriwiki.core.resolve import PageNames, Resolver

# the Resolver tables kept, with what each value is: a path, a list of paths, or names
TABLES = {"pages": "names", "by_path": "list", "by_full_path": "str",
          "by_suffix": "list", "by_stem": "list", "by_alias": "list",
          "files": "str", "files_by_name": "list"}


class Damaged(Exception):
    """A stored entry that does not decode."""


def decode(kind: str, raw: str) -> Any:
    """One stored entry's value (raises :class:`Damaged` or ValueError)."""
    value = json.loads(raw)
    if kind == "str":
        if isinstance(value, str):
            return value
    elif kind == "list":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    elif (isinstance(value, list) and len(value) in (4, 5) and isinstance(value[0], str)
          and all(isinstance(part, list) and all(isinstance(v, str) for v in part)
                  for part in value[1:])):
        return value
    raise Damaged(kind)


def encode(kind: str, value: Any) -> str:
    """JSON of one entry (~90k at 10k pages: strings quoted by the C quoter directly)."""
    if kind == "str":
        return str(quote(value))
    if kind == "list":
        return "[" + ",".join(map(quote, value)) + "]"
    parts = [value.aliases, value.headings, value.block_ids]
    if value.anchors:  # a fifth list only for pages with HTML anchors
        parts.append(value.anchors)
    return "[" + ",".join([quote(value.title)] + [
        "[" + ",".join(map(quote, part)) + "]" for part in parts]) + "]"


def entries(resolver: Resolver) -> Iterator[tuple[str, str, str]]:
    """Every entry of ``resolver``'s tables as (table, name, JSON)."""
    for attr, kind in TABLES.items():
        for name, value in getattr(resolver, attr).items():
            yield attr, name, encode(kind, value)


def value_of(attr: str, name: str, raw: str) -> Any:
    """The value a stored entry of table ``attr`` holds (a :class:`PageNames` for
    ``pages``); raises :class:`Damaged` or ValueError."""
    value = decode(TABLES.get(attr, "list"), raw)
    if attr == "pages":
        return PageNames(name, value[0], *(tuple(v) for v in value[1:]))
    return value


class Lookup(Protocol):
    """Where a :class:`StoredResolver` reads its entries."""

    def lookup(self, attr: str, name: str) -> Any:
        """The value of one entry (None when there is none)."""


class _Table(dict[str, Any]):
    """One resolver table: each name looked up in the store on first use."""

    def __init__(self, store: Lookup, attr: str) -> None:
        super().__init__()
        self._store = store
        self._attr = attr

    def _value(self, key: str) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        value = self._store.lookup(self._attr, key)
        dict.__setitem__(self, key, value)
        return value

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        value = self._value(key)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._value(key) is not None

    def __getitem__(self, key: str) -> Any:
        value = self._value(key)
        if value is None:
            raise KeyError(key)
        return value


class StoredResolver(Resolver):
    """A :class:`Resolver` whose tables are read from ``store`` name by name (its
    answers are those of the resolver the entries were made from)."""

    def __init__(self, store: Lookup, pages_root: str) -> None:  # noqa: D107
        # not Resolver.__init__: that one fills the tables from every page
        self.source = store
        for attr in TABLES:
            setattr(self, attr, _Table(store, attr))
        self.pages_root = pages_root.strip("/")
        self._anchors = {}
        self._memo = {}
