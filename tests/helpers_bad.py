"""Shared helpers for the bad-input, crash-safety and concurrency tests.

Everything runs the real ``veriwiki`` console script in a subprocess against a real
git repository on disk, so exit codes, stderr and the files left behind are exactly
what a user would get.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def veriwiki_exe() -> Path:
    """The installed console script next to the running interpreter."""
    exe = Path(sys.executable).parent / "veriwiki"
    if not exe.exists():
        pytest.fail(f"console script not found at {exe}; install the package (pip install -e .)")
    return exe


def cli_env() -> dict[str, str]:
    """Environment for veriwiki and git: no debug tracebacks, no vault from outside."""
    env = dict(os.environ)
    env.update(GIT_IDENTITY)
    for key in ("VERIWIKI_DEBUG", "VERIWIKI_VAULT", "VERIWIKI_LOCK_TIMEOUT", "GIT_DIR",
                "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        env.pop(key, None)
    env["NO_COLOR"] = "1"
    return env


def vw_cmd(vault: Path, *args: str) -> list[str]:
    """The argv of ``veriwiki --vault VAULT ARGS``."""
    return [str(veriwiki_exe()), "--vault", str(vault), *args]


def vw(vault: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run veriwiki on ``vault`` and capture its output as text."""
    return subprocess.run(vw_cmd(vault, *args), capture_output=True, text=True,
                          encoding="utf-8", errors="replace", env=cli_env(), timeout=timeout,
                          cwd=vault.parent)


def vw_ok(vault: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run veriwiki and fail the test unless it exits 0."""
    proc = vw(vault, *args)
    assert proc.returncode == 0, (
        f"veriwiki {' '.join(args)} exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    return proc


def git(vault: Path, *args: str, check: bool = True) -> str:
    """Run git in ``vault`` and return its standard output."""
    proc = subprocess.run(["git", "-C", str(vault), *args], capture_output=True, text=True,
                          env=cli_env(), timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def head(vault: Path) -> str:
    """The commit HEAD points at."""
    return git(vault, "rev-parse", "HEAD").strip()


def commit_count(vault: Path) -> int:
    """Number of commits reachable from HEAD."""
    return int(git(vault, "rev-list", "--count", "HEAD").strip())


def status(vault: Path) -> str:
    """``git status --porcelain`` including untracked files."""
    return git(vault, "status", "--porcelain", "--untracked-files=all")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (outside .git and .veriwiki) with its bytes.

    Symlinks are recorded by their target, not followed.
    """
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", ".veriwiki"))
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                out[rel] = b"symlink->" + os.readlink(full).encode()
            else:
                out[rel] = full.read_bytes()
    return out


def init_vault(parent: Path, name: str = "vault") -> Path:
    """A fresh vault made by ``veriwiki init`` (one commit, clean tree)."""
    vault = parent / name
    proc = subprocess.run([str(veriwiki_exe()), "init", str(vault)], capture_output=True,
                          text=True, env=cli_env(), timeout=120, cwd=parent)
    assert proc.returncode == 0, proc.stderr
    assert status(vault) == ""
    return vault


def commit_all(vault: Path, message: str) -> None:
    """Commit everything in the working tree as the user would."""
    git(vault, "add", "-A")
    git(vault, "commit", "-q", "-m", message)


def set_vault_option(vault: Path, line: str) -> None:
    """Add ``line`` to the [vault] table of veriwiki.toml."""
    toml = vault / "veriwiki.toml"
    text = toml.read_text(encoding="utf-8")
    assert "[vault]\n" in text
    toml.write_text(text.replace("[vault]\n", f"[vault]\n{line}\n", 1), encoding="utf-8")


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    """A user-facing failure must never show a Python traceback or an internal error."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    assert "internal error" not in proc.stderr, proc.stderr
