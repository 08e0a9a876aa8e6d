"""Crash safety: ``kill -9`` at a random moment of a write operation leaves the vault,
its git history and the search index consistent.

Each run starts a real ``veriwiki`` write (``mv`` that rewrites ~30 pages, ``new``,
``rm --force``, ``revert``) and SIGKILLs its whole process group (veriwiki and the git
processes it runs) after a random delay between 0 and the operation's measured
duration. The next commands must then find the operation either done completely
(HEAD moved by one ``veriwiki: `` commit, working tree equal to HEAD) or not at all
(HEAD and every file unchanged), with no repair by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers_bad import (
    cli_env,
    commit_all,
    git,
    head,
    init_vault,
    snapshot,
    status,
    vw,
    vw_cmd,
    vw_ok,
)

SEED = 20240917
MARKER = "quokkafluster"  # a word only the moving page contains
N_LINKERS = 30
LOG_ENTRY = re.compile(r"^- \d{4}-\d\d-\d\d \d\d:\d\d \*\*(\w+)\*\* ", re.M)


def _build_vault(parent: Path) -> Path:
    """~30 pages that all link to Alpha (so ``mv Alpha`` rewrites them all), committed."""
    vault = init_vault(parent)
    wiki = vault / "wiki"
    (wiki / "Alpha.md").write_text(
        "---\ntitle: Alpha\naliases: [The First]\n---\n# Alpha\n\n"
        f"The {MARKER} lives here. See [[P00]].\n\n## Details\n\nSome detail. ^blk\n",
        encoding="utf-8")
    for i in range(N_LINKERS):
        nxt = f"P{(i + 1) % N_LINKERS:02d}"
        (wiki / f"P{i:02d}.md").write_text(
            f"---\ntitle: P{i:02d}\n---\n# P{i:02d}\n\n"
            f"Links [[Alpha]], [[Alpha|the alpha]], [[Alpha#Details]], [[Alpha#^blk]],\n"
            f"[alpha](Alpha.md) and [[{nxt}]].\n\n![[Alpha]]\n",
            encoding="utf-8")
    (wiki / "Notes.md").write_text("# Notes\n\nfirst version\n", encoding="utf-8")
    commit_all(vault, "user: pages")
    (wiki / "Notes.md").write_text("# Notes\n\nsecond version\n", encoding="utf-8")
    commit_all(vault, "user: notes v2")
    vw_ok(vault, "index")
    assert status(vault) == ""
    return vault


def _veriwiki_commits(vault: Path) -> int:
    return sum(1 for s in git(vault, "log", "--format=%s").splitlines()
               if s.startswith("veriwiki: "))


def _log_entries(vault: Path) -> int:
    return len(LOG_ENTRY.findall((vault / "wiki" / "log.md").read_text(encoding="utf-8")))


def _moving_page(vault: Path) -> str | None:
    """Alpha or Beta: the moving page's name on disk (None unless exactly one is there)."""
    present = [n for n in ("Alpha", "Beta") if (vault / "wiki" / f"{n}.md").exists()]
    return present[0] if len(present) == 1 else None


@dataclass
class Tally:
    """Where the kills landed."""

    sides: Counter[str] = field(default_factory=Counter)
    journal_left: int = 0
    problems: list[str] = field(default_factory=list)


