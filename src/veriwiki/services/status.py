"""``veriwiki status``: the vault's health in one summary.

Counts come from one full check run: a claim is *verified* when every citation offers
a quote and no verification finding (see :data:`VERIFICATION_RULES`) sits on the
claim's line or on a line of one of its citations.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from veriwiki.core.model import Page
from veriwiki.services.check_report import CheckReport
from veriwiki.services.freshness import Freshness, page_freshness, today
from veriwiki.vault import Vault

VERIFICATION_RULES = frozenset({
    "unknown-source", "quote-not-found", "number-mismatch", "unit-mismatch", "stale-claim",
    "fact-contradiction"})


@dataclass
class Coverage:
    """Counts for one folder or page type."""

    name: str
    pages: int = 0
    claims: int = 0
    verified: int = 0
    last_change: str | None = None
    authors: set[str] = field(default_factory=set)

    @property
    def verified_share(self) -> float | None:
        """Verified claims / claims (None without claims)."""
        return round(self.verified / self.claims, 4) if self.claims else None

    def to_json(self) -> dict[str, Any]:
        """The row as ``status --json`` prints it."""
        return {"name": self.name, "pages": self.pages, "claims": self.claims,
                "verified": self.verified, "verified_share": self.verified_share,
                "last_change": self.last_change, "authors": len(self.authors)}


@dataclass
class VaultStatus:
    """The summary ``veriwiki status`` prints."""

    pages: int
    claims: int
    verified: int
    report: CheckReport
    stale: list[Freshness]
    folders: list[Coverage]
    types: list[Coverage]

    @property
    def verified_share(self) -> float | None:
        """Verified claims / claims (None without claims)."""
        return round(self.verified / self.claims, 4) if self.claims else None

    def to_json(self) -> dict[str, Any]:
        """The whole status as ``status --json`` prints it."""
        s = self.report.summary()
        return {"pages": self.pages, "claims": self.claims, "verified": self.verified,
                "verified_share": self.verified_share,
                "findings": {"total": s["findings"], "error": s["error"],
                             "warning": s["warning"], "info": s["info"],
                             "by_rule": s["by_rule"]},
                "stale_pages": [f.to_json() for f in self.stale],
                "folders": [c.to_json() for c in self.folders],
                "types": [c.to_json() for c in self.types]}


def _file_history(vault: Vault) -> dict[str, tuple[str, set[str]]]:
    """Per page file: the date of its last commit and the e-mails of its authors."""
    git = vault.git
    if git.head() is None:
        return {}
    out = git.run("log", "--no-renames", "--relative", "--format=%x1e%aI%x1f%ae",
                  "--name-only", "-z", "HEAD", "--", vault.pages_root or ".", check=False)
    history: dict[str, tuple[str, set[str]]] = {}
    for record in out.decode("utf-8", "replace").split("\x1e"):
        if "\x1f" not in record:
            continue
        head, _, names = record.partition("\n")
        date, _, email = head.partition("\x1f")
        for name in names.replace("\n", "\0").split("\0"):
            name = name.strip()
            if not name:
                continue
            if name not in history:
                history[name] = (date, set())
            history[name][1].add(email.strip())
    return history


def _when(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def _folder_of(vault: Vault, path: str) -> str:
    root = vault.pages_root.strip("/")
    rel = path[len(root) + 1:] if root not in ("", ".") and path.startswith(root + "/") else path
    top, sep, _ = rel.partition("/")
    if not sep:
        return root if root not in ("", ".") else "."
    return f"{root}/{top}" if root not in ("", ".") else top


def _verified_claims(page: Page, bad_lines: set[int]) -> tuple[int, int]:
    verified = 0
    for claim in page.claims:
        lines = {claim.line} | {c.line for c in claim.citations}
        if all(c.quote for c in claim.citations) and not lines & bad_lines:
            verified += 1
    return len(page.claims), verified


def vault_status(vault: Vault) -> VaultStatus:
    """Run the checks and summarise pages, claims, findings, staleness and coverage."""
    from veriwiki.services.check import check_vault  # not for the site's _file_history

    report = check_vault(vault)
    pages = [p for p in vault.index.load_pages()
             if p.path not in (vault.index_page, vault.log_page)]
    bad: dict[str, set[int]] = defaultdict(set)
    for f in report.findings:
        if f.rule in VERIFICATION_RULES:
            bad[f.path].add(f.line)
    history = _file_history(vault)
    folders: dict[str, Coverage] = {}
    types: dict[str, Coverage] = {}
    total_claims = total_verified = 0
    stale = []
    on = today()
    for page in pages:
        claims, verified = _verified_claims(page, bad[page.path])
        total_claims += claims
        total_verified += verified
        ptype = page.type or vault.default_type or "(none)"
        for table, key in ((folders, _folder_of(vault, page.path)), (types, ptype)):
            row = table.setdefault(key, Coverage(key))
            row.pages += 1
            row.claims += claims
            row.verified += verified
            date, authors = history.get(page.path, (None, set()))
            if date and (row.last_change is None or _when(date) > _when(row.last_change)):
                row.last_change = date
            row.authors |= authors
        state = page_freshness(page, vault.freshness, on, vault.default_type)
        if state is not None and state.is_stale:
            stale.append(state)
    return VaultStatus(len(pages), total_claims, total_verified, report,
                       sorted(stale, key=lambda s: s.path),
                       [folders[k] for k in sorted(folders)], [types[k] for k in sorted(types)])
