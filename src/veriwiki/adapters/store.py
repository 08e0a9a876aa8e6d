"""Crash-safe write transactions: every change to the vault is exactly one git commit.

A transaction stages new contents for the commit (built from HEAD, so the user's
unrelated uncommitted edits are never committed) and for the working tree (where the
user's uncommitted edits to a touched file are kept, with the same change applied).

Commit protocol, safe against ``kill -9`` at any point:

1. write blobs and build the commit with plumbing (no visible effect);
2. write a journal naming the commit, its parent and the working-tree files to write;
3. move HEAD with a compare-and-swap ``update-ref`` (the commit point);
4. write the working-tree files atomically and point git's index at the new blobs;
5. delete the journal.

The next command that takes the lock finishes step 4 when HEAD is the journal's
commit, or discards the journal when HEAD is still the parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from veriwiki.adapters.fs import blob_sha
from veriwiki.adapters.git import GitRepo
from veriwiki.adapters.lock import vault_lock
from veriwiki.adapters.settle import Settled, settle_file
from veriwiki.adapters.writes import atomic_write, check_write_path
from veriwiki.errors import ConflictError, UnsafePathError

Transform = Callable[[bytes | None], bytes | None]
_ABSENT = object()
_UNKNOWN_BASE = b"\0the base of this file is not stored\0"


@dataclass
class CommitResult:
    """What a transaction committed."""

    commit: str | None
    message: str
    changed: list[str] = field(default_factory=list)
    # working files someone edited during the operation, left without its change
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class Transaction:
    """Staged changes to the vault, committed as one git commit by :meth:`commit`."""

    def __init__(self, root: Path, git: GitRepo, state_dir: Path, force: bool = False) -> None:
        self.root = root
        self.git = git
        self.state_dir = state_dir
        self.tmp_dir = state_dir / "tmp"
        self.force = force
        self.parent = git.head()
        self._head_cache: dict[str, bytes | None] = {}
        self.commit_files: dict[str, bytes | None] = {}
        self.work_files: dict[str, bytes | None] = {}
        # the bytes each working file held when first read: the compare-and-swap base
        self._seen: dict[str, bytes | None] = {}
        self._redo: dict[str, Transform] = {}
        self._moves: dict[str, tuple[str, Transform]] = {}

    # -- reading the two states -----------------------------------------------------------

    def head_content(self, path: str) -> bytes | None:
        """Content of ``path`` in the commit being built (HEAD plus staged changes)."""
        if path in self.commit_files:
            return self.commit_files[path]
        return self.parent_content(path)

    def parent_content(self, path: str) -> bytes | None:
        """Content of ``path`` in the parent commit (HEAD when the transaction began)."""
        if path not in self._head_cache:
            self._head_cache[path] = (self.git.read_blobs([f"{self.parent}:{path}"])[0]
                                      if self.parent else None)
        return self._head_cache[path]

    def prefetch(self, paths: list[str]) -> None:
        """Load HEAD contents of many paths in one git call."""
        todo = [p for p in paths if p not in self._head_cache]
        if self.parent and todo:
            for p, data in zip(todo, self.git.read_blobs([f"{self.parent}:{p}" for p in todo]),
                               strict=True):
                self._head_cache[p] = data

    def work_content(self, path: str) -> bytes | None:
        """Content of ``path`` in the working tree after the staged changes."""
        if path in self.work_files:
            return self.work_files[path]
        if path not in self._seen:  # one snapshot per file: what the change is based on
            self._seen[path] = _read(self.root / path)
        return self._seen[path]

    def is_dirty(self, path: str) -> bool:
        """True when the working file differs from HEAD (uncommitted user edits)."""
        return self.work_content(path) != self.head_content(path)

    # -- staging ---------------------------------------------------------------------------

    def put(self, path: str, data: bytes) -> None:
        """Set ``path`` to ``data`` in both the commit and the working tree."""
        work = self.work_content(path)
        if work is not None and work != data and self.is_dirty(path) and not self.force:
            raise ConflictError("this file has uncommitted edits that the operation would "
                                "overwrite", path=path,
                                hint="commit or stash your edits first, or pass --force")
        self.commit_files[path] = data
        self.work_files[path] = data

    def delete(self, path: str) -> None:
        """Remove ``path`` from the commit and the working tree."""
        work = self.work_content(path)
        if work is not None and self.is_dirty(path) and not self.force:
            raise ConflictError("this file has uncommitted edits that deleting it would lose",
                                path=path, hint="commit or stash your edits first, or pass --force")
        self.commit_files[path] = None
        self.work_files[path] = None

    def transform(self, path: str, fn: Transform, *, adopt_untracked: bool = False) -> None:
        """Apply ``fn`` to ``path`` in the commit and, separately, in the working tree.

        Uncommitted edits in the working copy survive: ``fn`` is applied to them too.
        An untracked file enters the commit only with ``adopt_untracked``.
        """
        head = self.head_content(path)
        work = self.work_content(path)
        self._redo[path] = fn
        if head is None and work is not None and not adopt_untracked:
            self.work_files[path] = fn(work)
            return
        base = head if head is not None else work
        new_commit = fn(base)
        if head is None and new_commit is None:
            pass
        else:
            self.commit_files[path] = new_commit
        if work in (head, base):
            self.work_files[path] = new_commit
        elif work is not None:
            self.work_files[path] = fn(work)

    def rename(self, old: str, new: str, fn: Transform | None = None) -> None:
        """Move ``old`` to ``new`` (optionally rewriting it with ``fn``)."""
        if self.head_content(new) is not None or self.work_content(new) is not None:
            raise ConflictError("a file already exists at the new name", path=new,
                                hint="choose another name or remove that page first")
        head = self.head_content(old)
        work = self.work_content(old)
        fn = fn or (lambda b: b)
        self._moves[old] = (new, fn)
        base = head if head is not None else work
        self.commit_files[old] = None
        self.commit_files[new] = fn(base)
        self.work_files[old] = None
        self.work_files[new] = fn(work) if work is not None else self.commit_files[new]

    def changed_paths(self) -> list[str]:
        """Paths whose committed content would change."""
        out = []
        for path, data in self.commit_files.items():
            old = self._head_cache.get(path, _ABSENT)
            if old is _ABSENT:
                old = (self.git.read_blobs([f"{self.parent}:{path}"])[0]
                       if self.parent else None)
            if old != data:
                out.append(path)
        return sorted(out)

    # -- committing ------------------------------------------------------------------------

    def commit(self, message: str) -> CommitResult:
        """Commit the staged changes (see the module docstring for the protocol)."""
        self.check_targets()
        changed = self.changed_paths()
        if not changed:
            return CommitResult(None, message, [], *self._apply_work_only())
        commit_paths = [p for p in changed]
        datas = [self.commit_files[p] for p in commit_paths]
        present = [d for d in datas if d is not None]
        work_items = {p: d for p, d in self.work_files.items()}
        extra = [d for p, d in work_items.items()
                 if d is not None and (p not in changed or self.commit_files.get(p) != d)]
        bases = {p: self._seen[p] if p in self._seen else _read(self.root / p)
                 for p in work_items}
        # uncommitted bases too, so that recovery can merge an edit made meanwhile
        extra += [d for p, d in bases.items()
                  if d is not None and d != self._head_cache.get(p, _ABSENT)]
        blobs = iter(self.git.write_blobs(present + extra, self.tmp_dir))  # one git call
        entries = {p: (next(blobs) if d is not None else None)
                   for p, d in zip(commit_paths, datas, strict=True)}
        sha = self.git.build_commit(self.parent, entries, message, self.tmp_dir)
        work_ids: dict[str, str | None] = dict.fromkeys(work_items)
        held: dict[str, bytes] = {}  # the new contents by blob id: not read back from git
        for p, d in work_items.items():
            if d is not None:
                work_ids[p] = blob = blob_sha(d)
                held[blob] = d
        journal = {
            "commit": sha,
            "parent": self.parent,
            "index": entries,
            "files": [
                {"path": p, "work": work_ids[p],
                 "before": blob_sha(b) if (b := bases[p]) is not None else None}
                for p in sorted(work_items)
            ],
        }
        atomic_write(self.state_dir / "journal.json", json.dumps(journal).encode(),
                     self.tmp_dir, root=self.state_dir)
        self.git.update_head(sha, self.parent, message.splitlines()[0])
        moved = self._follow_moves(bases)
        settled = finish_journal(self.root, self.git, self.state_dir, journal, self._redo,
                                 bases, {new: self.work_files[new] for new in moved.values()},
                                 held)
        kept, notes = _report(settled)
        notes += [f"{old} was changed during the operation; your edit moved with it to {new}"
                  for old, new in moved.items() if old not in kept]
        return CommitResult(sha, message, changed, kept, notes)

    def _follow_moves(self, bases: dict[str, bytes | None]) -> dict[str, str]:
        """Edits saved to a moved file during the operation follow it to its new name.

        The new name's working content becomes the move's change applied to the newer
        text, and the old name's base becomes that text (so it is deleted only if it
        still holds it). Returns old name → new name for each file that had edits.
        """
        moved = {}
        for old, (new, fn) in self._moves.items():
            current = _read(self.root / old)
            if current is None or current == bases.get(old) or new not in self.work_files:
                continue
            self.work_files[new] = fn(current)
            bases[old] = current
            moved[old] = new
        return moved

    def check_targets(self) -> None:
        """Refuse, before anything is written, staged paths that run through a link.

        Raises :class:`UnsafePathError` naming the path (see ``adapters.writes``).
        """
        for path in sorted(set(self.commit_files) | set(self.work_files)):
            check_write_path(self.root, self.root / path,
                             deleting=self.work_files.get(path) is None)

    def _apply_work_only(self) -> tuple[list[str], list[str]]:
        """Write working-tree repairs that need no commit; (kept, notes) as in a commit."""
        settled = []
        for path, data in self.work_files.items():
            base = self._seen[path] if path in self._seen else _read(self.root / path)
            settled.append(settle_file(self.root, path, base, data,
                                       self._adapter(path, base, data), self.tmp_dir))
        return _report(settled)

    def _adapter(self, path: str, base: bytes | None, work: bytes | None
                 ) -> Callable[[bytes], bytes | None]:
        return _adapter(self.git, self.tmp_dir, self._redo.get(path), base, work)


def _adapter(git: GitRepo, tmp_dir: Path, redo: Transform | None, base: bytes | None,
             work: bytes | None) -> Callable[[bytes], bytes | None]:
    """How to give a person's newer text the operation's change: the same transformation
    when it is known (in process), else a three-way merge (``git merge-file``)."""
    def adapt(user: bytes) -> bytes | None:
        if redo is not None:
            return redo(user)
        if base is None or base is _UNKNOWN_BASE or work is None:
            return None
        return git.merge_file(base, user, work, tmp_dir)

    return adapt


def _report(settled: list[Settled]) -> tuple[list[str], list[str]]:
    return ([s.path for s in settled if s.kept], [s.note for s in settled if s.note])


def finish_journal(root: Path, git: GitRepo, state_dir: Path, journal: dict,
                   redo: Mapping[str, Transform] | None = None,
                   bases: Mapping[str, bytes | None] | None = None,
                   works: Mapping[str, bytes | None] | None = None,
                   known: Mapping[str, bytes] | None = None) -> list[Settled]:
    """Write the journal's working-tree files and git index entries; remove the journal.

    ``known`` maps blob ids to contents the caller holds (not read from git again).

    A file changed since the operation read it gets the change applied to the newer
    text (``redo``: the operation's transformations, when still in process; otherwise
    a merge against the base blob the journal names) or is left as it is; each such
    file comes back with a note.
    """
    settled = []
    tmp_dir = state_dir / "tmp"
    wanted = sorted({f["work"] for f in journal["files"] if f["work"]}
                    | ({f["before"] for f in journal["files"] if f.get("before")}
                       if bases is None else set()))
    known = known or {}
    need = [b for b in wanted if b not in known]
    contents = {**dict(zip(need, git.read_blobs(need), strict=True)),
                **{b: known[b] for b in wanted if b in known}}
    for f in journal["files"]:
        rel = f["path"]
        work = contents.get(f["work"]) if f["work"] is not None else None
        if works is not None and rel in works:  # a moved file's edits follow it
            work = works[rel]
        if f["work"] is not None and work is None:
            settled.append(Settled(rel, True, f"{rel}: its new content is missing from git; "
                                              "left as is"))
            continue
        if bases is not None and rel in bases:
            base = bases[rel]
        else:
            base = contents.get(f["before"]) if f.get("before") else None
            if f.get("before") and base is None:  # no stored base: trust only the id
                current = _read(root / rel)
                base = current if current is not None and blob_sha(current) == f["before"] \
                    else _UNKNOWN_BASE
        try:
            settled.append(settle_file(root, rel, base, work,
                                       _adapter(git, tmp_dir, (redo or {}).get(rel), base, work),
                                       tmp_dir))
        except UnsafePathError as exc:
            # committed already: leave the working file alone rather than follow a link
            settled.append(Settled(rel, True, f"{rel}: not written: {exc.message}"))
    git.set_index_entries(journal["index"])
    with contextlib.suppress(FileNotFoundError):
        os.unlink(state_dir / "journal.json")
    return settled


def recover(root: Path, git: GitRepo, state_dir: Path) -> list[str]:
    """Finish or discard an operation a killed process left half-done."""
    notes: list[str] = []
    tmp_dir = state_dir / "tmp"
    if tmp_dir.is_symlink():
        tmp_dir.unlink()  # never follow a link out of the state folder
    elif tmp_dir.exists():
        shutil.rmtree(tmp_dir, ignore_errors=True)
    journal_path = state_dir / "journal.json"
    if not journal_path.exists():
        return notes
    try:
        journal = json.loads(journal_path.read_text())
    except (OSError, ValueError):
        journal_path.unlink(missing_ok=True)
        return ["discarded an unreadable operation journal"]
    git_dir = git.git_dir()
    for stale in ("index.lock", "HEAD.lock"):
        (git_dir / stale).unlink(missing_ok=True)
    refs = git_dir / "refs" / "heads"
    if refs.is_dir():
        for lock in refs.rglob("*.lock"):
            lock.unlink(missing_ok=True)
    head = git.head()
    if head is not None and head == journal.get("commit"):
        notes += [s.note for s in finish_journal(root, git, state_dir, journal) if s.note]
        notes.append(f"finished an interrupted operation (commit {head[:10]})")
    else:
        journal_path.unlink(missing_ok=True)
        if head == journal.get("parent"):
            notes.append("rolled back an interrupted operation that had not committed")
        else:
            notes.append("discarded the journal of an interrupted operation (HEAD moved)")
    return notes


@contextlib.contextmanager
def transaction(root: Path, state_dir: Path, what: str, timeout: float, *, force: bool = False,
                on_wait: Callable[[str], None] | None = None,
                on_notice: Callable[[str], None] | None = None,
                git: GitRepo | None = None) -> Iterator[Transaction]:
    """Lock the vault, recover any interrupted operation, and yield a transaction
    (through ``git`` when given: the vault's, which has read git's settings once)."""
    git = git or GitRepo(root)
    with vault_lock(state_dir, what, timeout, on_wait):
        for note in recover(root, git, state_dir):
            if on_notice:
                on_notice(note)
        yield Transaction(root, git, state_dir, force=force)