def _kill_after(argv: list[str], delay: float) -> tuple[bool, int]:
    """Run ``argv``; SIGKILL its process group after ``delay`` s. Return (killed, rc)."""
    proc = subprocess.Popen(argv, env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + delay
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    killed = False
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
    rc = proc.wait(timeout=60)
    # Let any grandchild git process finish dying before we look at the repository.
    for _ in range(400):
        if not _group_alive(proc.pid):
            break
        time.sleep(0.005)
    return killed and rc == -signal.SIGKILL, rc


def _group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` is still running (zombies do not count)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _plan(vault: Path, rng: random.Random, state: dict[str, object]) -> tuple[str, list[str]]:
    """The next operation to interrupt, as (kind, args)."""
    kind = rng.choice(["mv", "mv", "mv", "new", "rm", "revert"])
    extras: list[str] = state["extras"]  # type: ignore[assignment]
    if kind == "rm" and not extras:
        kind = "new"
    if kind == "mv":
        in_head = git(vault, "ls-tree", "--name-only", "HEAD", "wiki/").split()
        cur = "Alpha" if "wiki/Alpha.md" in in_head else "Beta"
        return kind, ["mv", cur, "Beta" if cur == "Alpha" else "Alpha"]
    if kind == "new":
        state["n"] = int(state["n"]) + 1  # type: ignore[call-overload]
        return kind, ["new", f"Extra {state['n']}"]
    if kind == "rm":
        return kind, ["rm", "--force", rng.choice(sorted(extras))]
    return kind, ["revert", "Notes"]


def _timed_run(vault: Path, args: list[str]) -> tuple[float, float]:
    """Run a write to completion; return (seconds to the commit point, total seconds).

    The commit point is when the branch ref file changes (``update-ref``).
    """
    head_ref = (vault / ".git" / "HEAD").read_text().split(": ", 1)[1].strip()
    ref = vault / ".git" / head_ref
    old = ref.read_bytes()
    t0 = time.monotonic()
    proc = subprocess.Popen(vw_cmd(vault, *args), env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    t_commit = None
    while proc.poll() is None:
        if t_commit is None and ref.read_bytes() != old:
            t_commit = time.monotonic() - t0
        time.sleep(0.001)
    total = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return (t_commit if t_commit is not None else total), total


def _measure(vault: Path, state: dict[str, object]) -> dict[str, tuple[float, float]]:
    """Typical (commit point, duration) of each operation, from complete runs."""
    samples: dict[str, list[tuple[float, float]]] = {"mv": [], "new": [], "rm": [], "revert": []}
    for args in (["mv", "Alpha", "Beta"], ["mv", "Beta", "Alpha"], ["new", "Extra 0"],
                 ["rm", "--force", "Extra 0"], ["revert", "Notes"], ["revert", "Notes"],
                 ["mv", "Alpha", "Beta"], ["mv", "Beta", "Alpha"]):
        samples[args[0]].append(_timed_run(vault, args))
    state["n"] = 0
    return {k: (statistics.median(c for c, _ in v), statistics.median(d for _, d in v))
            for k, v in samples.items()}


def _expect_done(vault: Path, kind: str, args: list[str]) -> str | None:
    """Why the tree does not show ``args`` fully applied (None when it does)."""
    wiki = vault / "wiki"
    if kind == "mv":
        if not (wiki / f"{args[2]}.md").exists() or (wiki / f"{args[1]}.md").exists():
            return f"mv {args[1]} -> {args[2]} half-applied on disk"
    elif kind == "new":
        if not (wiki / f"{args[1]}.md").exists():
            return f"new {args[1]}: page missing after its commit"
    elif kind == "rm" and (wiki / f"{args[2]}.md").exists():
        return f"rm {args[2]}: page still on disk after its commit"
    return None


def _run_kills(vault: Path, runs: int, tally: Tally, *, user_files: dict[str, bytes],
               expected_status: str, head_blobs: dict[str, bytes | None]) -> None:
    rng = random.Random(SEED)
    state: dict[str, object] = {"extras": []}
    durations = _measure(vault, state)
    aim = {k: commit_at for k, (commit_at, _) in durations.items()}
    print("measured (commit point, duration):",
          {k: (round(c, 3), round(d, 3)) for k, (c, d) in durations.items()})
    for i in range(runs):
        kind, args = _plan(vault, rng, state)
        dur = durations[kind][1]
        # Even runs sample the whole operation uniformly. Odd runs aim at the commit
        # point, where HEAD moves and the journal is replayed into the working tree
        # (a few tens of ms): the aim starts at the measured commit point and steps
        # later after a kill that landed before it, earlier after one that landed past
        # the replay, so it keeps straddling that window despite timing noise.
        targeted = i % 2 == 1
        if targeted:
            delay = min(dur, max(0.0, aim[kind] + rng.uniform(-0.02, 0.02)))
        else:
            delay = rng.uniform(0, dur)
        before_head = head(vault)
        before_files = snapshot(vault)
        before_vw = _veriwiki_commits(vault)
        killed, rc = _kill_after(vw_cmd(vault, *args), delay)
        journal = (vault / ".veriwiki" / "journal.json").exists()
        tally.journal_left += journal
        where = f"run {i} ({' '.join(args)}, delay {delay:.3f}s, killed={killed}, rc={rc})"

        def problem(msg: str, where: str = where) -> None:
            tally.problems.append(f"{where}: {msg}")

        if not killed and rc != 0:
            problem(f"finished without being killed but exited {rc}")

        check = vw(vault, "check", "--json")
        if check.returncode == 2 or "Traceback" in check.stderr:
            problem(f"check after the kill exited {check.returncode}: {check.stderr.strip()}")
        else:
            findings = json.loads(check.stdout)["findings"]
            bad = [f for f in findings if f["rule"] in ("broken-link", "unreadable-file",
                                                         "invalid-frontmatter")]
            if bad:
                problem(f"check found a half-written vault: {bad[:3]}")

        now_head = head(vault)
        if now_head == before_head:
            side = "before"
            after_files = snapshot(vault)
            changed = sorted(p for p in set(after_files) | set(before_files)
                             if after_files.get(p) != before_files.get(p))
            if changed:
                problem(f"HEAD unchanged but files changed: {changed}")
        else:
            side = "after"
            parent = git(vault, "rev-parse", f"{now_head}^").strip()
            subject = git(vault, "log", "-1", "--format=%s").strip()
            if parent != before_head:
                problem("HEAD moved by more than one commit")
            if not subject.startswith(f"veriwiki: {kind} | "):
                problem(f"unexpected commit subject {subject!r}")
            if (why := _expect_done(vault, kind, args)) is not None:
                problem(why)
        tally.sides[side if killed else "completed"] += 1
        if targeted and killed and side == "before":
            aim[kind] += 0.015
        elif targeted and (not killed or (side == "after" and not journal)):
            aim[kind] -= 0.015

        st = status(vault)
        if st != expected_status:
            problem(f"git status after check is {st!r}, expected {expected_status!r}")
        fsck = subprocess.run(["git", "-C", str(vault), "fsck", "--no-dangling", "--no-progress"],
                              capture_output=True, text=True, env=cli_env())
        if fsck.returncode != 0:
            problem(f"git fsck failed: {fsck.stdout}{fsck.stderr}")
        if (vault / ".git" / "index.lock").exists():
            problem(".git/index.lock left behind")
        if _log_entries(vault) != _veriwiki_commits(vault):
            problem(f"log.md has {_log_entries(vault)} entries for "
                    f"{_veriwiki_commits(vault)} veriwiki commits")

        name = _moving_page(vault)
        on_disk = sorted(p.name for p in (vault / "wiki").glob("*.md")
                         if p.stem in ("Alpha", "Beta"))
        in_head = git(vault, "ls-tree", "--name-only", "HEAD", "wiki/").split()
        search = vw(vault, "search", MARKER, "--json")
        paths = [h["path"] for h in json.loads(search.stdout)] if search.returncode == 0 else None
        if name is None:
            problem(f"the moving page is on disk as {on_disk} (expected exactly one)")
        elif f"wiki/{name}.md" not in in_head:
            problem(f"wiki/{name}.md is on disk but HEAD has "
                    f"{[p for p in in_head if p[5:-3] in ('Alpha', 'Beta')]}")
        if name is None or paths != [f"wiki/{name}.md"]:
            problem(f"search {MARKER} gave {paths}; on disk: {on_disk}")

        for rel, data in user_files.items():
            if (vault / rel).read_bytes() != data:
                problem(f"user's uncommitted {rel} changed")
        for rel, blob in head_blobs.items():
            got = subprocess.run(["git", "-C", str(vault), "show", f"HEAD:{rel}"],
                                 capture_output=True, env=cli_env())
            if (got.stdout if got.returncode == 0 else None) != blob:
                problem(f"user's edit to {rel} was committed or its committed text changed")

        # The next write works with no repair and is exactly one more commit.
        probe_head = head(vault)
        probe = vw(vault, "new", f"Probe {i}")
        if probe.returncode != 0:
            problem(f"next write failed: {probe.stderr.strip()}")
        else:
            if git(vault, "rev-parse", "HEAD^").strip() != probe_head:
                problem("next write did not add exactly one commit")
            if status(vault) != expected_status:
                problem(f"git status after the next write is {status(vault)!r}")
            if (vault / ".veriwiki" / "journal.json").exists():
                problem("journal still present after the next write")
            if (why := _expect_done(vault, kind, args)) is not None and side == "after":
                problem(f"after recovery: {why}")
        if _veriwiki_commits(vault) - before_vw not in (1, 2):
            problem("commit count is off")
        extras = [p.name[:-3] for p in (vault / "wiki").glob("Extra *.md")]
        state["extras"] = extras


def _report(tally: Tally, runs: int) -> None:
    print(f"kills landing before the commit point: {tally.sides['before']}, "
          f"after it: {tally.sides['after']}, op finished before the kill: "
          f"{tally.sides['completed']} (of {runs}); journal left by a kill: "
          f"{tally.journal_left}")
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.sides["before"] >= 1, "no kill landed before the commit point"
    assert tally.sides["after"] >= 1, "no kill landed after the commit point"


@pytest.mark.slow
def test_store_kill9_random_points_leaves_vault_consistent(tmp_path: Path) -> None:
    vault = _build_vault(tmp_path)
    tally = Tally()
    runs = 30

    _run_kills(vault, runs, tally, user_files={}, expected_status="", head_blobs={})

    _report(tally, runs)


@pytest.mark.slow
def test_store_kill9_keeps_uncommitted_user_edit(tmp_path: Path) -> None:
    vault = _build_vault(tmp_path)
    scratch = vault / "wiki" / "Scratch.md"
    scratch.write_text("# Scratch\n\ncommitted text\n", encoding="utf-8")
    commit_all(vault, "user: scratch")
    committed = scratch.read_bytes()
    scratch.write_text("# Scratch\n\ncommitted text\n\nMY UNSAVED THOUGHTS\n", encoding="utf-8")
    draft = vault / "drafts" / "idea.txt"
    draft.parent.mkdir()
    draft.write_bytes(b"untracked draft\n")
    expected = " M wiki/Scratch.md\n?? drafts/idea.txt\n"
    assert status(vault) == expected
    tally = Tally()
    runs = 20

    _run_kills(vault, runs, tally,
               user_files={"wiki/Scratch.md": scratch.read_bytes(),
                           "drafts/idea.txt": draft.read_bytes()},
               expected_status=expected,
               head_blobs={"wiki/Scratch.md": committed, "drafts/idea.txt": None})

    _report(tally, runs)
