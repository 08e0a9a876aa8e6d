"""``check --changed``: which pages a change since a revision touches.

A page is in scope when its file changed since ``REV`` (committed since, staged,
unstaged or untracked), when it cites a source whose ``raw/<id>/`` folder changed, or,
when a file under ``data/`` changed, when it reads facts (``{{entity.attribute}}``
references or ``python check`` blocks).
A change to ``veriwiki.toml`` or ``schemas/`` puts every page in scope. Rules still run
on the whole vault (links resolve against every page); only the report is filtered.
"""

from __future__ import annotations

from dataclasses import dataclass

from veriwiki.core.model import Page
from veriwiki.errors import InputError
from veriwiki.services.check import CheckReport
from veriwiki.vault import Vault

VAULT_WIDE = ("veriwiki.toml", "schemas/")


@dataclass(frozen=True, slots=True)
class ChangeScope:
    """The files changed since ``base`` and the pages they put in scope."""

    rev: str
    base: str | None
    files: frozenset[str]
    sources: frozenset[str]
    pages: frozenset[str]

    def covers(self, path: str) -> bool:
        """True when findings on ``path`` belong in the report."""
        return path in self.pages or path in self.files


def _z(out: bytes) -> set[str]:
    return {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}


def changed_files(vault: Vault, rev: str = "HEAD") -> tuple[str | None, set[str]]:
    """The merge base of ``rev`` and HEAD, and the vault files changed since it.

    ``rev`` HEAD means uncommitted changes only. Paths are vault-relative (git runs in
    the vault folder with ``--relative``, so a vault inside a larger repository works).
    """
    if rev.startswith("-"):
        raise InputError(f"unknown revision '{rev}'", hint="name a commit, branch or tag")
    git = vault.git
    if not git.inside_repo():
        raise InputError("check --changed needs a git repository, and the vault is not in one",
                         hint="run 'git init' and commit, or check without --changed")
    head = git.head()
    files: set[str] = set()
    base: str | None = None
    if head is None:  # no commit yet: everything is new
        files |= _z(git.run("ls-files", "-z", "--cached", "--others", "--exclude-standard"))
    else:
        sha = git.run("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
        base = sha.decode().strip() or None
        if base is None:
            raise InputError(f"unknown revision '{rev}'",
                             hint="name a commit, branch or tag (on CI, fetch it first: "
                                  "actions/checkout with fetch-depth: 0)")
        merge = git.run("merge-base", base, head, check=False).decode().strip()
        base = merge or base
        files |= _z(git.run("diff", "--name-only", "--no-renames", "--relative", "-z", base))
        files |= _z(git.run("ls-files", "-z", "--others", "--exclude-standard"))
    return base, files


def _uses_facts(page: Page) -> bool:
    """True when the page reads facts: ``{{entity.attribute}}`` refs or check blocks."""
    return bool(getattr(page, "fact_refs", ())) or any(
        b.info.split()[:2] == ["python", "check"] for b in page.code_blocks)


def change_scope(vault: Vault, pages: list[Page], rev: str = "HEAD") -> ChangeScope:
    """Pages changed since ``rev`` plus pages citing a source changed since ``rev``."""
    base, files = changed_files(vault, rev)
    sources = {f.split("/")[1] for f in files if f.startswith("raw/") and f.count("/") >= 2}
    if any(f == w or f.startswith(w) for f in files for w in VAULT_WIDE):
        return ChangeScope(rev, base, frozenset(files), frozenset(sources),
                           frozenset(p.path for p in pages))
    facts_changed = any(f.startswith("data/") for f in files)
    selected = set()
    for page in pages:
        if page.path in files or (facts_changed and _uses_facts(page)):
            selected.add(page.path)
            continue
        cited = {c.source_id for claim in page.claims for c in claim.citations}
        listed = page.frontmatter.get("sources")
        if isinstance(listed, list):
            cited |= {str(s).split(":")[0] for s in listed}
        if cited & sources:
            selected.add(page.path)
    return ChangeScope(rev, base, frozenset(files), frozenset(sources), frozenset(selected))


def filter_report(report: CheckReport, scope: ChangeScope) -> CheckReport:
    """The findings of ``report`` on files in ``scope``; ``pages`` counts pages in scope."""
    return CheckReport([f for f in report.findings if scope.covers(f.path)], len(scope.pages))


def check_changed(vault: Vault, rev: str = "HEAD", *, strict: bool = False,
                  only: list[str] | None = None) -> tuple[CheckReport, ChangeScope]:
    """Check the whole vault and report only what a change since ``rev`` touches."""
    from veriwiki.services.check import check_vault

    report = check_vault(vault, strict=strict, only=only)
    scope = change_scope(vault, vault.index.load_pages(), rev)
    return filter_report(report, scope), scope
