"""The shared tail of every write operation: log entry, catalog, one commit, re-index."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator

from veriwiki.adapters.fs import blob_sha, decode_page, is_page_path
from veriwiki.adapters.lock import vault_lock
from veriwiki.adapters.store import CommitResult, Transaction, recover, transaction
from veriwiki.core.catalog import (
    END,
    START,
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

# What render_catalog makes of the same pages: bump it with any change to its output
# (tests/test_write_fast.py pins a sample), so a catalog committed before is rendered anew.
CATALOG_FORMAT = 1
_CATALOG_NOTE = "catalog"
_COMPARE_LIMIT = 32  # pages changed by one operation, beyond which the catalog is rendered


@contextlib.contextmanager
def write_operation(vault: Vault, what: str, *, force: bool = False,
                    on_wait: Notify | None = None, on_notice: Notify | None = None
                    ) -> Iterator[Transaction]:
    """Lock the vault and yield a transaction (recovering any interrupted operation)."""
    with transaction(vault.root, vault.state_dir, what, vault.vault_settings.lock_timeout,
                     force=force, on_wait=on_wait, on_notice=on_notice, git=vault.git) as tx:
        yield tx


def recover_pending(vault: Vault, on_notice: Notify | None = None) -> list[str]:
    """Finish or roll back an operation a killed process left behind, if any."""
    if not (vault.state_dir / "journal.json").exists():
        return []
    with vault_lock(vault.state_dir, "recovery", vault.vault_settings.lock_timeout):
        notes = recover(vault.root, vault.git, vault.state_dir)
    for note in notes:
        if on_notice:
            on_notice(note)
    return notes


def _entry(vault: Vault, path: str, data: bytes) -> CatalogEntry:
    """The catalog's line for a page of these bytes."""
    text = decode_page(path, data, vault.vault_settings.max_page_bytes)
    if isinstance(text, FileProblem):
        return CatalogEntry(path, path.rsplit("/", 1)[-1][:-3], None, "")
    from veriwiki.core.parse import parse_page  # deferred: markdown-it is slow to import

    page = parse_page(path, text)
    return CatalogEntry(path, page.title, page.type, page.summary)


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
    settings = vault.vault_settings  # (read once: not once a page)
    root, exclude = settings.pages, tuple(settings.exclude)
    generated = (settings.index_page, settings.log_page)
    for path, blob in tree.items():
        if not is_page_path(path, root, exclude) or path in generated:
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
        if data is not None:
            entries.append(_entry(vault, path, data))
    return entries


def _catalog_stamp(vault: Vault, commit: str) -> str:
    """What the index notes after a commit whose catalog is its pages' catalog."""
    v = vault.vault_settings
    return json.dumps([CATALOG_FORMAT, commit, vault.pages_root, list(v.exclude),
                       vault.index_page, vault.log_page, v.max_page_bytes])


def catalog_is_current(vault: Vault, tx: Transaction) -> bool:
    """True when the parent commit's catalog is the one :func:`render_catalog` would
    make for the commit being built (so it need not be rendered).

    It is, when the index noted that this parent's catalog was rendered from its pages
    (by an earlier :func:`finish`, under the same settings) and the transaction adds
    no page, removes none and changes no page's title, type or summary. Any doubt
    (HEAD moved by anything else, the catalog page staged, its markers not found
    exactly once) answers False, so a catalog that drifted is always rendered anew.
    """
    if tx.parent is None or vault.index_page in tx.commit_files:
        return False
    if vault.index.note(_CATALOG_NOTE) != _catalog_stamp(vault, tx.parent):
        return False
    data = tx.head_content(vault.index_page)
    if data is None or _committed_region(data) is None:
        return False
    exclude = tuple(vault.vault_settings.exclude)
    pages = [p for p in tx.commit_files
             if p != vault.log_page and is_page_path(p, vault.pages_root, exclude)]
    if len(pages) > _COMPARE_LIMIT:
        return False  # parsing both sides of many pages costs more than rendering
    tx.prefetch(pages)
    for path in pages:
        new = tx.commit_files[path]
        old = tx.parent_content(path)
        if old == new:
            continue
        if old is None or new is None or _entry(vault, path, old) != _entry(vault, path, new):
            return False  # a page added, removed or listed differently
    return True


def _committed_region(data: bytes) -> str | None:
    """The generated region of a catalog page (markers included), or None when the
    page is not UTF-8 or its markers are not found once each, in order."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    start, end = text.find(START), text.find(END)
    if text.count(START) != 1 or text.count(END) != 1 or end < start:
        return None
    return text[start:end + len(END)]


def _catalog(vault: Vault, tx: Transaction) -> str | None:
    """The catalog the commit being built needs, or None when the page already holds
    it in the parent commit and in the working tree (nothing to write)."""
    if catalog_is_current(vault, tx):
        head = tx.head_content(vault.index_page)
        if tx.work_content(vault.index_page) == head:
            return None
        # the working copy differs (uncommitted edits): give it the committed region
        region = _committed_region(head) if head is not None else None
        if region is not None:
            return region
    return render_catalog(catalog_entries(vault, tx), vault.pages_root)


def finish(vault: Vault, tx: Transaction, op: str, subject: str) -> CommitResult:
    """Log the operation, bring the catalog up to date, commit once and re-index the
    files the commit wrote.

    The catalog is rendered only when :func:`catalog_is_current` cannot vouch for the
    committed one. :func:`catalog_entries` uses an index row only when its blob is the
    page's blob in the commit being built and parses the page otherwise, so a stale
    index costs time, never a wrong catalog.
    """
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    tx.prefetch([vault.index_page, vault.log_page])
    catalog = _catalog(vault, tx)
    if catalog is not None:
        def regenerate(data: bytes | None) -> bytes:
            text = (data.decode("utf-8", "replace") if data is not None
                    else default_index_page(vault.config.vault.name))
            return replace_catalog(text, catalog).encode()

        tx.transform(vault.index_page, regenerate, adopt_untracked=True)
    if not tx.changed_paths():
        # nothing to record: writes only working-tree repairs, no commit
        repaired = tx.commit("")
        if tx.parent is not None:
            vault.index.set_note(_CATALOG_NOTE, _catalog_stamp(vault, tx.parent))
        return CommitResult(None, "", [], repaired.kept, repaired.notes)

    def log(data: bytes | None) -> bytes:
        text = data.decode("utf-8", "replace") if data is not None else default_log_page()
        return append_log(text, stamp, op, subject).encode()

    tx.transform(vault.log_page, log, adopt_untracked=True)
    result = tx.commit(f"veriwiki: {op} | {subject}")
    vault.index.update(paths=sorted({*tx.work_files, *result.changed}))
    if result.commit is not None:
        vault.index.set_note(_CATALOG_NOTE, _catalog_stamp(vault, result.commit))
    return result


def regenerate_catalog(vault: Vault, *, on_wait: Notify | None = None,
                       on_notice: Notify | None = None) -> CommitResult:
    """Regenerate the catalog page from the committed pages (``veriwiki catalog``); one
    commit, or none when it is already current."""
    with write_operation(vault, "catalog", on_wait=on_wait, on_notice=on_notice) as tx:
        return finish(vault, tx, "catalog", "regenerate")
