"""Proposals: LLM-made changes held on a git branch until a person approves them.

A proposal is one commit on ``refs/heads/proposals/<id>`` whose parent is the main
commit it was made against. Its message carries a JSON trailer (``Veriwiki-Proposal:``)
with what made it (operation, sources, model, usage, dropped claims). Creating one
never touches the working tree or the current branch; the branch ref is created with a
compare-and-swap ``update-ref``, so a crash leaves the proposal either complete or
absent (unreferenced objects are harmless and collected by git gc).

Approval re-applies the proposal's page changes on top of the current main (a
three-way merge per file, so a proposal made against an older main is rebased),
re-verifies the result with the full check, and commits it as one operation.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veriwiki.adapters.fs import blob_sha, is_page_path
from veriwiki.adapters.git import ZERO, GitRepo
from veriwiki.adapters.writes import atomic_write, create_files, ensure_dir, remove_file
from veriwiki.core.catalog import (
    append_log,
    default_index_page,
    default_log_page,
    render_catalog,
    replace_catalog,
)
from veriwiki.core.model import Finding, Severity
from veriwiki.errors import ConflictError, InputError, VeriwikiError
from veriwiki.vault import Vault

REF_PREFIX = "refs/heads/proposals/"
TRAILER = "Veriwiki-Proposal: "
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")


@dataclass
class Proposal:
    """An open proposal."""

    id: str
    commit: str
    base: str
    op: str
    subject: str
    created: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def branch(self) -> str:
        """The branch name, e.g. ``proposals/ingest-llama2-v1``."""
        return REF_PREFIX.removeprefix("refs/heads/") + self.id

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``review --json``."""
        return {"id": self.id, "branch": self.branch, "commit": self.commit,
                "base": self.base, "op": self.op, "subject": self.subject,
                "created": self.created, "meta": self.meta}


class _Staged:
    """The minimal transaction shape :func:`catalog_entries` reads."""

    def __init__(self, git: GitRepo, parent: str | None, files: dict[str, bytes | None]):
        self.git = git
        self.parent = parent
        self.commit_files = files


def _head(git: GitRepo, parent: str | None, path: str) -> bytes | None:
    return git.read_blobs([f"{parent}:{path}"])[0] if parent else None


_DATA_FILE = re.compile(r"data/[a-z0-9][a-z0-9._-]{0,100}\.(?:yaml|yml|csv)")


def check_paths(vault: Vault, files: dict[str, bytes | None]) -> None:
    """Refuse any path a proposal may not write: only pages under the pages folder, and
    fact tables ``data/<name>.yaml|yml|csv`` (typed facts from ingest, OKF import)."""
    for path in files:
        parts = path.split("/")
        if _DATA_FILE.fullmatch(path):
            continue
        if (path.startswith("/") or ".." in parts or "" in parts or "\\" in path
                or not is_page_path(path, vault.pages_root, tuple(vault.vault_settings.exclude))
                or path in (vault.index_page, vault.log_page)):
            raise InputError(f"a proposal may only write pages under "
                             f"{vault.pages_root}/, not {path!r}", path=path,
                             hint="this is a bug in the operation that built the proposal")


def _with_catalog_and_log(vault: Vault, git: GitRepo, parent: str | None,
                          files: dict[str, bytes | None], op: str, subject: str
                          ) -> dict[str, bytes | None]:
    from veriwiki.services.write import catalog_entries

    staged = _Staged(git, parent, dict(files))
    catalog = render_catalog(catalog_entries(vault, staged), vault.pages_root)  # type: ignore[arg-type]
    index = _head(git, parent, vault.index_page)
    text = index.decode("utf-8", "replace") if index else default_index_page(vault.config.vault.name)
    out = dict(files)
    out[vault.index_page] = replace_catalog(text, catalog).encode()
    log = _head(git, parent, vault.log_page)
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    log_text = log.decode("utf-8", "replace") if log else default_log_page()
    out[vault.log_page] = append_log(log_text, stamp, f"propose {op}", subject).encode()
    return out


