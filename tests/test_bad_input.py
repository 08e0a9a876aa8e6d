"""Bad input: every kind gets a clear message (file, line, what to do), no traceback,
the documented exit code, and nothing lost (file bytes and git state unchanged).

Runs the real ``veriwiki`` console script against real git repositories.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from helpers_bad import (
    assert_no_traceback,
    cli_env,
    commit_all,
    commit_count,
    git,
    head,
    init_vault,
    set_vault_option,
    snapshot,
    status,
    veriwiki_exe,
    vw,
    vw_ok,
)

# Line 3 holds a latin-1 "é" (0xe9), which is not valid UTF-8.
LATIN1_PAGE = b"---\ntitle: Cafe\n---\ncaf\xe9 au lait\n"
LATIN1_PAGE_LINE3 = b"# Cafe\n\ncaf\xe9 au lait on line three\n\nmore text\n"
BINARY_PAGE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
# "summary: a: b" has a second ': ' at column 11 of line 3 -> YAML error there.
BAD_YAML_PAGE = b"---\ntitle: Broken\nsummary: a: b\n---\n# Broken\n\nbody\n"


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """A fresh vault with one ordinary page, everything committed."""
    v = init_vault(tmp_path)
    vw_ok(v, "new", "Paris")
    assert status(v) == ""
    return v


def _add_committed(vault: Path, rel: str, data: bytes) -> Path:
    path = vault / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    commit_all(vault, f"user adds {rel}")
    return path


def _check_json(vault: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = vw(vault, "check", "--json")
    assert_no_traceback(proc)
    try:
        payload = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"check --json printed no JSON (exit {proc.returncode}):\n"
                    f"{proc.stdout}\n{proc.stderr}")
    return proc, payload


def _findings(payload: dict[str, Any], rule: str, path: str) -> list[dict[str, Any]]:
    return [f for f in payload["findings"] if f["rule"] == rule and f["path"] == path]


class _Unchanged:
    """Records the vault's files, HEAD and git status; asserts none of them moved."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self.files = snapshot(vault)
        self.head = head(vault)
        self.status = status(vault)

    def assert_same(self) -> None:
        assert head(self.vault) == self.head, "a commit was made"
        assert status(self.vault) == self.status, "git status changed"
        after = snapshot(self.vault)
        assert sorted(after) == sorted(self.files), "files were created or deleted"
        changed = [p for p in after if after[p] != self.files[p]]
        assert changed == [], f"file bytes changed: {changed}"


# -- unreadable pages reported by check ----------------------------------------------------


def test_check_non_utf8_page_reports_file_and_line(vault: Path) -> None:
    _add_committed(vault, "wiki/Cafe.md", LATIN1_PAGE_LINE3)
    before = _Unchanged(vault)

    proc, payload = _check_json(vault)

    assert proc.returncode == 1
    found = _findings(payload, "unreadable-file", "wiki/Cafe.md")
    assert len(found) == 1, payload["findings"]
    assert found[0]["severity"] == "error"
    assert found[0]["line"] == 3
    assert "UTF-8" in found[0]["message"]
    assert "re-save" in found[0]["message"].lower() or "save it as utf-8" in (
        found[0]["message"] + found[0].get("hint", "")).lower()
    before.assert_same()


def test_check_non_utf8_page_human_output_names_file_and_line(vault: Path) -> None:
    _add_committed(vault, "wiki/Cafe.md", LATIN1_PAGE_LINE3)
    before = _Unchanged(vault)

    proc = vw(vault, "check")

    assert_no_traceback(proc)
    assert proc.returncode == 1
    assert "wiki/Cafe.md" in proc.stdout
    assert "unreadable-file" in proc.stdout
    lines = [ln for ln in proc.stdout.splitlines() if "unreadable-file" in ln]
    assert lines and lines[0].split()[0] == "3", proc.stdout
    before.assert_same()


