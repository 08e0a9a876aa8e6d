"""The catalog (index.md) and the log are written by veriwiki: their lines are listings,
not statements, so a number in a listed summary or a log entry is never an
``uncited-claim``, whatever type the page falls under."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import Veriwiki


def _commit_all(vault: Path, env: dict[str, str], message: str) -> None:
    for args in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=vault, env=env, check=True)


def test_numbers_in_the_catalog_and_log_are_not_uncited_claims(vw: Veriwiki,
                                                                vault: Path) -> None:
    toml = vault / "veriwiki.toml"
    text = toml.read_text(encoding="utf-8")
    assert "[vault]" in text
    toml.write_text(text.replace("[vault]", '[vault]\ndefault_type = "synthesis"', 1),
                    encoding="utf-8")
    page = vault / "wiki" / "Scaling.md"
    page.write_text("---\ntitle: Scaling\ntype: synthesis\n"
                    "summary: The model was trained on 300B tokens.\n---\n"
                    "# Scaling\n\nThe model was trained on 300B tokens.\n", encoding="utf-8")
    _commit_all(vault, vw.env, "hand-written page")
    vw.ok("new", "Run 42 used 8 GPUs")  # renders the catalog anew; logs a number too
    catalog = (vault / "wiki" / "index.md").read_text(encoding="utf-8")
    assert "300B tokens" in catalog
    assert "8 GPUs" in (vault / "wiki" / "log.md").read_text(encoding="utf-8")
    report = vw.json("check")
    findings = report["findings"] if isinstance(report, dict) else report
    uncited = [f for f in findings if f["rule"] == "uncited-claim"]
    # the page itself states the number without a citation: reported there
    assert any(f["path"] == "wiki/Scaling.md" and "300B" in f["message"] for f in uncited)
    assert not [f for f in uncited if f["path"] in ("wiki/index.md", "wiki/log.md")], uncited


def test_the_index_reads_the_catalog_and_log_as_listings(vw: Veriwiki, vault: Path) -> None:
    """No uncited sentences are looked for in them (what a write operation re-indexes
    every time); any other page with the same text still has its sentences."""
    from veriwiki.core.parse import parse_page
    from veriwiki.vault import open_vault

    page = vault / "wiki" / "Scaling.md"
    page.write_text("---\ntitle: Scaling\nsummary: Trained on 300B tokens.\n---\n"
                    "# Scaling\n\nTrained on 300B tokens.\n", encoding="utf-8")
    _commit_all(vault, vw.env, "hand-written page")
    vw.ok("new", "Run 42 used 8 GPUs")
    v = open_vault(vault)
    try:
        v.index.update()
        stored = {p.path: p for p in v.index.load_pages()}
        for path in ("wiki/index.md", "wiki/log.md"):
            text = (vault / path).read_text(encoding="utf-8")
            assert parse_page(path, text).uncited  # read as a page, it has some
            assert stored[path].uncited == ()
            assert stored[path].links == parse_page(path, text).links
        assert stored["wiki/Scaling.md"].uncited
    finally:
        v.close()
