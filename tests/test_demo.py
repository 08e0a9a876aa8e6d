"""The README's first command, ``bash scripts/demo.sh``, runs to the end.

It sets up (a no-op install when .venv is current), builds a demo vault, ingests a note
on the embedded model, reviews and approves it, and checks the vault. Slow: it runs the
real embedded model.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import make_env

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_demo_script_completes(tmp_path: Path) -> None:
    env = make_env(tmp_path / "home")
    target = tmp_path / "demo-vault"
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh"), str(target)],
                          capture_output=True, text=True, env=env, timeout=1800,
                          stdin=subprocess.DEVNULL)
    log = f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-6000:]}\n" \
          f"--- stderr ---\n{proc.stderr[-6000:]}"
    assert proc.returncode == 0, log
    assert "check exit code: 1" in proc.stdout, log
    assert "Illegal instruction" not in proc.stderr + proc.stdout, log
    assert (target / "wiki" / "RoPE Embedding.md").exists(), log
    subjects = subprocess.run(["git", "-C", str(target), "log", "--format=%s"],
                              capture_output=True, text=True, env=env, check=True).stdout
    assert "veriwiki: approve" in subjects, subjects
