"""A page's history: its versions, the text and claim diff between two, their verdicts.

The web app's history and diff views call these; the CLI's ``history`` and ``revert``
call :mod:`veriwiki.services.pages`, which this module builds on. A version is named by
a commit of the page's own log (renames followed), so a request can never name an
arbitrary revision, ref or option.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from veriwiki.core.model import Finding
from veriwiki.errors import InputError
from veriwiki.services.review import ClaimChange, ClaimDiff, claim_diff_of
from veriwiki.vault import Vault

MAX_LOG = 500
MAX_DIFF_LINES = 5000
_REV = re.compile(r"^[0-9a-f]{4,40}$")


@dataclass(frozen=True, slots=True)
class PageVersion:
    """One commit of a page's log."""

    commit: str
    author: str
    email: str
    date: str
    subject: str
    path: str

    @property
    def short(self) -> str:
        """The first ten digits of the commit id."""
        return self.commit[:10]


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a text diff: ``kind`` is ``same``, ``add``, ``del`` or ``hunk``."""

    kind: str
    text: str
    old: int | None = None
    new: int | None = None


@dataclass
class VersionDiff:
    """Two versions of a page: their text diff, claim diff and the claims' verdicts."""

    path: str
    a: PageVersion
    b: PageVersion
    lines: list[DiffLine]
    claims: ClaimDiff
    truncated: bool = False
    verdicts: dict[tuple[str, int, str], str] = field(default_factory=dict)

    def verdict(self, change: ClaimChange) -> str | None:
        """The verdict of a changed claim: its new version's, or the old one's if removed."""
        side = "a" if change.kind == "removed" else "b"
        return self.verdicts.get((side, change.line, change.text))


def page_log(vault: Vault, name: str, limit: int = MAX_LOG) -> tuple[str, list[PageVersion]]:
    """The page's path and its versions, newest first (at most ``limit``)."""
    from veriwiki.services.pages import page_history

    path, entries = page_history(vault, name, limit)
    return path, [PageVersion(e["commit"], e["author"], e["email"], e["date"], e["subject"],
                              e["path"] or path) for e in entries]


def find_version(versions: list[PageVersion], rev: str) -> PageVersion:
    """The version whose commit id starts with ``rev`` (4 to 40 hex digits)."""
    rev = rev.strip().lower()
    if not _REV.match(rev):
        raise InputError(f"{rev[:60]!r} is not a commit id of this page",
                         hint="pick a version from the page's history")
    found = [v for v in versions if v.commit.startswith(rev)]
    if len({v.commit for v in found}) != 1:
        raise InputError(f"{rev} names {'no' if not found else 'several'} version(s) of "
                         "this page", hint="pick a version from the page's history")
    return found[0]


def file_at(vault: Vault, version: PageVersion) -> bytes | None:
    """The page's bytes as of ``version`` (None when the commit deleted it)."""
    return vault.git.read_blobs([f"{version.commit}:{version.path}"])[0]


def text_diff(old: bytes | None, new: bytes | None, *, context: int = 3,
              limit: int = MAX_DIFF_LINES) -> tuple[list[DiffLine], bool]:
    """A unified diff of two texts as lines with their numbers; True when cut at ``limit``."""
    a = (old or b"").decode("utf-8", "replace").splitlines()
    b = (new or b"").decode("utf-8", "replace").splitlines()
    out: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(DiffLine("hunk", f"@@ -{first[1] + 1},{last[2] - first[1]} "
                                    f"+{first[3] + 1},{last[4] - first[3]} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("same", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            out += [DiffLine("del", a[i], i + 1, None) for i in range(i1, i2)]
            out += [DiffLine("add", b[j], None, j + 1) for j in range(j1, j2)]
        if len(out) > limit:
            return out[:limit], True
    return out, False


def findings_for(vault: Vault, path: str, data: bytes | None) -> list[Finding]:
    """Every finding the check makes on ``path`` holding ``data`` on today's main.

    The page as it is on disk and in HEAD is read from the vault's own check; any other
    text is checked in a scratch worktree of HEAD (the review gate's way), so a historic
    version is judged against today's sources and pages.
    """
    from veriwiki.services.check import check_vault
    from veriwiki.services.proposals import check_files

    if data is None:
        return []
    on_disk = vault.root / path
    head = vault.git.read_blobs([f"HEAD:{path}"])[0]
    try:
        current = not on_disk.is_symlink() and on_disk.is_file() and \
            on_disk.read_bytes() == data == head
    except OSError:
        current = False
    if current:
        return [f for f in check_vault(vault).findings if f.path == path]
    return check_files(vault, {path: data}, errors_only=False, only_new=False)


def claim_verdicts(path: str, data: bytes | None, findings: list[Finding]
                   ) -> dict[tuple[int, str], str]:
    """(line, claim text) → the claim's verdict: the worst of its citations'."""
    from veriwiki.core.parse import parse_page
    from veriwiki.render.chips import VERDICT_ORDER, cite_key, page_verdicts

    if data is None:
        return {}
    page = parse_page(path, data.decode("utf-8", "replace"))
    by_cite = {k: list(v) for k, v in page_verdicts(page, findings).items()}
    out: dict[tuple[int, str], str] = {}
    for claim in page.claims:
        names = []
        for cite in claim.citations:
            queue = by_cite.get(cite_key(cite.line, cite.source_id, cite.version, cite.quote))
            names.append(queue.pop(0).name if queue else "verified")
        out[(claim.line, claim.text)] = min(names, key=VERDICT_ORDER.index) \
            if names else "verified"
    return out


def diff_versions(vault: Vault, name: str, a: str, b: str, *,
                  with_verdicts: bool = True) -> VersionDiff:
    """The diff of a page between versions ``a`` (older) and ``b``.

    With ``with_verdicts``, each added, changed or removed claim carries its verdict
    (the check run on that version's text; see :func:`findings_for`).
    """
    path, versions = page_log(vault, name)
    va, vb = find_version(versions, a), find_version(versions, b)
    old, new = file_at(vault, va), file_at(vault, vb)
    lines, cut = text_diff(old, new)
    claims = claim_diff_of({vb.path: (old, new)})
    diff = VersionDiff(path, va, vb, lines, claims, cut)
    if with_verdicts and claims.changes:
        kinds = {c.kind for c in claims.changes}
        if kinds & {"added", "changed"}:
            found = findings_for(vault, vb.path, new)
            diff.verdicts.update({("b", *k): v for k, v in
                                  claim_verdicts(vb.path, new, found).items()})
        if "removed" in kinds:
            found = findings_for(vault, va.path, old)
            for (line, text), v in claim_verdicts(va.path, old, found).items():
                diff.verdicts[("a", line, text)] = v
    return diff


def revert_to(vault: Vault, name: str, rev: str) -> tuple[str, str, str | None]:
    """Restore the page's text as of version ``rev`` (one of its log); one commit.

    Returns the page path, the full commit id reverted to and the new commit.
    """
    from veriwiki.services.pages import revert_page

    _, versions = page_log(vault, name)
    version = find_version(versions, rev)
    path, sha, result = revert_page(vault, name, version.commit)
    return path, sha, result.commit
