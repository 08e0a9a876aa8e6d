"""Health over the git history: the vault's status at a few sampled commits.

Each sample is :func:`veriwiki.services.status.vault_status` run on a scratch worktree
of that commit (filled by veriwiki, not by a checkout, as the review gate's worktree;
the derived state is copied so the index and checks are incremental). A sample is
stored in ``.veriwiki/trends.json`` under its commit id and the veriwiki version, so it
is computed once; a caller bounds the new samples one call may compute (``budget``
seconds, at least one), so a long history is filled in over several calls.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from veriwiki.adapters.git import GitRepo
from veriwiki.adapters.writes import atomic_write, ensure_dir
from veriwiki.errors import VeriwikiError
from veriwiki.services.status import VaultStatus
from veriwiki.vault import Vault

CACHE_FILE = "trends.json"
DEFAULT_SAMPLES = 12
_DERIVED = ("index.db", "verify-cache.db", "check-cache.db", "text", "code-cache")


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """The vault's health at one commit."""

    commit: str
    date: str
    pages: int
    claims: int
    verified: int
    stale_pages: int
    overdue_pages: int
    errors: int
    warnings: int
    failed: str | None = None  # why the status could not be computed at that commit

    @property
    def verified_share(self) -> float | None:
        """Verified claims / claims (None without claims)."""
        return self.verified / self.claims if self.claims else None


@dataclass
class Trend:
    """The sampled points, oldest first, and how many samples are still to compute."""

    points: list[TrendPoint]
    pending: int
    commits: int


def sample_commits(vault: Vault, samples: int = DEFAULT_SAMPLES
                   ) -> tuple[list[tuple[str, str]], int]:
    """Up to ``samples`` commits of HEAD's first-parent history, oldest first, and how
    many commits it has.

    Every ``stride``-th commit from the first one, plus the newest; the stride is a power
    of two, so the picks stay the same as commits are added (until the history doubles)
    and cached samples stay useful.
    """
    git = GitRepo(vault.root)
    if git.head() is None:
        return [], 0
    out = git.text("log", "--first-parent", "--format=%H %cI", "HEAD")
    rows = [(a, b) for a, _, b in (line.partition(" ") for line in out.splitlines()) if b]
    rows.reverse()
    total = len(rows)
    stride = 1
    while -(-total // stride) > samples - 1:
        stride *= 2
    picks = sorted(set(range(0, total, stride)) | {total - 1})
    return [rows[i] for i in picks], total


def _cache_key() -> str:
    from veriwiki import __version__

    return f"1-{__version__}"


def _read_cache(vault: Vault) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((vault.cache_dir / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("key") != _cache_key() \
            or not isinstance(data.get("points"), dict):
        return {}
    return {k: v for k, v in data["points"].items() if isinstance(v, dict)}


def _write_cache(vault: Vault, points: dict[str, dict[str, Any]]) -> None:
    try:
        ensure_dir(vault.cache_dir, vault.cache_dir.parent)
        atomic_write(vault.cache_dir / CACHE_FILE, json.dumps(
            {"key": _cache_key(), "points": points}, sort_keys=True).encode(),
            root=vault.cache_dir)
    except (OSError, VeriwikiError):
        pass  # a cache that cannot be written only costs time


def _point(data: dict[str, Any]) -> TrendPoint | None:
    try:
        return TrendPoint(**data)
    except TypeError:
        return None


def measure(vault: Vault, commit: str, date: str) -> TrendPoint:
    """The status at ``commit``, from a scratch worktree of it."""
    from veriwiki.services.proposals import _fill_worktree
    from veriwiki.services.status import vault_status
    from veriwiki.vault import STATE_DIR, open_vault

    git = GitRepo(vault.root)
    tmp_root = ensure_dir(vault.state_dir / "tmp", vault.state_dir)
    work = Path(tempfile.mkdtemp(prefix="trend-", dir=tmp_root))
    try:
        git.run("worktree", "add", "--detach", "--force", "--no-checkout", str(work), commit)
        _fill_worktree(GitRepo(work), work, STATE_DIR)
        state = ensure_dir(work / STATE_DIR, work)
        for name in _DERIVED:
            src = vault.cache_dir / name
            if src.is_dir():
                shutil.copytree(src, state / name, dirs_exist_ok=True)
            elif src.is_file():
                shutil.copy2(src, state / name)
        try:
            other = open_vault(work)
        except VeriwikiError as exc:
            return TrendPoint(commit, date, 0, 0, 0, 0, 0, 0, 0, failed=str(exc)[:300])
        other.sandbox = vault.sandbox
        try:
            status = vault_status(other)
        except VeriwikiError as exc:
            return TrendPoint(commit, date, 0, 0, 0, 0, 0, 0, 0, failed=str(exc)[:300])
        finally:
            other.close()
    finally:
        git.execute(["worktree", "remove", "--force", str(work)])
        shutil.rmtree(work, ignore_errors=True)
        git.execute(["worktree", "prune"])
    return point_of(status, commit, date)


def point_of(status: VaultStatus, commit: str, date: str) -> TrendPoint:
    """The trend point a status gives for ``commit``."""
    summary = status.report.summary()
    stale = {f.path for f in status.report.findings if f.rule == "stale-claim"}
    return TrendPoint(commit, date, status.pages, status.claims, status.verified, len(stale),
                      len(status.stale), int(summary["error"]), int(summary["warning"]))


def _is_clean(vault: Vault) -> bool:
    """True when the working tree holds exactly HEAD's files (derived state aside)."""
    out = GitRepo(vault.root).execute(["status", "--porcelain", "-z", "--untracked-files=all"])
    return out.returncode == 0 and not out.stdout.strip(b"\0")


def health_trend(vault: Vault, samples: int = DEFAULT_SAMPLES, *,
                 budget: float = 10.0, current: VaultStatus | None = None) -> Trend:
    """The sampled health points; new samples are computed until ``budget`` seconds have
    passed (at least one per call when any is missing), newest first.

    ``current`` is the vault's status as it is on disk: when the working tree is clean it
    is HEAD's, and is taken for HEAD's sample instead of checking a worktree of it.
    """
    picks, total = sample_commits(vault, max(2, min(samples, 60)))
    cache = _read_cache(vault)
    start = time.monotonic()
    computed = False
    if picks and current is not None and picks[-1][0] not in cache and _is_clean(vault):
        cache[picks[-1][0]] = asdict(point_of(current, *picks[-1]))
        computed = True
    for commit, date in reversed(picks):
        if commit in cache:
            continue
        if computed and time.monotonic() - start > budget:
            break
        cache[commit] = asdict(measure(vault, commit, date))
        computed = True
    if computed:
        keep = {c for c, _ in picks}
        _write_cache(vault, {c: v for c, v in cache.items() if c in keep})
    points = [p for c, _ in picks if c in cache and (p := _point(cache[c])) is not None]
    return Trend(points, len(picks) - len(points), total)
