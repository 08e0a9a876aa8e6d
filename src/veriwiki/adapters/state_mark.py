"""A mark that says: git tracked nothing in the state folder when the git index was
this file. Standard library only (the CLI's fast path reads it).

Finding out whether ``.veriwiki/`` is tracked (see :mod:`veriwiki.adapters.state_dir`)
costs a ``git ls-files`` process, on every command. Whether a path is tracked can only
change when git rewrites its index file, which git always does by renaming a new file
over it: a new inode, size and times. So once ``git ls-files`` found nothing tracked,
the stat of ``.git/index`` it looked at is recorded in the state folder, and while that
stat holds the answer holds. A copy of the mark that came from a repository cannot
match: no one can choose the inode or the change time of a clone's index file.

The mark is used only in the plain layout: the vault is the top of its work tree
(``.git`` is a folder in it) and no ``GIT_DIR``-style variable sends git elsewhere. A
vault that no repository can hold (:func:`outside_git`) needs no mark.
"""

from __future__ import annotations

import json
import os
import stat
import time

MARK_FILE = "untracked.json"
_GIT_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
            "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")
_RACY_NS = 2_000_000_000  # an index file younger than this may still change unseen


def git_index_sig(root: str) -> list[int] | None:
    """The stat of the vault's git index (inode, device, size, mtime and ctime in ns),
    or None when the layout is not the plain one or the file is too new to trust."""
    if any(os.environ.get(name) for name in _GIT_ENV):
        return None
    try:
        if not stat.S_ISDIR(os.lstat(os.path.join(root, ".git")).st_mode):
            return None
        st = os.lstat(os.path.join(root, ".git", "index"))
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if max(st.st_mtime_ns, st.st_ctime_ns) > time.time_ns() - _RACY_NS:
        return None
    return [st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def mark_payload(root: str, sig: list[int]) -> bytes:
    """The mark's content for the vault at ``root`` and its index stat ``sig``."""
    return json.dumps({"root": os.path.realpath(root), "git_index": sig}).encode()


def outside_git(root: str) -> bool:
    """True when no git repository can hold the vault: no ``.git`` in its folder or any
    folder above, and no ``GIT_DIR``-style variable (then nothing can be tracked)."""
    if any(os.environ.get(name) for name in _GIT_ENV):
        return False
    here = os.path.realpath(root)
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return False
        parent = os.path.dirname(here)
        if parent == here:
            return True
        here = parent


def mark_holds(state_dir: str, root: str) -> bool:
    """True when the mark in ``state_dir`` (a real folder, not a link) was written for
    this vault and the git index file it names is still the same file."""
    sig = git_index_sig(root)
    if sig is None:
        return False
    try:
        if not stat.S_ISDIR(os.lstat(state_dir).st_mode):
            return False
        with open(os.path.join(state_dir, MARK_FILE), "rb") as f:
            return f.read() == mark_payload(root, sig)
    except OSError:
        return False
