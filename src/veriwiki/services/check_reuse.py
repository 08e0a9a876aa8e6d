"""The check cache as the check uses it: which pages each facet must recompute.

``.veriwiki/check-cache.db`` (:mod:`veriwiki.adapters.check_cache`) keeps, per page,
the findings of the rules with a facet, keyed by the page's blob and by a hash of every
other input of those rules (:class:`_Keys`). :class:`CachedRun` reads the rows that
still hold and runs the rules only on the other pages.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import astuple, fields, replace
from typing import Any

from veriwiki.adapters.check_cache import FORMAT as CACHE_FORMAT
from veriwiki.adapters.check_cache import CheckCache, PageRow
from veriwiki.checks import FACETS, CheckContext, Rule
from veriwiki.checks.context import is_check_info
from veriwiki.core.model import Finding, Severity, Source, SourceText
from veriwiki.core.records import citations_and_infos
from veriwiki.errors import VeriwikiError
from veriwiki.services.check_inputs import IndexPages, run_facets
from veriwiki.services.check_quiet import stored_findings, stored_items
from veriwiki.vault import Vault

# -- the check cache --------------------------------------------------------------------------

CACHE_FILE = "check-cache.db"
# rules that read every page's link targets (kept with the "links" facet)
_TARGET_RULES = ("orphan-page", "missing-from-index")
# Finding fields stored per cached finding (rule, severity and path are known)
_STORED = tuple(f.name for f in fields(Finding))[3:]
_SEP, _SUB = "\x1e", "\x1f"  # never in source ids (letters, digits, '.', '_', '-')


def _cacheable(r: Rule) -> bool:
    """Built-in rules with a facet; plugin rules always run on the whole vault."""
    return r.facet is not None and r.run.__module__.startswith("veriwiki.")


class _Meta:
    """What a page's content cites and holds, as stored in its cache row."""

    __slots__ = ("blocks", "cited", "ok", "quoted")

    def __init__(self, blocks: bool, quoted: str, cited: str, ok: bool = True) -> None:
        self.blocks = blocks
        self.quoted = quoted  # "sid\x1fversion" items joined by \x1e ('' version: latest)
        self.cited = cited  # source ids joined by \x1e
        self.ok = ok  # False: the page cites an id the encoding cannot hold; never cached

    @classmethod
    def of_record(cls, data: str) -> _Meta:
        """What the page stored as ``data`` cites and holds, read without decoding it
        into a :class:`Page` (a cold check would otherwise build every page twice)."""
        cites, infos = citations_and_infos(data)
        quoted = sorted({(sid, v) for sid, v, quote in cites if quote},
                        key=lambda k: (k[0], k[1] or 0))
        cited = sorted({sid for sid, _, _ in cites})
        ok = not any(_SEP in sid or _SUB in sid for sid in cited)
        blocks = any(map(is_check_info, infos))
        return cls(blocks, _SEP.join(f"{sid}{_SUB}{'' if v is None else v}" for sid, v in quoted),
                   _SEP.join(cited), ok)


