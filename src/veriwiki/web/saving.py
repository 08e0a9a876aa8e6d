"""Saving a page from the editor: one commit through the CLI's write path, never over a
change the editor did not see.

The editor's form carries the blob id of the text it was loaded from (and that text).
Inside the vault's write lock the file on disk is compared with it: the same blob means
nobody else wrote the file meanwhile, and the edit is committed (``write_operation`` +
``finish``: lock, catalog, log entry, one commit, index refresh). Another blob (another
tab, an editor, ``git pull``, an approved proposal) means the edit is *not* written: a
three-way merge of the loaded text, the edit and the current file is offered instead —
clean merges for confirmation, conflicts with both sides shown — and the person decides.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

from veriwiki.adapters.fs import blob_sha
from veriwiki.errors import ConflictError, InputError
from veriwiki.vault import Vault
from veriwiki.web.context import WebContext

_MARKER = re.compile(r"^(<{7}|>{7}) ", re.MULTILINE)
MAX_MESSAGE = 200


@dataclass(frozen=True, slots=True)
class Merge:
    """Why an edit was not saved, and the texts to decide with."""

    path: str
    base: str  # the text the editor started from
    mine: str  # the edit
    current: str | None  # the file now (None: deleted meanwhile)
    current_blob: str | None
    merged: str | None  # the clean three-way merge, or None on a conflict
    marked: str  # the merge with conflict markers (== merged when clean)


@dataclass(frozen=True, slots=True)
class Saved:
    """A saved edit: the commit (None when the text was unchanged) and the new blob."""

    path: str
    commit: str | None
    blob: str
    changed: tuple[str, ...]


def normalise(text: str, like: str | None) -> str:
    """The editor's text with the line endings of the file it edits (browsers send CRLF)."""
    text = text.replace("\r\n", "\n")
    if like is not None and "\r\n" in like:
        text = text.replace("\n", "\r\n")
    return text


def subject(message: str, path: str) -> str:
    """The commit subject: the person's message on one line, or a default."""
    clean = " ".join(message.split())[:MAX_MESSAGE]
    return clean or f"edit {path}"


def _three_way(vault: Vault, path: str, base: bytes, mine: bytes, current: bytes
               ) -> tuple[bytes | None, bytes]:
    """(clean merge or None, merge with conflict markers) of ``mine`` and ``current``."""
    from veriwiki.adapters.writes import ensure_dir

    tmp_root = ensure_dir(vault.state_dir / "tmp", vault.state_dir)
    with tempfile.TemporaryDirectory(dir=tmp_root) as tmp:
        names = []
        for name, data in (("mine", mine), ("base", base), ("current", current)):
            file = os.path.join(tmp, name)
            with open(file, "wb") as fh:
                fh.write(data)
            names.append(file)
        proc = vault.git.execute(
            ["merge-file", "-p", "-L", "your edit", "-L", "the text you started from",
             "-L", "the file now", *names])
    if proc.returncode < 0 or proc.returncode > 127:
        raise InputError(f"git merge-file failed on {path}", path=path)
    return (proc.stdout if proc.returncode == 0 else None), proc.stdout


def merge_for(vault: Vault, path: str, base: str, mine: str, current: bytes | None) -> Merge:
    """The merge the person decides on when ``path`` changed since ``base`` was loaded."""
    cur_text = current.decode("utf-8", "replace") if current is not None else None
    if current is None:
        return Merge(path, base, mine, None, None, None, mine)
    merged, marked = _three_way(vault, path, base.encode(), mine.encode(), current)
    return Merge(path, base, mine, cur_text, blob_sha(current),
                 merged.decode("utf-8", "replace") if merged is not None else None,
                 marked.decode("utf-8", "replace"))


def save_page(ctx: WebContext, path: str, text: str, base_blob: str, base_text: str,
              message: str) -> Saved | Merge:
    """Commit ``text`` to ``path`` if the file still holds ``base_blob`` (on the worker).

    ``base_blob`` is '' for a page that did not exist when the editor opened. Returns
    :class:`Saved`, or a :class:`Merge` when the file changed meanwhile (nothing is
    written then).
    """
    from veriwiki.services.write import finish, write_operation

    vault = ctx.open_vault()
    if _MARKER.search(text) and "=======" in text:
        raise InputError("the text still holds merge conflict markers (<<<<<<< … >>>>>>>)",
                         path=path, hint="keep the lines you want and delete the markers")
    data = text.encode("utf-8")
    limit = vault.config.vault.max_page_bytes
    if len(data) > limit:
        raise InputError(f"the page is {len(data):,} bytes, over the limit of {limit:,}",
                         path=path, hint="split it into several pages")
    if path in (vault.index_page, vault.log_page):
        raise InputError(f"{path} is generated by veriwiki", path=path,
                         hint="edit the other pages; the catalog and log follow")
    # force: the person saw the file as it is on disk (its blob is checked below), so
    # uncommitted edits in it are theirs to commit
    with write_operation(vault, f"edit {path}", force=True) as tx:
        tx.prefetch([path, vault.index_page, vault.log_page])  # one git call for the three
        work = tx.work_content(path)
        now = blob_sha(work) if work is not None else ""
        if now != base_blob:
            return merge_for(vault, path, base_text, text, work)
        if work == data and not tx.is_dirty(path):
            return Saved(path, None, now, ())
        tx.put(path, data)
        result = finish(vault, tx, "edit", subject(message, path))
    from veriwiki.web.live import announce

    changed = tuple(result.changed) or (path,)
    announce(ctx, changed)
    return Saved(path, result.commit, blob_sha(data), changed)


def check_base(base_blob: str, base_text: str) -> None:
    """Refuse a form whose base text does not match its blob id (a forged or broken form)."""
    if base_blob and blob_sha(base_text.encode("utf-8")) != base_blob:
        raise ConflictError("the editor's starting text does not match its version id",
                            hint="open the editor again; your text is shown below to copy")