def test_check_binary_page_reported_not_parsed(vault: Path) -> None:
    _add_committed(vault, "wiki/Image.md", BINARY_PAGE)
    before = _Unchanged(vault)

    proc, payload = _check_json(vault)

    assert proc.returncode == 1
    found = _findings(payload, "unreadable-file", "wiki/Image.md")
    assert len(found) == 1, payload["findings"]
    message = found[0]["message"]
    assert "binary" in message
    assert "move it" in message or "rename" in message
    # No other rule may have parsed the binary file as a page.
    others = [f for f in payload["findings"]
              if f["path"] == "wiki/Image.md" and f["rule"] != "unreadable-file"]
    assert others == []
    before.assert_same()


def test_check_page_over_size_limit_reported(vault: Path) -> None:
    set_vault_option(vault, "max_page_bytes = 1000")
    big = b"---\ntitle: Big\n---\n" + b"lorem ipsum " * 200
    assert len(big) > 1000
    (vault / "wiki" / "Big.md").write_bytes(big)
    commit_all(vault, "user adds a big page and a size limit")
    before = _Unchanged(vault)

    proc, payload = _check_json(vault)

    assert proc.returncode == 1
    found = _findings(payload, "unreadable-file", "wiki/Big.md")
    assert len(found) == 1, payload["findings"]
    message = found[0]["message"]
    assert f"{len(big):,}" in message or str(len(big)) in message
    assert "1,000" in message or "1000" in message
    assert "max_page_bytes" in message
    # The small page is still read normally.
    assert _findings(payload, "unreadable-file", "wiki/Paris.md") == []
    before.assert_same()


def test_check_malformed_frontmatter_reports_line_and_column(vault: Path) -> None:
    _add_committed(vault, "wiki/Broken.md", BAD_YAML_PAGE)
    before = _Unchanged(vault)

    proc, payload = _check_json(vault)

    assert proc.returncode == 1
    found = _findings(payload, "invalid-frontmatter", "wiki/Broken.md")
    assert len(found) == 1, payload["findings"]
    assert found[0]["line"] == 3
    assert found[0]["column"] == 11
    assert "YAML" in found[0]["message"]
    assert "hint" in found[0] and "quote" in found[0]["hint"]
    human = vw(vault, "check")
    assert_no_traceback(human)
    assert any(ln.split()[0] == "3:11" for ln in human.stdout.splitlines()
               if "invalid-frontmatter" in ln), human.stdout
    before.assert_same()


