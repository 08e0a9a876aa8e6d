"""``veriwiki search --json`` answered with the standard library only, when it can be.

Agents call ``veriwiki search --json`` in loops, and most of such a call used to be
start-up: click, the vault's composition root, the index package and a scan that built
a list of every page. This path answers the common case (a current index, a plain
command line) reading only the settings snapshot, the state mark, the scan manifest
and the index; it returns None for anything else, and the entry point then runs the
full command, which prints the same answer (and any notice, error or re-index).

What it accepts: ``[--vault PATH] search [--json] [--limit N | -n N] QUERY`` with
``--json`` present, in any order after ``search``, QUERY not starting with ``-``.
``tests/test_fast_search.py`` compares its output with the full command's, and
``tests/test_startup.py`` pins its imports. ``VERIWIKI_NO_FAST_PATH=1`` turns it off.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import sys

from veriwiki.adapters.index_light import hit_json, index_current, search
from veriwiki.adapters.state_mark import mark_holds, outside_git
from veriwiki.core.query import query_terms
from veriwiki.snapshot import CONFIG_FILE, SNAPSHOT, load_snapshot, snapshot_key, vault_fields

STATE_DIR = ".veriwiki"  # vault.STATE_DIR; the fast path uses only the default place
_C1 = re.compile("[\x7f-\x9f]")


def parse(argv: list[str]) -> tuple[str | None, str, int] | None:
    """(the --vault value, the query, the limit) of a command line this path answers,
    else None."""
    vault = None
    i = 0
    while i < len(argv) and argv[i] != "search":
        arg = argv[i]
        if arg == "--vault" and i + 1 < len(argv):
            vault = argv[i + 1]
            i += 2
        elif arg.startswith("--vault="):
            vault = arg[len("--vault="):]
            i += 1
        else:
            return None
    if vault == "":
        return None
    rest = argv[i + 1:]
    query: str | None = None
    limit = 10
    as_json = False
    j = 0
    while j < len(rest):
        arg = rest[j]
        value: str | None = None
        if arg == "--json":
            as_json = True
        elif arg in ("--limit", "-n") and j + 1 < len(rest):
            value = rest[j + 1]
            j += 1
        elif arg.startswith("--limit="):
            value = arg[len("--limit="):]
        elif arg.startswith("-") or query is not None:
            return None  # an option click knows better, or a second argument
        else:
            query = arg
        if value is not None:
            if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 1000:
                return None  # click explains a bad limit
            limit = int(value)
        j += 1
    if i == len(argv) or query is None or not as_json:
        return None
    return vault, query, limit


def find_root(vault: str | None) -> str | None:
    """The vault folder, found as ``veriwiki.vault.open_vault`` finds it (None for any
    case it would explain with an error)."""
    if vault is None:
        env = os.environ.get("VERIWIKI_VAULT")
        if env is not None:
            if not env:
                return None
            vault = env
    if vault is not None:
        root = os.path.realpath(os.path.expanduser(vault))
        return root if os.path.isfile(os.path.join(root, CONFIG_FILE)) else None
    here = os.path.realpath(os.getcwd())
    while True:
        if os.path.isfile(os.path.join(here, CONFIG_FILE)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def answer(argv: list[str]) -> str | None:
    """The JSON text ``veriwiki ARGV`` prints, when this path can prove it; else None."""
    if os.environ.get("VERIWIKI_NO_FAST_PATH", "") not in ("", "0"):
        return None
    parsed = parse(argv)
    if parsed is None:
        return None
    vault, query, limit = parsed
    root = find_root(vault)
    if root is None:
        return None
    state = os.path.join(root, STATE_DIR)
    db = os.path.join(state, "index.db")
    try:
        if (os.path.lexists(os.path.join(state, "journal.json"))  # recovery to do
                # could git track the state folder? (adapters/state_mark.py)
                or not (outside_git(root) or mark_holds(state, root))
                or not stat.S_ISREG(os.lstat(db).st_mode)):
            return None
        with open(os.path.join(root, CONFIG_FILE), "rb") as f:
            raw = f.read()
    except OSError:
        return None
    settings = load_snapshot(os.path.join(state, SNAPSHOT), snapshot_key(raw))
    if settings is None or query_terms(query).note:  # the full path prints the note
        return None
    pages, index_page, log_page, max_bytes, exclude, _ = vault_fields(settings)
    try:
        conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA busy_timeout = 60000")
        # one read transaction: the manifest proved current and the rows searched are
        # the same snapshot of the index, whatever a writer commits meanwhile
        conn.execute("BEGIN")
        if not index_current(conn, root, pages, exclude, max_bytes):
            return None
        skip = {index_page, log_page}
        rows = [r for r in search(conn, query, limit + len(skip)) if r[0] not in skip]
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    text = json.dumps([hit_json(*r) for r in rows[:limit]], ensure_ascii=False, indent=2)
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def run(argv: list[str]) -> bool:
    """Print the answer and return True, or return False having printed nothing."""
    text = answer(argv)
    if text is None:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True
