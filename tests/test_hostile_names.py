"""File names that break line-based protocols: every page keeps its own text under its own
name through ``mv``, git's index equals HEAD afterwards, and names no link can reach
(line breaks, tabs, bytes that are not UTF-8) are reported, never crash a command.

Runs the real ``veriwiki`` console script and real git.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from helpers_bad import (
    assert_no_traceback,
    cli_env,
    commit_all,
    git,
    init_vault,
    status,
    veriwiki_exe,
    vw,
    vw_ok,
)
from veriwiki.adapters.git import GitRepo

# Names a page may have: each must be moved, relinked and committed under its own name.
ODD_NAMES = ["a|b", 'quote "q" \'x\'', "café ü", "-dash", "über/-x", "{{x}}", "sp  ace",
             "#hash", "x^y", "日本語", "a;b&c$d`e"]
# Names no link can reach: reported as invalid-name, left untouched.
UNUSABLE = {"nl\nname": "wiki/nl\\nname.md", "tab\tname": "wiki/tab\\tname.md",
            "cr\rname": "wiki/cr\\rname.md"}


def _page(name: str) -> bytes:
    return f"# {name.splitlines()[0]}\n\nSee [[Target]] and [t]({'../' if '/' in name else ''}" \
           f"Target.md).\n".encode()


@pytest.fixture
def odd_vault(tmp_path: Path) -> Path:
    v = init_vault(tmp_path)
    vw_ok(v, "new", "Target")
    for name in [*ODD_NAMES, *UNUSABLE]:
        path = v / "wiki" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_page(name))
    (v / os.fsdecode(b"wiki/caf\xe9.md")).write_bytes(b"See [[Target]].\n")
    commit_all(v, "user adds pages with odd names")
    return v


def test_mv_odd_names_each_page_committed_under_its_own_name(odd_vault: Path) -> None:
    v = odd_vault
    proc = vw_ok(v, "mv", "Target", "Goal", "--json")
    result = json.loads(proc.stdout)
    for name in ODD_NAMES:
        rel = f"wiki/{name}.md"
        committed = git(v, "show", f"HEAD:{rel}")
        assert "[[Goal]]" in committed and "Goal.md)" in committed, rel
        assert committed.startswith(f"# {name}\n"), rel  # its own text, not a neighbour's
        assert (v / rel).read_text() == committed, rel
        assert rel in result["relinked"]
    for name in UNUSABLE:  # not pages: untouched in HEAD and on disk
        assert (v / "wiki" / f"{name}.md").read_bytes() == _page(name)
    assert git(v, "diff", "--cached", "--name-only", "-z") == ""  # index == HEAD
    assert status(v) == ""


def test_check_reports_unusable_names_and_keeps_checking(odd_vault: Path) -> None:
    proc = vw(odd_vault, "check", "--json")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    bad = {f["path"]: f["message"] for f in findings if f["rule"] == "unreadable-file"}
    for shown in [*UNUSABLE.values(), "wiki/caf\\xe9.md"]:
        assert shown in bad, sorted(bad)
        assert "rename it" in bad[shown]
    assert "line break" in bad["wiki/nl\\nname.md"]
    assert "not valid UTF-8" in bad["wiki/caf\\xe9.md"]
    # the other pages are still checked
    assert any(f["path"] == "wiki/a|b.md" for f in findings if f["rule"] == "orphan-page")


@pytest.mark.parametrize("args", [("index",), ("search", "Target"), ("show", "Target"),
                                  ("backlinks", "Target"), ("new", "Fresh"),
                                  ("rm", "--force", "--", "-dash"), ("status",)])
def test_commands_survive_undecodable_and_control_names(odd_vault: Path,
                                                        args: tuple[str, ...]) -> None:
    proc = vw(odd_vault, *args)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr


def test_undecodable_folder_reported_once_and_skipped(tmp_path: Path) -> None:
    v = init_vault(tmp_path)
    folder = v / os.fsdecode(b"wiki/bad\xff")
    folder.mkdir()
    (folder / "Inside.md").write_text("# Inside\n")
    proc = vw(v, "check", "--json")
    assert_no_traceback(proc)
    paths = [f["path"] for f in json.loads(proc.stdout)["findings"]
             if f["rule"] == "unreadable-file"]
    assert paths == ["wiki/bad\\xff"]
    assert "folder" in proc.stdout


def test_catalog_never_lists_unusable_names(odd_vault: Path) -> None:
    vw_ok(odd_vault, "new", "Another")
    catalog = (odd_vault / "wiki" / "index.md").read_text()
    assert "nl" not in catalog and "tab" not in catalog and "caf\\" not in catalog
    assert "a|b" in catalog or "a\\|b" in catalog


def test_git_read_blobs_paths_with_line_breaks_answer_in_order(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    files = {"a\nb.md": b"AB", "a": b"A", "b.md": b"B", "-x|y \"q\".md": b"Q",
             "t\tab.md": b"T", "sp ace missing": b"S"}
    for name, data in files.items():
        (repo / name).write_bytes(data)
    commit_all(repo, "files")
    g = GitRepo(repo)
    specs = [f"HEAD:{n}" for n in files] + ["HEAD:nope", "HEAD:new\nfile", "HEAD:a\nb.md"]
    assert g.read_blobs(specs) == [*files.values(), None, None, b"AB"]


def test_git_commit_and_index_entries_with_line_breaks_and_tabs(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "keep.md").write_bytes(b"K")
    commit_all(repo, "first")
    g = GitRepo(repo)
    parent = g.head()
    blob_a, blob_b = g.write_blobs([b"one", b"two"], tmp_path / "tmp")
    entries: dict[str, str | None] = {"n\nl.md": blob_a, "t\tab.md": blob_b, "keep.md": None}
    commit = g.build_commit(parent, entries, "m", tmp_path / "tmp")
    assert g.ls_tree(commit) == {"n\nl.md": blob_a, "t\tab.md": blob_b}
    g.update_head(commit, parent, "m")
    g.set_index_entries(entries)
    staged = git(repo, "ls-files", "-z", "--stage")
    assert staged.split("\0")[:2] == [f"100644 {blob_a} 0\tn\nl.md",
                                      f"100644 {blob_b} 0\tt\tab.md"]


def test_adopt_leaves_unusable_names_untracked_and_reported(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / os.fsdecode(b"caf\xe9.md")).write_bytes(b"x\n")
    (notes / "a\nb.md").write_text("y\n")
    (notes / "Ok.md").write_text("# Ok\n")
    proc = subprocess.run([str(veriwiki_exe()), "init", "--adopt", str(notes)],
                          capture_output=True, text=True, env=cli_env(), timeout=120,
                          cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    tracked = git(notes, "ls-files", "-z").split("\0")
    assert "Ok.md" in tracked and not any("caf" in t or "\n" in t for t in tracked)
    check = json.loads(vw(notes, "check", "--json").stdout)["findings"]
    assert {f["path"] for f in check if f["rule"] == "unreadable-file"} == {
        "caf\\xe9.md", "a\\nb.md"}


def test_proposal_changed_pages_keep_non_ascii_names(tmp_path: Path) -> None:
    """A line-based diff listing quotes non-ASCII names; the proposal must not."""
    from types import SimpleNamespace

    from veriwiki.adapters.git import GitRepo
    from veriwiki.services.proposals import changed_pages

    repo = tmp_path / "r"
    (repo / "wiki").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "wiki" / "a.md").write_text("a\n")
    commit_all(repo, "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    for name in ("café.md", "日本.md", "a|b.md"):
        (repo / "wiki" / name).write_text(f"{name}\n")
    commit_all(repo, "proposal")
    head = git(repo, "rev-parse", "HEAD").strip()
    vault = SimpleNamespace(root=repo, git=GitRepo(repo), index_page="wiki/index.md",
                            log_page="wiki/log.md")
    got = changed_pages(vault, SimpleNamespace(base=base, commit=head))  # type: ignore[arg-type]
    assert got == {f"wiki/{n}": (None, f"{n}\n".encode())
                   for n in ("a|b.md", "café.md", "日本.md")}