def test_check_symlink_outside_vault_not_read(vault: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.md"
    secret.write_bytes(b"# Secret\n\nzanzibarsecretword\n")
    (vault / "wiki" / "Leak.md").symlink_to(secret)
    commit_all(vault, "user adds a symlink")
    before = _Unchanged(vault)
    secret_before = secret.read_bytes()

    proc, payload = _check_json(vault)

    assert proc.returncode == 1
    found = _findings(payload, "unreadable-file", "wiki/Leak.md")
    assert len(found) == 1, payload["findings"]
    assert "outside the vault" in found[0]["message"]
    assert "copy" in found[0]["message"] or "remove" in found[0]["message"]
    search = vw(vault, "search", "zanzibarsecretword", "--json")
    assert_no_traceback(search)
    assert search.returncode == 0
    assert json.loads(search.stdout) == [], "the outside file was read into the index"
    assert secret.read_bytes() == secret_before
    assert (vault / "wiki" / "Leak.md").is_symlink()
    before.assert_same()


def test_check_unreadable_pages_other_pages_still_checked(vault: Path) -> None:
    _add_committed(vault, "wiki/Cafe.md", LATIN1_PAGE)
    _add_committed(vault, "wiki/Links.md", b"# Links\n\n[[Paris]] and [[Nowhere]]\n")

    proc, payload = _check_json(vault)

    assert proc.returncode == 1
    broken = _findings(payload, "broken-link", "wiki/Links.md")
    assert [f["line"] for f in broken] == [3]


# -- show on unreadable pages ------------------------------------------------------------


@pytest.mark.parametrize("name", ["Cafe", "wiki/Cafe.md"])
def test_show_non_utf8_page_exits_2_with_line(vault: Path, name: str) -> None:
    _add_committed(vault, "wiki/Cafe.md", LATIN1_PAGE_LINE3)
    before = _Unchanged(vault)

    proc = vw(vault, "show", name)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "wiki/Cafe.md:3" in proc.stderr or (
        "wiki/Cafe.md" in proc.stderr and "line 3" in proc.stderr), proc.stderr
    assert "UTF-8" in proc.stderr
    before.assert_same()


@pytest.mark.parametrize(("rel", "data", "words"), [
    ("wiki/Image.md", BINARY_PAGE, "binary"),
    ("wiki/Big.md", b"# Big\n\n" + b"x" * 2000 + b"\n", "limit"),
], ids=["binary", "too-large"])
def test_show_unreadable_page_exits_2_with_reason(vault: Path, rel: str, data: bytes,
                                                   words: str) -> None:
    set_vault_option(vault, "max_page_bytes = 1000")
    _add_committed(vault, rel, data)
    before = _Unchanged(vault)

    proc = vw(vault, "show", rel)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert rel in proc.stderr
    assert words in proc.stderr, proc.stderr
    before.assert_same()


def test_show_symlink_outside_vault_refused(vault: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.md"
    secret.write_bytes(b"# Secret\n\nzanzibarsecretword\n")
    (vault / "wiki" / "Leak.md").symlink_to(secret)
    commit_all(vault, "user adds a symlink")
    before = _Unchanged(vault)

    proc = vw(vault, "show", "wiki/Leak.md")

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "zanzibarsecretword" not in proc.stdout + proc.stderr
    assert "wiki/Leak.md" in proc.stderr
    assert "outside the vault" in proc.stderr, proc.stderr
    before.assert_same()


# -- writes with unreadable pages around ---------------------------------------------------


def test_new_with_unreadable_pages_present_keeps_them(vault: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside.md"
    secret.write_bytes(b"outside\n")
    bad = {
        "wiki/Cafe.md": LATIN1_PAGE,
        "wiki/Image.md": BINARY_PAGE,
        "wiki/Broken.md": BAD_YAML_PAGE,
    }
    for rel, data in bad.items():
        (vault / rel).write_bytes(data)
    (vault / "wiki" / "Leak.md").symlink_to(secret)
    commit_all(vault, "user adds awkward files")
    start = head(vault)

    proc = vw(vault, "new", "Fresh")

    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert git_parent(vault) == start
    for rel, data in bad.items():
        assert (vault / rel).read_bytes() == data, rel
    assert (vault / "wiki" / "Leak.md").is_symlink()
    assert secret.read_bytes() == b"outside\n"
    assert status(vault) == ""


def git_parent(vault: Path) -> str:
    """The parent of HEAD."""
    return git(vault, "rev-parse", "HEAD^").strip()


# -- names that try to leave the vault -------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape", "../../escape", "wiki/../../escape",
                                  "a/../../escape"])
def test_new_relative_escape_refused(vault: Path, tmp_path: Path, name: str) -> None:
    before = _Unchanged(vault)
    outside_before = sorted(p.name for p in tmp_path.iterdir())

    proc = vw(vault, "new", name)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert name in proc.stderr
    assert "hint:" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    assert not list(tmp_path.rglob("escape.md"))
    before.assert_same()


def test_new_absolute_path_refused(vault: Path, tmp_path: Path) -> None:
    name = f"/tmp/vw-abs-{uuid.uuid4().hex[:8]}"
    before = _Unchanged(vault)

    proc = vw(vault, "new", name)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "absolute" in proc.stderr
    assert name in proc.stderr
    assert not Path(name + ".md").exists()
    assert not Path(name).exists()
    before.assert_same()


@pytest.mark.parametrize("target", ["../../out", "../out", "/tmp/vw-out-abs"])
def test_mv_escape_refused(vault: Path, tmp_path: Path, target: str) -> None:
    before = _Unchanged(vault)
    outside_before = sorted(p.name for p in tmp_path.iterdir())

    proc = vw(vault, "mv", "Paris", target)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert target in proc.stderr
    assert "hint:" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    assert not list(tmp_path.rglob("out.md"))
    assert not Path("/tmp/vw-out-abs.md").exists()
    assert (vault / "wiki" / "Paris.md").exists()
    before.assert_same()


# -- look-alike titles -----------------------------------------------------------------------


@pytest.mark.parametrize("lookalike", [
    "P\u0430ris",   # Cyrillic small a
    "\u0420aris",   # Cyrillic capital Er
    "P\u03b1ris",   # Greek small alpha
], ids=["cyrillic-a", "cyrillic-er", "greek-alpha"])
def test_new_lookalike_title_refused_names_existing(vault: Path, lookalike: str) -> None:
    before = _Unchanged(vault)

    proc = vw(vault, "new", lookalike)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "'Paris'" in proc.stderr
    assert "wiki/Paris.md" in proc.stderr
    assert "--force" in proc.stderr
    assert not (vault / "wiki" / f"{lookalike}.md").exists()
    before.assert_same()


def test_new_lookalike_title_force_creates_page(vault: Path) -> None:
    lookalike = "P\u0430ris"
    start = head(vault)
    count = commit_count(vault)

    proc = vw(vault, "new", lookalike, "--force")

    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert (vault / "wiki" / f"{lookalike}.md").read_text(encoding="utf-8").count(lookalike) >= 1
    assert (vault / "wiki" / "Paris.md").exists()
    assert commit_count(vault) == count + 1
    assert head(vault) != start
    assert status(vault) == ""


def test_new_invisible_character_title_refused(vault: Path) -> None:
    before = _Unchanged(vault)

    proc = vw(vault, "new", "Pa\u200bris")

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "invisible" in proc.stderr
    before.assert_same()


# -- not a vault -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("check",), ("check", "--json"), ("new", "X"), ("search", "x")])
def test_uninitialised_directory_says_run_init(tmp_path: Path, args: tuple[str, ...]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    proc = vw(empty, *args)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "veriwiki init" in proc.stderr
    assert str(empty) in proc.stderr
    assert proc.stdout == ""
    assert list(empty.iterdir()) == [], "veriwiki wrote into a directory that is not a vault"


def test_uninitialised_cwd_says_run_init(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([str(veriwiki_exe()), "check"], capture_output=True, text=True,
                          env=cli_env(), cwd=empty, timeout=60)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "veriwiki init" in proc.stderr
    assert list(empty.iterdir()) == []


# -- invalid veriwiki.toml --------------------------------------------------------------------


def _break_toml(vault: Path, old: str, new: str) -> int:
    toml = vault / "veriwiki.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    toml.write_text(text, encoding="utf-8")
    commit_all(vault, "user edits settings")
    return text[: text.index(new)].count("\n") + 1


@pytest.mark.parametrize("args", [("check",), ("new", "Rome"), ("search", "paris")])
def test_config_toml_syntax_error_names_file_and_line(vault: Path, args: tuple[str, ...]) -> None:
    line = _break_toml(vault, "[checks]", "[checks")
    before = _Unchanged(vault)

    proc = vw(vault, *args)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "veriwiki.toml" in proc.stderr
    assert f"line {line}" in proc.stderr or f"veriwiki.toml:{line}" in proc.stderr, proc.stderr
    assert not (vault / "wiki" / "Rome.md").exists()
    before.assert_same()


def test_config_unknown_severity_names_option(vault: Path) -> None:
    _break_toml(vault, '# orphan-page = "off"', 'orphan-page = "loud"')
    before = _Unchanged(vault)

    proc = vw(vault, "check")

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "veriwiki.toml" in proc.stderr
    assert "orphan-page" in proc.stderr
    assert "'error'" in proc.stderr and "'off'" in proc.stderr, proc.stderr
    before.assert_same()


def test_config_reports_all_problems_together(vault: Path) -> None:
    _break_toml(vault, '# orphan-page = "off"', 'orphan-page = "loud"')
    set_vault_option(vault, "max_page_bytes = -5")
    commit_all(vault, "two bad settings")

    proc = vw(vault, "check")

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "orphan-page" in proc.stderr
    assert "max_page_bytes" in proc.stderr
