"""Bounded work on hostile input: one bad page never takes down the vault.

Each hostile page is parsed in a subprocess that must finish under a generous cap (a
hang or a quadratic blow-up fails; the figure asserted is not a speed). A vault holding
all of them must still index, check, search, take a new page and move a page, with the
YAML bombs reported as invalid-frontmatter at their line and the ordinary page intact.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers_bad import assert_no_traceback, commit_all, init_vault, vw

CAP = 20.0  # seconds per parse in its own process: generous, guards against hangs only
CLI_CAP = 180.0  # per command on the whole hostile vault (2 shared cores)

ALIAS_BOMB = "---\n" + "a0: &a0 [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)) + "---\nbody\n"

HOSTILE: dict[str, str] = {
    "yaml-deep-flow": "---\ntitle: Deep\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nbody\n",
    "yaml-deep-block": "---\nx:\n" + "".join(" " * i + "- \n" for i in range(1, 300))
                       + "---\nbody\n",
    "yaml-alias-bomb": ALIAS_BOMB,
    "yaml-huge": "---\nx: " + "y" * 100_000 + "\n---\n",
    "yaml-long-key-line": "---\na" + " " * 60_000 + "\n---\n",
    "open-wikilinks": " [[" * 20_000,
    "open-embeds": " ![[" * 20_000,
    "open-citations": " [@a" * 20_000,
    "open-quoted-citations": ' [@a, "x' * 20_000,
    "open-fact-refs": " {{" * 20_000,
    "open-brackets": "[" * 60_000,
    "open-brackets-spaced": " [" * 30_000,
    "open-link-destinations": "[a](" * 15_000,
    "open-images": "![" * 30_000,
    "open-footnote-refs": " [^" * 20_000,
    "open-inline-footnotes": "^[" * 30_000,
    "brackets-then-one-close": "[" * 30_000 + "]",
    "nested-brackets": "[" * 20_000 + "a" + "]" * 20_000,
    "many-wikilinks-one-line": " [[Target]]" * 20_000,
    "many-links-one-line": " [t](Target.md)" * 15_000,
    "many-links-many-lines": "[[Target]]\n" * 20_000,
    "many-tags": " #t" * 30_000,
    "long-line": "word " * 200_000,
    "deep-list": "".join("  " * i + "- item\n" for i in range(3000)),
    "deep-quote": ">" * 20_000 + " x\n",
    "deep-list-one-line": "- " * 20_000 + "x\n",
    "many-fences": "```\n" * 20_000,
    "many-footnotes": "".join(f"x[^{i}]\n\n[^{i}]: note [[Target]]\n\n" for i in range(5000)),
    "huge-table": "|" + "a|" * 300 + "\n|" + "-|" * 300 + "\n"
                  + ("|" + "[[Target]]|" * 300 + "\n") * 300,
    "summary-brackets": "[" * 30_000 + "](",
    "obsidian-comments": "%% " * 30_000,
    "html-comments": "<!--" * 30_000,
    "emphasis": "*a _b " * 20_000,
    "backticks": "`a``" * 20_000,
    "citation-quotes": '[@a, "' + '\\"' * 30_000,
    "self-embed": "![[Self]] ![[Self#x]] ![[Self^b]]\n" * 1000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_parse_hostile_page_finishes_within_cap(name: str, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(HOSTILE[name], encoding="utf-8")
    code = ("import sys; from veriwiki.core.parse import parse_page; "
            "p = parse_page('wiki/P.md', open(sys.argv[1], encoding='utf-8').read()); "
            "print(len(p.links), p.frontmatter_error.line if p.frontmatter_error else 0)")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, str(page)], capture_output=True,
                          text=True, timeout=CAP)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < CAP
    links, error_line = map(int, proc.stdout.split())
    if name.startswith("yaml-"):
        assert error_line >= 2, f"{name} must be reported as invalid frontmatter"


def test_hostile_vault_every_command_completes(tmp_path: Path) -> None:
    v = init_vault(tmp_path)
    wiki = v / "wiki"
    (wiki / "Target.md").write_text("# Target\n\nAn ordinary page.\n")
    (wiki / "Self.md").write_text("# Self\n\n![[Self]] and ![[Loop]]\n")
    (wiki / "Loop.md").write_text("# Loop\n\n![[Self]]\n")
    for name, text in HOSTILE.items():
        (wiki / f"{name}.md").write_text(text, encoding="utf-8")
    commit_all(v, "user adds hostile pages")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        start = time.monotonic()
        proc = vw(v, *args, timeout=CLI_CAP)
        assert time.monotonic() - start < CLI_CAP
        assert_no_traceback(proc)
        return proc

    assert run("index").returncode == 0
    proc = run("check", "--json")
    assert proc.returncode in (0, 1), proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    bad_yaml = {f["path"]: f for f in findings if f["rule"] == "invalid-frontmatter"}
    for name in HOSTILE:
        if name.startswith("yaml-"):
            assert f"wiki/{name}.md" in bad_yaml, name
    assert bad_yaml["wiki/yaml-alias-bomb.md"]["line"] >= 3
    assert "alias" in bad_yaml["wiki/yaml-alias-bomb.md"]["message"]
    assert "deeper than" in bad_yaml["wiki/yaml-deep-flow.md"]["message"]
    index_db = v / ".veriwiki" / "index.db"
    assert index_db.stat().st_size < 100_000_000  # the bomb expanded to 303 MB before
    proc = run("search", "ordinary")
    assert proc.returncode == 0 and "Target" in proc.stdout
    assert run("new", "Fresh").returncode == 0
    proc = run("mv", "Target", "Renamed", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "wiki/many-links-many-lines.md" in json.loads(proc.stdout)["relinked"]
    assert "[[Renamed]]" in (wiki / "many-links-many-lines.md").read_text()
    assert run("show", "yaml-alias-bomb").returncode == 0


def test_search_repeated_and_many_terms_bounded_and_said(tmp_path: Path) -> None:
    v = init_vault(tmp_path)
    (v / "wiki" / "Alpha.md").write_text("# Alpha\n\nalpha beta gamma\n")
    commit_all(v, "page")
    for query in (" ".join(["alpha"] * 1000), " ".join(f"w{i}" for i in range(1000))):
        start = time.monotonic()
        proc = vw(v, "search", query, "--json", timeout=CLI_CAP)
        assert time.monotonic() - start < CLI_CAP
        assert proc.returncode == 0, proc.stderr
        assert "searched" in proc.stderr  # the note says what was left out
    proc = vw(v, "search", " ".join(["alpha"] * 1000), "--json")
    assert [h["path"] for h in json.loads(proc.stdout)] == ["wiki/Alpha.md"]
