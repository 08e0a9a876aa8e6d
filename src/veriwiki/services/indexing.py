"""Keeping the derived index current, searching it, and resolving page names."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from veriwiki.adapters.sqlite_index import IndexStats, SearchHit
from veriwiki.core.model import Link
from veriwiki.core.names import normalize_name
from veriwiki.core.query import query_terms
from veriwiki.core.resolve import Resolver
from veriwiki.errors import AmbiguousPageError, InputError, PageNotFoundError
from veriwiki.vault import Vault


def update_index(vault: Vault, rebuild: bool = False) -> IndexStats:
    """Re-parse changed pages (all pages with ``rebuild``) and drop deleted ones.

    An operation interrupted by a crash is finished (or rolled back) first, so readers
    never see its half-written working tree.
    """
    from veriwiki.services.write import recover_pending

    notes = recover_pending(vault)
    stats = vault.index.update(rebuild=rebuild)
    if notes:
        vault.index.notice = "; ".join([*([vault.index.notice] if vault.index.notice else []),
                                        *notes])
    return stats


def search(vault: Vault, query: str, limit: int = 10, *, refresh: bool = True,
           on_notice: Callable[[str], None] | None = None) -> list[SearchHit]:
    """Pages ranked by BM25 for ``query`` (title and aliases weigh most).

    With ``refresh`` (the default) the index first picks up changed files, which costs
    a scan of the vault; a caller that keeps the index fresh itself can skip it.
    Each word is searched once and at most ``MAX_QUERY_TERMS`` words are searched;
    ``on_notice`` hears when some were left out.
    """
    note = query_terms(query).note
    if note and on_notice:
        on_notice(note)
    if refresh:
        update_index(vault)
    skip = {vault.index_page, vault.log_page}
    hits = vault.index.search(query, limit + len(skip))
    return [h for h in hits if h.path not in skip][:limit]


def build_resolver(vault: Vault) -> Resolver:
    """A link resolver over the current index."""
    return Resolver(vault.index.page_names(), vault.index.attachments(), vault.pages_root)


def find_page(vault: Vault, name: str, resolver: Resolver | None = None) -> str:
    """The vault-relative path of the page ``name`` refers to.

    ``name`` may be a path (relative to the vault or the working directory, with or
    without ``.md``), a file name, a title or an alias.
    """
    if resolver is None:  # a caller passing a resolver has just refreshed the index
        update_index(vault)
        resolver = build_resolver(vault)
    as_path = Path(name)
    for base in (Path.cwd(), vault.root):
        for p in (base / name, base / f"{name}.md"):
            try:
                rel = os.path.relpath(p.resolve(), vault.root).replace(os.sep, "/")
            except ValueError:
                continue
            if rel in resolver.pages:
                return rel
    if as_path.suffix.lower() == ".md":
        name = name[:-3]
    res = resolver.resolve(Link("wikilink", name, None, None, name, 0, 0), "")
    if res.status == "ok" and res.path in resolver.pages:
        return res.path
    if res.status == "ambiguous":
        raise AmbiguousPageError(
            f"'{name}' names several pages: " + ", ".join(res.candidates),
            hint="use the page's path, e.g. " + res.candidates[0])
    norm = normalize_name(name)
    for problem in vault.index.problems():
        stem = problem.path.rsplit("/", 1)[-1]
        stem = stem[:-3] if stem.lower().endswith(".md") else stem
        if norm in (normalize_name(stem), normalize_name(problem.path[:-3]),
                    normalize_name(problem.path)):
            raise InputError(problem.message, path=problem.path, line=problem.line)
    candidates = [p for p, names in resolver.pages.items()
                  if norm in normalize_name(names.title)][:5]
    hint = ("did you mean: " + ", ".join(candidates)) if candidates else (
        "list pages with 'veriwiki search' or create it with 'veriwiki new'")
    raise PageNotFoundError(f"no page named '{name}'", hint=hint)
