"""Git calls are safe on a repository someone else prepared.

The vault's ``.git`` is booby-trapped the way a shared or CI-checked-out repository could
be: every hook, ``core.fsmonitor``, filter and diff drivers selected by a committed
``.gitattributes`` (one driver name holds ``=`` and ``.``, which a ``-c`` option could
not override), an external diff, signing and a pager, each writing a canary file when
run. Every veriwiki command that calls git must leave no canary; a control at the end
shows plain git does run them, so the traps are live.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Git, Veriwiki, describe, write

HOOKS = ("post-checkout", "pre-commit", "commit-msg", "post-commit", "reference-transaction",
         "post-index-change", "pre-auto-gc", "post-rewrite", "pre-push")


def trap(vault: Path, canary: Path, git: Git) -> None:
    """Plant hooks, fsmonitor, drivers and programs that leave a file in ``canary``."""
    def cmd(name: str) -> str:
        return f"sh -c 'touch {canary}/{name}; cat' --"

    write(vault, ".gitattributes", "*.md filter=evil diff=evil\n*.txt filter=a=b.c\n")
    git(vault, "add", ".gitattributes")
    git(vault, "commit", "-qm", "attributes")
    hooks = vault / ".git" / "hooks"
    for hook in HOOKS:
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {canary}/hook-{hook}\n")
        (hooks / hook).chmod(0o755)
    settings = {
        "core.fsmonitor": f"sh -c 'touch {canary}/fsmonitor'",
        "filter.evil.clean": cmd("clean"), "filter.evil.smudge": cmd("smudge"),
        "filter.evil.process": f"sh -c 'touch {canary}/process'",
        "filter.a=b.c.clean": cmd("clean-odd-name"), "filter.a=b.c.smudge": cmd("smudge-odd"),
        "diff.evil.textconv": cmd("textconv"), "diff.evil.command": cmd("diff-command"),
        "diff.external": cmd("external-diff"), "core.pager": cmd("pager"),
        "commit.gpgSign": "true", "gpg.program": cmd("gpg"), "log.showSignature": "true",
        "core.sshCommand": cmd("ssh"), "submodule.recurse": "true",
    }
    for key, value in settings.items():
        git(vault, "config", key, value)
    assert os.listdir(canary) == []


def make_proposal(vw: Veriwiki, vault: Path, ident: str, files: dict[str, bytes]) -> None:
    script = ("import sys, ast; from veriwiki.vault import open_vault; "
              "from veriwiki.services.proposals import propose; "
              "propose(open_vault(sys.argv[1]), 'ask', 'x', ast.literal_eval(sys.argv[2]), {}, "
              "sys.argv[3])")
    proc = subprocess.run([sys.executable, "-c", script, str(vault), repr(files), ident],
                          env=vw.env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    folder = tmp_path / "canary"
    folder.mkdir()
    return folder


def test_no_git_call_runs_a_hook_filter_or_program_of_the_repository(
        vw: Veriwiki, vault: Path, git: Git, canary: Path, tmp_path: Path) -> None:
    write(vault, "wiki/Alpha.md", "# Alpha\n\nSee [[Beta]].\n")
    write(vault, "wiki/Beta.md", "# Beta\n\nBeta text.\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "pages")
    trap(vault, canary, git)
    source = write(tmp_path, "notes.txt", "Some notes about Beta.\n")
    base = git.head(vault)
    steps: list[tuple[str, ...]] = [
        ("new", "Gamma"), ("mv", "Beta", "Beta Two"), ("add", str(source)), ("catalog",),
        ("check", "--changed", base), ("history", "Alpha"), ("search", "Beta"),
        ("show", "Alpha"), ("rm", "Gamma"), ("revert", "Alpha", base, "--force"), ("status",),
    ]
    for args in steps:
        # a page edited by hand makes git compare working files (where filters run)
        (vault / "wiki" / "Alpha.md").write_text("# Alpha\n\nSee [[Beta Two]]. Edited.\n")
        os.utime(vault / "wiki" / "Alpha.md", (1_000_000_000, 1_000_000_000))
        proc = vw(*args)
        assert proc.returncode in (0, 1), describe(proc)
        assert sorted(os.listdir(canary)) == [], f"{args}: {sorted(os.listdir(canary))}"
    make_proposal(vw, vault, "p1", {"wiki/Delta.md": b"# Delta\n\nDelta text.\n"})
    for args in (("review",), ("review", "show", "p1"), ("review", "approve", "p1")):
        proc = vw(*args)
        assert proc.returncode == 0, describe(proc)
        assert sorted(os.listdir(canary)) == [], f"{args}: {sorted(os.listdir(canary))}"
    assert (vault / "wiki" / "Delta.md").read_text() == "# Delta\n\nDelta text.\n"
    assert git.subjects(vault)[0].startswith("veriwiki: approve")

    # control: plain git runs the traps, so the assertions above could fail
    subprocess.run(["git", "-C", str(vault), "diff", "HEAD"], env=git.env,
                   capture_output=True)
    subprocess.run(["git", "-C", str(vault), "-c", "filter.evil.process=", "worktree", "add",
                    "--detach", str(tmp_path / "wt"), "HEAD"], env=git.env, capture_output=True)
    fired = set(os.listdir(canary))
    assert {"fsmonitor", "process", "clean-odd-name", "hook-post-checkout",
            "hook-reference-transaction"} <= fired, fired


def test_every_git_process_is_started_by_gitrepo() -> None:
    """Only adapters/git.py starts git, so its safety settings apply to every call."""
    src = Path(__file__).resolve().parent.parent / "src" / "veriwiki"
    starts_git = re.compile(r"""\[\s*["']git["']""")
    offenders = [str(p.relative_to(src)) for p in sorted(src.rglob("*.py"))
                 if p.name != "git.py" and starts_git.search(p.read_text("utf-8"))]
    assert offenders == []


def test_git_settings_reach_git(vault: Path) -> None:
    """The settings are in force in git itself (hooks off, fsync on, drivers blanked)."""
    from veriwiki.adapters.git import GitRepo

    subprocess.run(["git", "-C", str(vault), "config", "filter.x=y.clean", "evil"],
                   check=True)
    repo = GitRepo(vault)

    def get(key: str) -> str:
        return repo.run("config", "--get", key, check=False).decode().strip()

    assert get("core.hooksPath") == "/dev/null" and get("core.fsmonitor") == "false"
    assert get("core.fsync") == "objects,reference,index"
    assert get("core.fsyncMethod") == "fsync" and get("protocol.allow") == "never"
    assert repo.run("config", "--get-all", "filter.x=y.clean").decode().splitlines() == [
        "evil", ""]


def test_git_older_than_2_31_is_refused(vw: Veriwiki, vault: Path, tmp_path: Path) -> None:
    """Older git ignores GIT_CONFIG_COUNT, so the safety settings would silently not apply."""
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                          env=vw.env).stdout.strip()
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\n[ "$1" = "--version" ] && echo "git version 2.30.2" '
                    f'&& exit 0\nexec {real} "$@"\n')
    fake.chmod(0o755)
    env = dict(vw.env, PATH=f"{fake.parent}{os.pathsep}{vw.env['PATH']}")
    before = subprocess.run(["git", "-C", str(vault), "rev-parse", "HEAD"], env=env,
                            capture_output=True, text=True).stdout
    proc = Veriwiki(env, vault)("new", "Page")
    assert proc.returncode == 2, describe(proc)
    assert "needs git 2.31 or later (found 2.30.2)" in proc.stderr
    after = subprocess.run(["git", "-C", str(vault), "rev-parse", "HEAD"], env=env,
                           capture_output=True, text=True).stdout
    assert after == before and not (vault / "wiki" / "Page.md").exists()
