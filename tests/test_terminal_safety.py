"""Untrusted text never reaches the terminal as control characters.

A page or source can hold escape sequences (retitle the window, recolour or rewrite the
screen), C1 controls and carriage returns (hide a line). Human output shows them as
``\\xNN``; ``--json`` carries the exact text (JSON escapes).
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Git, Veriwiki

NASTY = "\x1b]0;pwned\x07\x1b[2J\u009b31m\rhidden\x7f"


def _clean(text: str) -> None:
    for ch in ("\x1b", "\x07", "\u009b", "\r", "\x7f"):
        assert ch not in text, repr(text)


def test_human_output_shows_control_characters_escaped(vault: Path, vw: Veriwiki,
                                                       git: Git, tmp_path: Path) -> None:
    page = vault / "wiki" / "Nasty.md"
    page.write_text(f"---\ntitle: Nasty\naliases: [\"A{NASTY}\"]\n---\n"
                    f"Body {NASTY} [[Missing {NASTY}]] text.\n\nSee [[Other]].\n")
    (vault / "wiki" / "Other.md").write_text("Links [[Nasty]] back.\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "nasty pages")
    src = tmp_path / "nasty.md"
    src.write_text(f"# Source\n\nA line with {NASTY} inside.\n")
    vw.ok("add", str(src), "--id", "nasty")
    for args in (("show", "Nasty"), ("search", "Body"), ("check",), ("links", "Nasty"),
                 ("backlinks", "Other"), ("source", "show", "nasty", "--text"), ("status",)):
        proc = vw(*args)
        assert proc.returncode in (0, 1), (args, proc.stderr)
        _clean(proc.stdout)
        _clean(proc.stderr)
    assert "\\x1b]0;pwned" in vw("show", "Nasty").stdout
    shown = vw.json("show", "Nasty")
    assert NASTY in shown["text"]  # --json is exact
    raw = vw("show", "Nasty", "--json").stdout
    _clean(raw)
    assert json.loads(raw)["text"] == shown["text"]