class CachedRun:
    """One check's use of the check cache: which pages each facet must recompute."""

    def __init__(self, vault: Vault, blobs: dict[str, str], cache: CheckCache,
                 names: str | None = None) -> None:
        self.vault = vault
        self.blobs = blobs
        self.cache = cache
        self.store = IndexPages(vault, blobs)
        self.old = cache.load()
        self.meta: dict[str, _Meta] = {}
        self.wanted: set[tuple[str, int | None]] = set()
        self._rows: dict[str, PageRow] = {}
        self.want: dict[str, tuple[str | None, list[str]]] = {}
        self.short: dict[str, str] = {}
        self.recomputed: dict[str, set[str]] = {}
        self.severity: dict[str, Severity] = {}
        self._names = names  # the index's names digest, when the caller has read it
        self._links_key: str | None = None
        self.lazy = False  # leave the findings of quiet pages undecoded (check_quiet)
        self.raw: dict[str, str] = {}  # path -> its row's findings (JSON), not decoded
        self._read_meta()

    def names_digest(self) -> str:
        """The index's digest of every page's names and the attachments (read once)."""
        if self._names is None:
            self._names = self.vault.index.names_digest()
        return self._names

    def links_key(self) -> str:
        """The ``links`` facet's key in this check (see :class:`_Keys`)."""
        if self._links_key is None:
            key = _Keys(self.vault, None, {}, {}, [], self.names_digest).facet("links")
            assert key is not None
            self._links_key = key
        return self._links_key

    def _read_meta(self) -> None:
        """Meta of every page: from its row when the blob matches, else from the page."""
        raw: set[str] = set()
        stale = []
        for path, blob in self.blobs.items():
            row = self.old.get(path)
            if row is None or row.blob != blob:
                stale.append(path)
                continue
            self.meta[path] = _Meta(bool(row.blocks), row.quoted, row.cited)
            if row.quoted:
                raw.update(row.quoted.split(_SEP))
        for path, data, _ in self.store.records(stale):
            meta = self.meta[path] = _Meta.of_record(data)
            if meta.quoted:
                raw.update(meta.quoted.split(_SEP))
        try:
            for item in raw:
                sid, _, version = item.partition(_SUB)
                self.wanted.add((sid, int(version) if version else None))
        except ValueError:  # a damaged cache: read every page's meta from the page
            self.old, self.meta, self.wanted = {}, {}, set()
            self._read_meta()
            return
        self.store.code_paths = [p for p in self.blobs if p in self.meta and self.meta[p].blocks]

    def parse_sidecar(self, text: str, rel: str) -> Source:
        """:func:`parse_sidecar`, remembering its results in the check cache."""
        from veriwiki.core.model import SourceVersion
        from veriwiki.core.sources import parse_sidecar

        digest = hashlib.sha1(f"{rel}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
        raw = self.cache.sidecar(digest)
        if raw is not None:
            try:
                sid, title, origin, lic, versions = json.loads(raw)
                return Source(sid, title, origin, lic,
                              tuple(SourceVersion(*v) for v in versions))
            except (TypeError, ValueError):
                pass  # a damaged entry: parse again
        source = parse_sidecar(text, rel)
        self.cache.put_sidecar(digest, json.dumps(
            [source.id, source.title, source.origin, source.license,
             [list(astuple(v)) for v in source.versions]], ensure_ascii=False))
        return source

    def page_findings(self, ctx: CheckContext, rules: list[tuple[Rule, Severity]],
                      texts: dict[tuple[str, int | None], SourceText]
                      ) -> dict[str, list[Finding]]:
        """The findings of every cacheable rule in ``rules`` (rule id → findings, each
        stamped with its rule id and the severity given)."""
        self.severity = {r.id: severity for r, severity in rules}
        need_targets = any(r.id in _TARGET_RULES for r, _ in rules)
        cacheable = [r for r, _ in rules if _cacheable(r)]
        self.cached_rules = [(r.id, self.severity[r.id].value) for r in cacheable]  # in order
        facets = {f: [r for r in cacheable if r.facet == f] for f in FACETS}
        facets = {f: rs for f, rs in facets.items() if rs or (f == "links" and need_targets)}
        if not facets:
            return {}
        keys = _Keys(self.vault, ctx.types, ctx.sources, texts, ctx.facts, self.names_digest)
        self.want = {f: (keys.facet(f), sorted(r.id for r in rs)) for f, rs in facets.items()}
        self.short = keys.source_digests() if "sources" in facets else {}
        # which facets of each page's row hold for this check
        exact = _facets_text({f: (k, ids) for f, (k, ids) in self.want.items() if k})
        everything = frozenset(f for f, (k, _) in self.want.items() if k)
        valid: dict[str, frozenset[str]] = {}
        quiet: set[str] = set()  # rows holding for every facet, for exactly these rules
        lazy = self.lazy and len(everything) == len(self.want)
        for path, blob in self.blobs.items():
            row = self.old.get(path)
            if row is None or row.blob != blob:
                continue
            if row.facets == exact:
                ok = everything
                if lazy:
                    quiet.add(path)
            else:
                stored = _parse_facets(row.facets)
                ok = frozenset(f for f in self.want if self._holds(f, stored.get(f)))
            if "sources" in ok and row.dvec != _dvec(self.meta[path].cited, self.short):
                ok = ok - {"sources"}
                quiet.discard(path)
            valid[path] = ok
        return self._run(ctx, facets, valid, need_targets, quiet)

    def _holds(self, facet: str, entry: tuple[str, list[str]] | None, *,
               all_rules: bool = True) -> bool:
        """True when a stored entry has this check's key (and, with ``all_rules``, every
        enabled rule of the facet)."""
        key, ids = self.want[facet]
        return (entry is not None and key is not None and entry[0] == key
                and (not all_rules or set(ids) <= set(entry[1])))

    def _run(self, ctx: CheckContext, facets: dict[str, list[Rule]],
             valid: dict[str, frozenset[str]], need_targets: bool, quiet: set[str]
             ) -> dict[str, list[Finding]]:
        by_page: dict[str, dict[str, list[Finding]]] = {r.id: {} for rs in facets.values()
                                                        for r in rs}
        other: dict[str, list[Finding]] = {rid: [] for rid in by_page}  # not on a page
        # cached findings and link targets of the facets that hold
        reached: list[tuple[str, frozenset[str]]] = []
        for path, ok in valid.items():
            row = self.old[path]
            if not ok:
                continue
            try:
                if path in quiet:  # decoded only if the page gets other findings
                    stored = {}
                    if row.findings:
                        self.raw[path] = row.findings
                else:
                    stored = stored_findings(row.findings)
                got = {r.id: _decode(r.id, self.severity[r.id], path, stored[r.id]) for f in ok
                       for r in facets.get(f, ()) if r.id in stored} if stored else {}
                if need_targets and "links" in ok:
                    reached.append((path, frozenset(json.loads(row.targets)
                                                    if row.targets else ())))
            except (ValueError, TypeError, KeyError):
                valid[path] = frozenset()  # a damaged row: compute the page again
                self.raw.pop(path, None)
                continue
            for rid, found in got.items():
                by_page[rid][path] = found
        ctx.add_link_targets(reached)
        # the rest, on the pages whose inputs changed
        fresh: dict[str, dict[str, list[Finding]]] = {}  # path -> rule id -> findings
        self.recomputed = {}  # path -> facets computed now
        for facet in facets:
            if self.want[facet][0] is None:
                paths = list(self.blobs)
            else:
                paths = [p for p in self.blobs if facet not in valid.get(p, ())]
            for path in paths:
                self.recomputed.setdefault(path, set()).add(facet)
        # a chunk of pages at a time (issue 14: memory at 100k pages)
        for r, item, on_page in run_facets(ctx, self.store, facets, self.recomputed,
                                           list(self.blobs)):
            item = replace(item, rule=r.id, severity=self.severity[r.id])
            if on_page:
                by_page[r.id].setdefault(item.path, []).append(item)
                fresh.setdefault(item.path, {}).setdefault(r.id, []).append(item)
            else:
                other[r.id].append(item)
        # new rows for the pages that changed
        for path, blob in self.blobs.items():
            meta = self.meta.get(path)
            old = self.old.get(path)
            if meta is None or not meta.ok or self.store.loaded_blob.get(path, blob) != blob:
                continue  # unknown, not storable, or changed during the check
            if path in self.recomputed or old is None or old.blob != blob:
                self._store_row(ctx, path, blob, meta, facets, fresh.get(path, {}))
        # pages in any order: the report is sorted by path, and only one rule's findings
        # on one page can tie (their order within the page is kept)
        return {rid: other[rid] + [f for got in found.values() for f in got]
                for rid, found in by_page.items()}

    def _store_row(self, ctx: CheckContext, path: str, blob: str, meta: _Meta,
                   facets: dict[str, list[Rule]], fresh: dict[str, list[Finding]]) -> None:
        """The page's new row: facets computed now, and stored facets that still hold."""
        row = self.old.get(path)
        same = row is not None and row.blob == blob
        kept = _parse_facets(row.facets) if same and row is not None else {}
        try:
            stored = stored_findings(row.findings) if same and row is not None else {}
        except (ValueError, TypeError):
            kept, stored = {}, {}
        sources_held = (same and row is not None and "sources" in kept
                        and ("sources" not in facets
                             or row.dvec == _dvec(meta.cited, self.short)))
        now = self.recomputed.get(path, set())
        entries: dict[str, tuple[str, list[str]]] = {}
        findings: dict[str, list[list[Any]]] = {}
        for f in FACETS:
            entry = kept.get(f)
            if f == "sources" and not sources_held:
                entry = None
            if f in now:
                key, ids = self.want[f]
                if key is None:
                    continue
                # the same inputs but fewer rules ran before: keep their findings
                before = entry if self._holds(f, entry, all_rules=False) else None
                rules = sorted(set(ids) | set(before[1] if before else ()))
                entries[f] = (key, rules)
                for rid in rules:
                    if rid in ids:
                        if fresh.get(rid):
                            findings[rid] = _encode(fresh[rid])
                    elif rid in stored:
                        findings[rid] = stored[rid]
            elif entry is not None and (f not in facets or self._holds(f, entry)):
                entries[f] = entry
                for rid in entry[1]:
                    if rid in stored:
                        findings[rid] = stored[rid]
        dvec = ""
        if "sources" in entries:
            dvec = _dvec(meta.cited, self.short) if "sources" in facets else \
                row.dvec if row is not None else ""
        targets = ""
        if "links" in entries:
            if "links" in now:
                reached = sorted(ctx.link_targets(path))
                targets = json.dumps(reached, ensure_ascii=False) if reached else ""
            elif row is not None:
                targets = row.targets
        self._rows[path] = PageRow(
            blob, int(meta.blocks), meta.quoted, meta.cited, dvec, _facets_text(entries),
            json.dumps(findings, ensure_ascii=False, separators=(",", ":")) if findings else "",
            targets)

    def decode_raw(self, path: str) -> list[Finding]:
        """The cached findings of a page left undecoded (:attr:`raw`), for the rules of
        this check in their order; raises ValueError or TypeError when damaged."""
        stored = stored_findings(self.raw.pop(path))
        return [f for rid, _ in self.cached_rules if rid in stored
                for f in _decode(rid, self.severity[rid], path, stored[rid])]

    def flush(self) -> None:
        """Write the rows of pages that changed."""
        for path, row in self._rows.items():
            self.cache.put(path, row)
        self.cache.flush(self.blobs)


def _facets_text(entries: dict[str, tuple[str, list[str]]]) -> str:
    return ";".join(f"{f}={key}={','.join(ids)}" for f, (key, ids) in entries.items())


def _parse_facets(text: str) -> dict[str, tuple[str, list[str]]]:
    out = {}
    for item in text.split(";") if text else ():
        facet, _, rest = item.partition("=")
        key, _, rules = rest.partition("=")
        out[facet] = (key, rules.split(",") if rules else [])
    return out


def _dvec(cited: str, short: dict[str, str]) -> str:
    """The hashes of the cited sources ('-' for an unknown id), in ``cited`` order."""
    return _SEP.join(short.get(sid, "-") for sid in cited.split(_SEP)) if cited else ""


# The code that turns a page and a facet's inputs into findings: cached findings are
# reused only while these files are unchanged (tests/test_check_cache.py checks that a
# check imports no other veriwiki module but those in its EXEMPT list).
CHECK_CODE = ("__init__.py", "checks", "core", "services/check.py", "services/check_report.py",
              "services/check_inputs.py", "services/check_reuse.py", "services/check_names.py",
              "services/resolver_tables.py", "services/check_quiet.py",
              "services/types.py",
              "services/freshness.py", "services/indexing.py", "adapters/check_cache.py",
              "adapters/sqlite_index", "adapters/index_light.py")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A hash of the code in :data:`CHECK_CODE`, and of the Python and jsonschema in use
    (read once per process: the code that runs is the code that was loaded)."""
    import sys
    from pathlib import Path

    import jsonschema

    import veriwiki

    root = Path(veriwiki.__file__).parent
    h = hashlib.sha1(f"{veriwiki.__version__}\0{sys.version}".encode())
    for part in CHECK_CODE:
        found = root / part
        for path in sorted(found.rglob("*.py")) if found.is_dir() else [found]:
            h.update(path.relative_to(root).as_posix().encode("utf-8", "surrogateescape")
                     + b"\0" + path.read_bytes())
    for path in sorted(Path(jsonschema.__file__).parent.rglob("*.py")):
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _digest(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=repr,
                                   ensure_ascii=False).encode("utf-8", "surrogatepass")
                        ).hexdigest()


class _Keys:
    """Each facet's key: a hash of every input of its rules but the page itself."""

    def __init__(self, vault: Vault, types: Any, sources: dict[str, Source],
                 texts: dict[tuple[str, int | None], SourceText], facts: list[Any],
                 names: Callable[[], str]) -> None:
        self.vault = vault
        self._names_digest = names
        self.types = types
        self.sources = sources
        self.texts = texts
        self.facts = facts
        self._base: str | None = None

    @property
    def base(self) -> str:
        """The code and the settings (veriwiki.toml), which every facet depends on."""
        if self._base is None:
            self._base = _digest(CACHE_FORMAT, code_digest(),  # settings: validated JSON
                                 json.dumps(self.vault.settings, sort_keys=True))
        return self._base

    @property
    def names(self) -> str:
        """Every page's path, title, aliases, headings and block ids; the attachments."""
        return self._names_digest()

    def facet(self, facet: str) -> str | None:
        """The key of ``facet`` (None: no key, so nothing cached is used)."""
        if facet == "page":
            from jsonschema import FormatChecker

            types = self.types
            return _digest(self.base, "page", sorted(
                (name, t.schema, t.origin, t.requires_citations)
                for name, t in types.types.items()), types.errors, types.base.schema,
                sorted(FormatChecker().checkers))
        if facet == "today":
            from veriwiki.services.freshness import today

            try:
                return _digest(self.base, "today", today().isoformat())
            except VeriwikiError:
                return None  # the rule reports the bad date
        if facet == "links":
            return _digest(self.base, "links", self.names)
        if facet == "facts":  # facts tables of a type (type: model) also read page types
            types = sorted((path, row[2] or "") for path, row in
                           self.vault.index.catalog_rows().items())
            return _digest(self.base, "facts", self.names, [repr(f) for f in self.facts],
                           types)
        if facet == "sources":  # and, per page, the hashes of the cited sources (dvec)
            # every source's current bytes: a quote missing from its source is looked
            # for in the others (quote-not-found names the one that has it)
            return _digest(self.base, "sources", sorted(
                (sid, s.current.version, s.current.sha256) for sid, s in self.sources.items()))
        raise ValueError(f"unknown facet {facet!r}")

    def source_digests(self) -> dict[str, str]:
        """Per source id, a short hash of its metadata and of its texts in this check."""
        texts: dict[str, list[Any]] = {}
        for (sid, version), text in self.texts.items():
            texts.setdefault(sid, []).append(
                (-1 if version is None else version,
                 hashlib.sha1(text.text.encode("utf-8", "surrogatepass")).hexdigest(),
                 list(text.pages)))
        return {sid: _digest(repr(source), sorted(texts.get(sid, [])))[:16]
                for sid, source in self.sources.items()}


def _encode(found: list[Finding]) -> list[list[Any]]:
    return [[getattr(f, name) for name in _STORED] for f in found]


def _decode(rule_id: str, severity: Severity, path: str, rows: list[list[Any]]
            ) -> list[Finding]:
    """Stored findings as :class:`Finding` objects; raises TypeError when damaged."""
    return [Finding(rule_id, severity, path, *item) for item in stored_items(rows)]


assert _STORED == ("line", "message", "hint", "column", "origin"), "update _decode"
