"""Health over the git history: the vault's status at a few sampled commits.

Each sample is ``veriwiki status --json`` run in its own process on a scratch worktree
of that commit (filled by veriwiki, not by a checkout, as the review gate's worktree;
the derived state is copied so the index and checks are incremental). A sample is
stored in ``.veriwiki/trends.json`` under its commit id and the veriwiki version, so it
is computed once; a caller bounds the new samples one call may compute (``budget``
seconds, at least one), so a long history is filled in over several calls.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
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
    stale_claims: int  # claims citing a source version that has changed since
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
    git = vault.git
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

    return f"2-{__version__}"


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


def measure(vault: Vault, commit: str, date: str, *, timeout: float = 1800) -> TrendPoint:
    """The status at ``commit``: ``veriwiki status --json`` run on a scratch worktree of it.

    The status runs in its own process: its memory (every page of the vault is loaded) is
    returned when it ends, a long-running server's threads are never forked, and it can be
    stopped after ``timeout`` seconds.
    """
    from veriwiki.services.proposals import _fill_worktree
    from veriwiki.vault import STATE_DIR

    git = vault.git
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
        cmd = [sys.executable, "-m", "veriwiki", "--vault", str(work), "status", "--json"]
        if vault.sandbox.trust:
            cmd.append("--trust")
        data, failed = _run_status(cmd, timeout)
    finally:
        git.execute(["worktree", "remove", "--force", str(work)])
        shutil.rmtree(work, ignore_errors=True)
        git.execute(["worktree", "prune"])
    if data is None:
        return TrendPoint(commit, date, 0, 0, 0, 0, 0, 0, 0, failed=failed)
    return point_from_json(data, commit, date)


def point_from_json(data: dict[str, Any], commit: str, date: str) -> TrendPoint:
    """The trend point ``veriwiki status --json`` output gives for ``commit``."""
    findings = _dict(data.get("findings"))
    by_rule = _dict(findings.get("by_rule"))
    overdue = data.get("stale_pages")
    return TrendPoint(commit, date, _int(data.get("pages")), _int(data.get("claims")),
                      _int(data.get("verified")), _int(by_rule.get("stale-claim")),
                      len(overdue) if isinstance(overdue, list) else 0,
                      _int(findings.get("error")), _int(findings.get("warning")))


_children: set[subprocess.Popen[bytes]] = set()


def _run_status(cmd: list[str], timeout: float) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON a status process prints, or None and why it failed."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _children.add(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, f"the status took longer than {timeout:g} s"
    finally:
        _children.discard(proc)
    try:
        data = json.loads(out)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        why = err.decode("utf-8", "replace").strip().splitlines()
        return None, (why[-1] if why else f"status exited {proc.returncode}")[:300]
    return data, None


@atexit.register
def _stop_children() -> None:
    for proc in list(_children):
        with contextlib.suppress(OSError):
            proc.kill()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def point_of(status: VaultStatus, commit: str, date: str) -> TrendPoint:
    """The trend point a status gives for ``commit``."""
    summary = status.report.summary()
    stale = sum(1 for f in status.report.findings if f.rule == "stale-claim")
    return TrendPoint(commit, date, status.pages, status.claims, status.verified, stale,
                      len(status.stale), int(summary["error"]), int(summary["warning"]))


def _is_clean(vault: Vault) -> bool:
    """True when the working tree holds exactly HEAD's files (derived state aside)."""
    out = vault.git.execute(["status", "--porcelain", "-z", "--untracked-files=all"])
    return out.returncode == 0 and not out.stdout.strip(b"\0")


def health_trend(vault: Vault, samples: int = DEFAULT_SAMPLES, *,
                 budget: float = 10.0, current: TrendPoint | None = None,
                 compute: bool = True) -> Trend:
    """The sampled health points; new samples are computed until ``budget`` seconds have
    passed (at least one per call when any is missing), newest first; none with
    ``compute=False`` (the cached ones and ``current`` only).

    ``current`` is the vault's health as it is on disk (:func:`point_of`,
    :func:`point_from_json`; its commit and date are filled in): when the working tree is
    clean it is HEAD's, and is taken for HEAD's sample instead of checking a worktree.
    """
    picks, total = sample_commits(vault, max(2, min(samples, 60)))
    cache = _read_cache(vault)
    start = time.monotonic()
    computed = False
    if picks and current is not None and picks[-1][0] not in cache and _is_clean(vault):
        commit, date = picks[-1]
        cache[commit] = asdict(replace(current, commit=commit, date=date))
        computed = True
    for commit, date in reversed(picks if compute else []):
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
