"""Vaults and proposals for the web app's history, review and report tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from conftest import Git, Veriwiki

PAPER = ("The model was trained on 2 trillion tokens of data. It has a context length of "
         "4096 tokens.\nAttention is all you need.\nThe model was released in July 2023.\n")

MODEL_V1 = """---
title: Model
type: concept
---
# Model

- The model saw 2 trillion tokens [@paper, "trained on 2 trillion tokens of data"].
- Its context is 4096 tokens [@paper, "a context length of 4096 tokens"].
- It was released in 2023 [@paper, "released in July 2023"].
"""

# v2: one claim's number changed (now wrong), one removed, one wrong quote added
MODEL_V2 = """---
title: Model
type: concept
---
# Model

- The model saw 2 trillion tokens [@paper, "trained on 2 trillion tokens of data"].
- Its context is 8192 tokens [@paper, "a context length of 4096 tokens"].
- It is the best model ever [@paper, "the best model ever made"].
"""

# a proposal page: two claims on their own lines, one inside a paragraph
PROPOSED = """---
title: Attention
type: concept
---
# Attention

- Attention is all you need [@paper, "Attention is all you need"].
- The context is 4096 tokens [@paper, "a context length of 4096 tokens"].

Two sentences here. Training used 2 trillion tokens [@paper, "trained on 2 trillion tokens of data"].
"""

BAD_PROPOSAL = """---
title: Wrong
type: concept
---
# Wrong

- The model saw 9 trillion tokens [@paper, "this sentence is not in the paper"].
"""


def make_history_vault(vw: Veriwiki, git: Git, vault: Path) -> None:
    """A vault with source ``paper`` and ``wiki/Model.md`` in two committed versions
    (by two authors); links from the catalog keep the check quiet about orphans."""
    src = vault.parent / "paper.txt"
    src.write_text(PAPER, encoding="utf-8")
    vw.ok("add", str(src), "--id", "paper")
    page = vault / "wiki" / "Model.md"
    page.write_text(MODEL_V1, encoding="utf-8")
    git(vault, "add", "wiki/Model.md")
    git(vault, "commit", "-q", "-m", "Model: first version")
    page.write_text(MODEL_V2, encoding="utf-8")
    git(vault, "-c", "user.name=Second Author", "-c", "user.email=second@example.invalid",
        "commit", "-q", "-a", "-m", "Model: new context length",
        "--author", "Second Author <second@example.invalid>")


def make_proposal(vw: Veriwiki, vault: Path, ident: str, files: dict[str, str]) -> None:
    """Open proposal ``ident`` writing ``files`` (by plumbing: services.proposals.propose)."""
    script = ("import sys, ast; from veriwiki.vault import open_vault; "
              "from veriwiki.services.proposals import propose; "
              "v = open_vault(sys.argv[1]); "
              "files = {k: t.encode() for k, t in ast.literal_eval(sys.argv[2]).items()}; "
              "propose(v, 'ask', 'test proposal ' + sys.argv[3], files, {}, sys.argv[3])")
    proc = subprocess.run([sys.executable, "-c", script, str(vault), repr(files), ident],
                          env=vw.env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(vw: Veriwiki, vault: Path, *extra: str, wait: float = 90) -> Iterator[str]:
    """``veriwiki serve`` on a free loopback port as a subprocess; yields its base URL
    (``http://127.0.0.1:PORT``) once it answers, and stops that process afterwards."""
    import time
    import urllib.request

    from helpers_bad import veriwiki_exe

    port = free_port()
    log = vault.parent / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(veriwiki_exe()), "--vault", str(vault), "serve", "--host", "127.0.0.1",
             "--port", str(port), *extra], env=vw.env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                with urllib.request.urlopen(base + "/api/status", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("veriwiki serve did not start:\n"
                                     + log.read_text(errors="replace"))
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
