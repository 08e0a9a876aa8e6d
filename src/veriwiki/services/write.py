"""The shared tail of every write operation: log entry, catalog, one commit, re-index."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator

from veriwiki.adapters.fs import blob_sha, decode_page, is_page_path
from veriwiki.adapters.lock import vault_lock
from veriwiki.adapters.store import CommitResult, Transaction, recover, transaction
from veriwiki.core.catalog import (
    CatalogEntry,
    append_log,
    default_index_page,
    default_log_page,
    render_catalog,
    replace_catalog,
)
from veriwiki.core.model import FileProblem
from veriwiki.vault import Vault

Notify = Callable[[str], None]


@contextlib.contextmanager
def write_operation(vault: Vault, what: str, *, force: bool = False,
                    on_wait: Notify | None = None, on_notice: Notify | None = None
                    ) -> Iterator[Transaction]:
    """Lock the vault and yield a transaction (recovering any interrupted operation)."""
    with transaction(vault.root, vault.state_dir, what, vault.config.vault.lock_timeout,
                     force=force, on_wait=on_wait, on_notice=on_notice) as tx:
        yield tx


def recover_pending(vault: Vault, on_notice: Notify | None = None) -> list[str]:
    """Finish or roll back an operation a killed process left behind, if any."""
    if not (vault.state_dir / "journal.json").exists():
        return []
    with vault_lock(vault.state_dir, "recovery", vault.config.vault.lock_timeout):
        notes = recover(vault.root, vault.git, vault.state_dir)
    for note in notes:
        if on_notice:
            on_notice(note)
    return notes


def catalog_entries(vault: Vault, tx: Transaction) -> list[CatalogEntry]:
    """The pages of the commit being built, with titles and summaries for the catalog."""
    tree = tx.git.ls_tree(tx.parent, vault.pages_root)
    for path, data in tx.commit_files.items():
        if data is None:
            tree.pop(path, None)
        else:
            tree[path] = blob_sha(data)
    known = vault.index.catalog_rows()
    entries = []
    missing: list[tuple[str, str]] = []
    for path, blob in tree.items():
        if not is_page_path(path, vault.pages_root, tuple(vault.config.vault.exclude)) or path in (vault.index_page, vault.log_page):
            continue
        row = known.get(path)
        if row is not None and row[0] == blob:
            entries.append(CatalogEntry(path, row[1], row[2], row[3]))
        else:
            missing.append((path, blob))
    staged = {blob_sha(d): d for d in tx.commit_files.values() if d is not None}
    need = [b for _, b in missing if b not in staged]
    fetched = dict(zip(need, tx.git.read_blobs(need), strict=True))
    for path, blob in missing:
        data = staged.get(blob) or fetched.get(blob)
        if data is None:
            continue
        text = decode_page(path, data, vault.config.vault.max_page_bytes)
        if isinstance(text, FileProblem):
            stem = path.rsplit("/", 1)[-1][:-3]
            entries.append(CatalogEntry(path, stem, None, ""))
            continue
        from veriwiki.core.parse import parse_page  # deferred: markdown-it is slow to import

        page = parse_page(path, text)
        entries.append(CatalogEntry(path, page.title, page.type, page.summary))
    return entries


def finish(vault: Vault, tx: Transaction, op: str, subject: str) -> CommitResult:
    """Log the operation, regenerate the catalog, commit once and refresh the index.

    The index is not refreshed before the catalog is built: :func:`catalog_entries`
    uses an index row only when its blob is the page's blob in the commit being built,
    and parses the page otherwise, so a stale index costs time, never a wrong catalog.
    """
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    catalog = render_catalog(catalog_entries(vault, tx), vault.pages_root)

    def regenerate(data: bytes | None) -> bytes:
        text = (data.decode("utf-8", "replace") if data is not None
                else default_index_page(vault.config.vault.name))
        return replace_catalog(text, catalog).encode()

    tx.transform(vault.index_page, regenerate, adopt_untracked=True)
    if not tx.changed_paths():
        # nothing to record: writes only working-tree repairs, no commit
        repaired = tx.commit("")
        return CommitResult(None, "", [], repaired.kept, repaired.notes)

    def log(data: bytes | None) -> bytes:
        text = data.decode("utf-8", "replace") if data is not None else default_log_page()
        return append_log(text, stamp, op, subject).encode()

    tx.transform(vault.log_page, log, adopt_untracked=True)
    result = tx.commit(f"veriwiki: {op} | {subject}")
    vault.index.update()
    return result


def regenerate_catalog(vault: Vault, *, on_wait: Notify | None = None,
                       on_notice: Notify | None = None) -> CommitResult:
    """Regenerate the catalog page from the committed pages (``veriwiki catalog``); one
    commit, or none when it is already current."""
    with write_operation(vault, "catalog", on_wait=on_wait, on_notice=on_notice) as tx:
        return finish(vault, tx, "catalog", "regenerate")
