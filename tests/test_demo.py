"""The README's first command, ``bash scripts/demo.sh``, runs to the end.

It sets up (a no-op install when .venv is current), builds a demo vault, ingests a note
on the embedded model, reviews and approves it, and checks the vault. Slow: it runs the
real embedded model.
"""

from __future__ import annotations

import re
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
    # extractive ingest added verified claims to existing pages and made a sensible new page
    out = proc.stdout
    assert re.search(r"ingest-gqa-note-v1: ([1-9]\d*) verified claims quoted", out), log
    assert "touched wiki/Grouped-Query Attention.md" in out, log
    assert "new page wiki/Multi-query attention.md" in out, log
    assert re.search(r"\+ wiki/Grouped-Query Attention\.md:\d+ ", out), log   # review show
    assert re.search(r"\+ wiki/Multi-query attention\.md:\d+ MQA was proposed", out), log
    assert "extractive: took" in out and "skipped (" in out, log
    gqa = (target / "wiki" / "Grouped-Query Attention.md").read_text()
    assert '[@gqa-note, "Uptraining the converted model uses about 5%' in gqa, gqa
    mqa = (target / "wiki" / "Multi-query attention.md").read_text()
    assert "aliases: [MQA]" in mqa and mqa.count("[@gqa-note, ") >= 2, mqa
    # the planted errors are the only errors: every claim ingest wrote verifies
    assert "wiki/Multi-query attention.md" not in out.split("$ veriwiki check", 1)[1].split(
        "check exit code", 1)[0], log
    # ask answers on the embedded model: verified sentences, or the extracted fallback
    after_ask = out.split('$ veriwiki ask "How much compute', 1)[1]
    assert "sentences verified" in after_ask or "Extracted" in after_ask, log
    if "Extracted" in after_ask:    # the fallback quotes the sentence that answers
        assert "5% of the original pre-training compute" in after_ask, log