def propose(vault: Vault, op: str, subject: str, files: dict[str, bytes | None],
            meta: dict[str, Any], proposal_id: str, *,
            replace: Proposal | None = None) -> Proposal:
    """Create proposal ``proposal_id``: one commit on its own branch, main untouched.

    With ``replace`` (the open proposal of that id) its branch is moved to a new commit
    on the same base holding ``files`` instead (compare-and-swap: a concurrent update
    makes this one fail with ConflictError).
    """
    if not _ID.match(proposal_id):
        raise InputError(f"bad proposal id {proposal_id!r}")
    check_paths(vault, files)
    git = vault.git
    base = git.head() if replace is None else replace.base
    if base is None:
        raise VeriwikiError("the vault has no commit yet", hint="run 'veriwiki init' first")
    full = _with_catalog_and_log(vault, git, base, files, op, subject)
    present = {p: d for p, d in full.items() if d is not None}
    blobs = dict(zip(present, git.write_blobs(list(present.values()), vault.state_dir / "tmp"),
                     strict=True))
    entries: dict[str, str | None] = {p: blobs.get(p) for p in full}
    created = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    body = dict(meta, op=op, created=created)
    message = f"veriwiki: {op} | {subject}\n\n{TRAILER}{json.dumps(body, sort_keys=True)}\n"
    commit = git.build_commit(base, entries, message, vault.state_dir / "tmp")
    proc = git.execute(["update-ref", "-m", f"propose {op}", REF_PREFIX + proposal_id, commit,
                        ZERO if replace is None else replace.commit])
    if proc.returncode != 0 and replace is not None:
        raise ConflictError(f"proposal {proposal_id} changed while this update was made",
                            hint=f"read it again with 'veriwiki review show {proposal_id}' "
                                 "and send the update again")
    if proc.returncode != 0:
        raise ConflictError(f"a proposal named {proposal_id} already exists",
                            hint=f"see it with 'veriwiki review show {proposal_id}', or "
                                 f"reject it first")
    return Proposal(proposal_id, commit, base, op, subject, created, body)


def _parse(git: GitRepo, ref: str, commit: str) -> Proposal:
    raw = git.run("cat-file", "commit", commit).decode("utf-8", "replace")
    header, _, message = raw.partition("\n\n")
    parents = [line.split()[1] for line in header.splitlines() if line.startswith("parent ")]
    first = message.splitlines()[0] if message else ""
    subject = first.partition(" | ")[2] or first
    meta: dict[str, Any] = {}
    for line in message.splitlines():
        if line.startswith(TRAILER):
            try:
                meta = json.loads(line[len(TRAILER):])
            except json.JSONDecodeError:
                meta = {}
    return Proposal(ref.removeprefix(REF_PREFIX), commit, parents[0] if parents else "",
                    str(meta.get("op", "")), subject, str(meta.get("created", "")), meta)


def list_proposals(vault: Vault) -> list[Proposal]:
    """Open proposals, oldest first."""
    git = vault.git
    out = git.text("for-each-ref", "--format=%(refname) %(objectname)", REF_PREFIX)
    found = [_parse(git, *line.split()) for line in out.splitlines() if line.strip()]
    return sorted(found, key=lambda p: (p.created, p.id))


