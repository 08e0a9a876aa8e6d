"""Shared helpers for golden-fixture tests that drive the real CLI on a copied vault."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from helpers_bad import GIT_IDENTITY, veriwiki_exe


def run_cli(args: list[str], vault: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``veriwiki --vault VAULT ARGS`` (the console script beside this Python)."""
    return subprocess.run([str(veriwiki_exe()), "--vault", str(vault), *args],
                          capture_output=True, text=True,
                          env=dict(os.environ, **GIT_IDENTITY, **env), timeout=300)


def fixture_vault(fixture: Path, dest: Path, **env: str) -> Path:
    """Copy ``fixture`` to ``dest`` as a committed git vault and add its ``sources/``."""
    shutil.copytree(fixture, dest, ignore=shutil.ignore_patterns(
        "expected.json", "sources", "sources-v2", "README.md"))
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(dest), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "fixture"], check=True)
    sources = fixture / "sources"
    for src in sorted(sources.iterdir()) if sources.is_dir() else []:
        proc = run_cli(["add", str(src)], dest, **env)
        assert proc.returncode == 0, proc.stderr
    return dest


def golden_diff(findings: list[dict[str, Any]], expected: Path) -> tuple[Counter[Any], ...]:
    """(missed, invented) between findings and the fixture's expected.json."""
    import json

    got = Counter((f["rule"], f["path"], f["line"]) for f in findings)
    want = Counter((e["rule"], e["path"], e["line"])
                   for e in json.loads(expected.read_text("utf-8")))
    return want - got, got - want


def working_copy(built: Path, dest: Path, today: str, monkeypatch: Any) -> Path:
    """A copy of the module's ``built`` vault at ``dest`` for one test, with the test's
    date set and no vault or debug setting leaking in from the environment."""
    shutil.copytree(built, dest, symlinks=True)
    monkeypatch.setenv("VERIWIKI_TODAY", today)
    for key in ("VERIWIKI_VAULT", "VERIWIKI_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    return dest
