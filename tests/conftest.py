"""Shared fixtures: run the real ``veriwiki`` console script against real vaults.

Every CLI test goes through :class:`Veriwiki`, which runs the installed script in a
subprocess with a private HOME and a fixed git identity, so exit codes, output and
the files and commits left behind are exactly what a user would get.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers_bad import veriwiki_exe

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
}
_exe = veriwiki_exe


def make_env(home: Path) -> dict[str, str]:
    """Environment for veriwiki and git: private HOME, fixed identity, no outside vault."""
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for key in ("VERIWIKI_DEBUG", "VERIWIKI_VAULT", "GIT_DIR", "GIT_INDEX_FILE",
                "GIT_WORK_TREE"):
        env.pop(key, None)
    env.update(GIT_IDENTITY)
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1",
                "LC_ALL": "C.UTF-8"})
    return env


class Veriwiki:
    """Runs ``veriwiki --vault VAULT ARGS`` and returns the CompletedProcess."""

    def __init__(self, env: dict[str, str], vault: Path, timeout: float = 120) -> None:
        self.env = env
        self.vault = vault
        self.timeout = timeout

    def __call__(self, *args: str, vault: Path | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        target = vault if vault is not None else self.vault
        return subprocess.run(
            [str(_exe()), "--vault", str(target), *args], capture_output=True, text=True,
            encoding="utf-8", env=self.env, timeout=self.timeout, cwd=cwd or target.parent)

    def ok(self, *args: str, vault: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run and fail the test unless the command exits 0."""
        proc = self(*args, vault=vault)
        assert proc.returncode == 0, describe(proc)
        return proc

    def json(self, *args: str, code: int = 0, vault: Path | None = None) -> Any:
        """Run with ``--json`` appended; check the exit code and parse standard output."""
        proc = self(*args, "--json", vault=vault)
        assert proc.returncode == code, describe(proc)
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"stdout is not JSON ({exc})\n{describe(proc)}")


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    """The command, exit code and both streams, for assertion messages."""
    return (f"$ {' '.join(map(str, proc.args))}\nexit {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One private HOME and git identity for the whole session."""
    return make_env(tmp_path_factory.mktemp("home"))


@pytest.fixture
def vw(cli_env: dict[str, str], tmp_path: Path) -> Veriwiki:
    """The CLI runner; its default vault is ``<tmp>/v`` (created by the ``vault`` fixture)."""
    return Veriwiki(cli_env, tmp_path / "v")


@pytest.fixture
def vault(vw: Veriwiki) -> Path:
    """A fresh vault made by ``veriwiki init <tmp>/v``."""
    proc = vw("init", str(vw.vault))
    assert proc.returncode == 0, describe(proc)
    return vw.vault


class Git:
    """``git(repo, *args)`` runs git in ``repo`` with the test identity and returns stdout."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, repo: Path, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              env=self.env, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed:\n{proc.stderr}")
        return proc.stdout

    def subjects(self, repo: Path) -> list[str]:
        """Commit subjects reachable from HEAD, newest first."""
        return self(repo, "log", "--format=%s").splitlines()

    def head(self, repo: Path) -> str:
        """The commit HEAD points at."""
        return self(repo, "rev-parse", "HEAD").strip()

    def status(self, repo: Path) -> set[str]:
        """``git status --porcelain`` lines (untracked files listed one by one)."""
        return set(self(repo, "status", "--porcelain", "--untracked-files=all").splitlines())

    def touched(self, repo: Path, rev: str = "HEAD") -> set[str]:
        """Paths a commit changed, from ``git show --name-only`` (renames as add+delete)."""
        out = self(repo, "show", "--no-renames", "--name-only", "--format=", rev)
        return {line for line in out.splitlines() if line}

    def show(self, repo: Path, spec: str) -> str:
        """The committed text of ``rev:path``."""
        return self(repo, "show", spec)


@pytest.fixture(scope="session")
def git(cli_env: dict[str, str]) -> Git:
    """The git runner (same identity and HOME as the CLI)."""
    return Git(cli_env)


def write(root: Path, rel: str, text: str) -> Path:
    """Write a UTF-8 file below ``root`` (creating folders) and return its path."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def put() -> Callable[[Path, str, str], Path]:
    """``put(root, rel, text)``: write a UTF-8 file, creating its folders."""
    return write


@pytest.fixture(scope="session")
def vw_at(cli_env: dict[str, str]) -> Callable[[Path], Veriwiki]:
    """A runner for a vault at a given path (for module-scoped shared vaults)."""
    return lambda path: Veriwiki(cli_env, path)