def get_proposal(vault: Vault, ident: str) -> Proposal:
    """The proposal named ``ident`` (or the only one whose id starts with it)."""
    proposals = list_proposals(vault)
    exact = [p for p in proposals if p.id == ident]
    if exact:
        return exact[0]
    matches = [p for p in proposals if p.id.startswith(ident)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(f"no open proposal {ident!r}",
                         hint="list open proposals with 'veriwiki review'")
    raise InputError(f"{ident!r} names several proposals: "
                     + ", ".join(p.id for p in matches), hint="give the full id")


def changed_pages(vault: Vault, proposal: Proposal) -> dict[str, tuple[bytes | None, bytes | None]]:
    """Page path → (content at the proposal's base, content in the proposal)."""
    git = vault.git
    # NUL-separated: a line-based listing quotes non-ASCII names ("caf\303\251.md")
    out = git.run("diff-tree", "-r", "-z", "--no-renames", "--name-only", proposal.base,
                  proposal.commit).decode("utf-8", "surrogateescape")
    paths = [p for p in out.split("\0")
             if p and p not in (vault.index_page, vault.log_page)]
    olds = git.read_blobs([f"{proposal.base}:{p}" for p in paths])
    news = git.read_blobs([f"{proposal.commit}:{p}" for p in paths])
    return {p: (o, n) for p, o, n in zip(paths, olds, news, strict=True)}


def page_diff(vault: Vault, proposal: Proposal) -> str:
    """The unified diff of the proposal's pages against its base."""
    git = vault.git
    paths = list(changed_pages(vault, proposal))
    if not paths:
        return ""
    return git.run("diff", "--no-color", "--no-ext-diff", "--no-textconv", proposal.base,
                   proposal.commit, "--", *paths).decode("utf-8", "replace")


def merge3(vault: Vault, path: str, base: bytes | None, ours: bytes | None,
           theirs: bytes | None) -> bytes | None:
    """Three-way merge of one file; raises ConflictError when the two sides collide."""
    if ours == base:
        return theirs
    if theirs == base or ours == theirs:
        return ours
    if base is None or ours is None or theirs is None:
        raise ConflictError("the page was created or deleted on main and changed by the "
                            "proposal", path=path,
                            hint="reject the proposal and run the operation again")
    ensure_dir(vault.state_dir / "tmp", vault.state_dir)
    with tempfile.TemporaryDirectory(dir=vault.state_dir / "tmp") as tmp:
        names = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            (Path(tmp) / name).write_bytes(data)
            names.append(str(Path(tmp) / name))
        proc = vault.git.execute(["merge-file", "-p", *names])
    if proc.returncode != 0:
        raise ConflictError("the proposal and main both changed the same lines of this page",
                            path=path, hint="reject the proposal and run the operation again "
                                            "on the current main")
    return proc.stdout


def check_files(vault: Vault, files: dict[str, bytes | None], *,
                errors_only: bool = True, only_new: bool = True) -> list[Finding]:
    """Errors the check finds on ``files`` applied to main that main itself does not have
    (with ``errors_only=False``, findings of every severity; with ``only_new=False``,
    also those main has: the verdicts of every claim of the files).

    The files are written into a temporary detached worktree of HEAD (with a copy of the
    derived state, so the index update is incremental) and the full check runs there.
    The worktree is filled by veriwiki, not by a git checkout, so no hook or filter
    driver of the repository runs, and no write follows a committed link.
    """
    from veriwiki.services.check import check_vault
    from veriwiki.vault import STATE_DIR, open_vault

    git = vault.git
    tmp_root = ensure_dir(vault.state_dir / "tmp", vault.state_dir)
    work = Path(tempfile.mkdtemp(prefix="proposal-check-", dir=tmp_root))
    try:
        git.run("worktree", "add", "--detach", "--force", "--no-checkout", str(work), "HEAD")
        _fill_worktree(git, work, STATE_DIR)
        for path, data in files.items():
            if data is None:
                remove_file(work / path, root=work)
            else:
                atomic_write(work / path, data, root=work)
        state = ensure_dir(work / STATE_DIR, work)
        for name in ("index.db", "verify-cache.db", "check-cache.db", "text", "code-cache"):
            src = vault.cache_dir / name
            if src.is_dir():
                shutil.copytree(src, state / name, dirs_exist_ok=True)
            elif src.is_file():
                shutil.copy2(src, state / name)
        other = open_vault(work)
        other.sandbox = vault.sandbox  # the user's --trust applies to the gate too
        try:
            after = check_vault(other).findings
        finally:
            other.close()
    finally:
        git.execute(["worktree", "remove", "--force", str(work)])
        shutil.rmtree(work, ignore_errors=True)
        git.execute(["worktree", "prune"])
    before = {(f.rule, f.path, f.message) for f in check_vault(vault).findings} \
        if only_new else set()
    touched = set(files)
    return [f for f in after if (f.severity is Severity.ERROR or not errors_only)
            and f.path in touched
            and (f.rule, f.path, f.message) not in before]


_BATCH_BYTES = 64 << 20


def _fill_worktree(git: GitRepo, work: Path, state_dir: str) -> None:
    """Write HEAD's files into the empty worktree ``work`` and point its index at them.

    Committed derived state (``state_dir``) is left out: it is never trusted.
    """
    entries = [e for e in git.tree_blobs("HEAD") if e[0].split("/", 1)[0] != state_dir]
    batch: list[tuple[str, str, str, int]] = []
    size = 0
    for i, entry in enumerate(entries):
        batch.append(entry)
        size += entry[3]
        # bounded memory: stored sources can be large
        if i == len(entries) - 1 or size > _BATCH_BYTES:
            datas = git.read_blobs([sha for _, _, sha, _ in batch])
            create_files(work, [(path, data or b"", mode) for (path, mode, _, _), data
                                in zip(batch, datas, strict=True)])
            batch, size = [], 0
    GitRepo(work).run("read-tree", "HEAD")


def delete_branch(vault: Vault, proposal: Proposal) -> None:
    """Remove the proposal's branch (only if it still points at the same commit)."""
    vault.git.run("update-ref", "-d", REF_PREFIX + proposal.id, proposal.commit)


def file_blob(data: bytes | None) -> str | None:
    """The git blob id of ``data`` (None for an absent file)."""
    return blob_sha(data) if data is not None else None
