"""Where a vault's derived state lives, never trusting a copy that git carries.

``.veriwiki/`` (the index, the check, code and verification caches, the write journal
and lock) is git-ignored, but ``git add -f`` can commit it, and then every clone starts
with whatever the committer put there: forged cache entries would turn failing checks
green. :func:`locate_state` asks git whether anything under ``.veriwiki`` is tracked;
if so, the folder is left alone (it is the repository's content now) and the state
lives in a folder of the user's state directory instead
(``~/.local/state/veriwiki/vaults/<hash of the vault path>/``), which no repository
reaches, with a notice saying how to fix the repository. Once the folder is no longer tracked, the copy left
in the work tree (it came from the repository) is deleted on the next open, so a half
followed fix (``git rm --cached`` without deleting the folder) cannot bring it back.

Cache entries are not signed: the only way a repository brings derived state is a
tracked file, which is detected here, and a key kept outside the work tree would make
restored CI caches useless anyway (``check --no-cache`` says that plainly). Whoever can write
into the work tree outside git can also write ``.git/hooks``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from veriwiki.adapters.git import GitRepo
from veriwiki.adapters.state_mark import (
    MARK_FILE,
    git_index_sig,
    mark_holds,
    mark_payload,
    outside_git,
)
from veriwiki.errors import VeriwikiError

MARK = "relocated-from-tracked"  # its presence: the work tree's folder came from git

@dataclass(frozen=True, slots=True)
class StateLocation:
    """The folder to keep derived state in, and what to tell the user about it."""

    path: Path
    notices: tuple[str, ...] = ()
    tracked: tuple[str, ...] = ()  # tracked paths under the default folder


def tracked_state(git: GitRepo, name: str) -> list[str]:
    """Paths under ``name`` (relative to the work tree root) that git tracks."""
    try:
        out = git.run("ls-files", "-z", "--", name, check=False)
    except (OSError, VeriwikiError):
        return []  # no usable git: no clone brought anything, and git commands will say why
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def relocated_dir(state_home: Path, root: Path) -> Path:
    """The per-vault folder under the user's state directory (keyed by the vault's path)."""
    key = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:20]
    return state_home / "veriwiki" / "vaults" / key


def locate_state(root: Path, name: str, git: GitRepo, state_home: Path | None) -> StateLocation:
    """``root/name``, unless git tracks something in it: then a folder under
    ``state_home`` (the user's state directory; a temporary folder when None)."""
    default = root / name
    sig = git_index_sig(str(root))
    marked = sig is not None and mark_holds(str(default), str(root))
    tracked = [] if marked or outside_git(str(root)) else tracked_state(git, name)
    moved = relocated_dir(state_home, root) if state_home is not None else None
    if tracked:
        if moved is None:
            moved = Path(tempfile.mkdtemp(prefix="veriwiki-state-"))
        moved.mkdir(parents=True, exist_ok=True)
        (moved / MARK).touch()
        shown = ", ".join(tracked[:3]) + (", ..." if len(tracked) > 3 else "")
        return StateLocation(moved, (
            f"{name}/ is tracked by git ({len(tracked)} file(s): {shown}); veriwiki ignores "
            f"its contents (derived state from a repository can be forged) and keeps its "
            f"state in {moved} instead. Fix the repository: git rm -r --cached {name} && "
            f"git commit -m 'Stop tracking {name}', then delete the {name} folder",),
            tuple(tracked))
    if moved is not None and (moved / MARK).exists():
        _remove(default)
        (moved / MARK).unlink(missing_ok=True)
        if not (moved / "journal.json").exists():  # nothing left to recover there
            shutil.rmtree(moved, ignore_errors=True)
        return StateLocation(default, (
            f"{name}/ was tracked by git earlier: deleted the copy the repository left in "
            "the work tree; derived state is rebuilt",))
    if sig is not None and not marked:
        _mark_untracked(default, root, sig)
    return StateLocation(default)


def _mark_untracked(default: Path, root: Path, sig: list[int]) -> None:
    """Record that nothing in ``default`` was tracked while the git index had stat
    ``sig`` (see :mod:`veriwiki.adapters.state_mark`); only a speed-up, so a folder that
    does not exist yet or cannot be written is left alone."""
    from veriwiki.adapters.writes import atomic_write

    if default.is_dir() and not default.is_symlink():
        with contextlib.suppress(OSError, VeriwikiError):
            atomic_write(default / MARK_FILE, mark_payload(str(root), sig), root=default)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
        if os.path.lexists(path):
            raise OSError(f"could not delete {path}")
