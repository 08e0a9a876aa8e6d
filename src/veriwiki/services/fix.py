"""``veriwiki fix``: rewrite what check can regenerate; today, stale facts tables.

Every ``facts-table`` block whose rows differ from the facts is regenerated in place
(:mod:`veriwiki.core.facts_table`), all pages in one commit through
:func:`veriwiki.services.write.finish`. Blocks whose spec does not parse are left alone
(``check`` reports them as ``table-spec``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from veriwiki.adapters.fs import read_page_text
from veriwiki.core.facts_table import EntityPage, TableFacts, find_tables, has_tables, rewrite
from veriwiki.errors import InputError
from veriwiki.services.write import Notify, finish, write_operation
from veriwiki.vault import Vault


@dataclass(frozen=True, slots=True)
class FixedTable:
    """One table rewritten (or, on a dry run, to rewrite): page and opening line."""

    path: str
    line: int


@dataclass(slots=True)
class FixResult:
    """What ``fix`` changed; ``commit`` is None on a dry run or when nothing was stale.

    ``unparsed``: (path, line, reason) of blocks left alone because their spec is bad.
    """

    tables: list[FixedTable] = field(default_factory=list)
    unparsed: list[tuple[str, int, str]] = field(default_factory=list)
    commit: str | None = None
    dry_run: bool = False


def _table_data(vault: Vault) -> TableFacts:
    from veriwiki.services.facts import load_facts

    facts, _ = load_facts(vault)
    rows = vault.index.catalog_rows()
    pages = [EntityPage(n.path, n.title, n.aliases, rows.get(n.path, ("", "", None, ""))[2])
             for n in vault.index.page_names()]
    return TableFacts(facts, pages)


def _targets(vault: Vault, pages: list[str] | None) -> list[str]:
    known = vault.index.paths()
    if not pages:
        return known
    from veriwiki.services.indexing import find_page

    out: list[str] = []
    for name in pages:
        path = find_page(vault, name)
        if path not in known:
            raise InputError(f"{name!r} is not an indexed page",
                             hint="give a page path or title, as 'veriwiki show' takes")
        if path not in out:
            out.append(path)
    return out


def fix_tables(vault: Vault, pages: list[str] | None = None, *, dry_run: bool = False,
               on_wait: Notify | None = None, on_notice: Notify | None = None) -> FixResult:
    """Regenerate the stale facts tables of ``pages`` (default: every page), one commit."""
    from veriwiki.services.indexing import update_index

    update_index(vault)
    targets = _targets(vault, pages)
    data = _table_data(vault)
    result = FixResult(dry_run=dry_run)
    limit = vault.vault_settings.max_page_bytes
    texts: dict[str, str] = {}
    for path in targets:
        text = read_page_text(vault.root, path, limit)
        if not has_tables(text):
            continue
        for block in find_tables(text):
            if block.spec is None:
                result.unparsed.append((path, block.error_line or block.line,
                                        block.error or ""))
        new, changed = rewrite(text, data)
        if changed:
            texts[path] = new
            result.tables += [FixedTable(path, b.line) for b in changed]
    if dry_run or not texts:
        return result
    with write_operation(vault, "fix", on_wait=on_wait, on_notice=on_notice) as tx:
        def regenerate(old: bytes | None) -> bytes | None:
            if old is None:
                return None
            return rewrite(old.decode("utf-8", "replace"), data)[0].encode()

        for path in texts:
            tx.transform(path, regenerate)
        n = len(result.tables)
        result.commit = finish(vault, tx, "fix", f"{n} facts table(s) in "
                               f"{len(texts)} page(s)").commit
    return result


__all__ = ["FixResult", "FixedTable", "fix_tables"]
