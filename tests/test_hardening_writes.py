"""No write lands outside the vault: links on the write path are refused, never followed.

Each test plants a symbolic link the way an attacker or a careless user would (a folder
link in the working tree, a link committed in a cloned vault, a link in a folder given
to ``add``), runs the real CLI, and asserts that nothing appeared or changed outside the
vault, HEAD did not move, and the error names the link and says what to do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Git, Veriwiki, describe, write
from veriwiki.errors import UnsafePathError


def outside_state(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes (what a refused write must not change)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the vault holding one file an attacker would like to append to."""
    folder = tmp_path / "outside"
    write(folder, "log.md", "# Someone else's file\n")
    write(folder, "index.md", "# Someone else's index\n")
    return folder


def assert_refused(proc: subprocess.CompletedProcess[str], link: str) -> None:
    assert proc.returncode == 2, describe(proc)
    assert f"{link} is a symbolic link" in proc.stderr, describe(proc)
    assert "nothing was written" in proc.stderr and "hint: replace the link" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_new_through_symlinked_folder_is_refused(vw: Veriwiki, vault: Path, git: Git,
                                                 outside: Path) -> None:
    os.symlink(outside, vault / "wiki" / "Folder")
    before, files = git.head(vault), outside_state(outside)
    proc = vw("new", "Folder/Page")
    assert_refused(proc, "wiki/Folder")
    assert "wiki/Folder/Page.md" in proc.stderr
    assert outside_state(outside) == files and git.head(vault) == before
    assert not (vault / ".veriwiki" / "journal.json").exists()


def test_new_through_symlinked_subfolder_deeper_down_is_refused(vw: Veriwiki, vault: Path,
                                                                git: Git, outside: Path) -> None:
    (vault / "wiki" / "a").mkdir()
    os.symlink(outside, vault / "wiki" / "a" / "b")
    files = outside_state(outside)
    assert_refused(vw("new", "a/b/c/Page"), "wiki/a/b")
    assert outside_state(outside) == files and not (outside / "c").exists()


@pytest.mark.parametrize("setting", ["log_page", "index_page"])
def test_cloned_vault_with_committed_folder_link_never_appends_outside(
        vw: Veriwiki, vault: Path, git: Git, outside: Path, tmp_path: Path,
        setting: str) -> None:
    """A vault whose log or catalog page runs through a committed link to another folder."""
    os.symlink(outside, vault / "wiki" / "meta")
    toml = vault / "veriwiki.toml"
    name = "log.md" if setting == "log_page" else "index.md"
    toml.write_text(toml.read_text().replace(f'{setting} = "wiki/{name}"',
                                             f'{setting} = "wiki/meta/{name}"'))
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "attacker: meta folder")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(vault), str(clone))
    assert (clone / "wiki" / "meta").is_symlink()
    before, files = git.head(clone), outside_state(outside)
    for args in (("new", "Innocent"), ("catalog",)):
        proc = vw(*args, vault=clone)
        assert_refused(proc, "wiki/meta")
        assert outside_state(outside) == files and git.head(clone) == before
    # nothing from outside was committed either
    assert "Someone else" not in git(clone, "log", "-p", "--all")


def test_symlinked_page_file_is_not_rewritten(vw: Veriwiki, vault: Path, git: Git) -> None:
    """mv rewrites backlinks; a page that is a link to a file is refused, not written
    through (nor silently replaced by a copy)."""
    write(vault, "wiki/Target.md", "# Target\n")
    write(vault, "notes/linker.md", "See [[Target]].\n")
    os.symlink("../notes/linker.md", vault / "wiki" / "Linker.md")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "target and a linked page")
    before = git.head(vault)
    assert_refused(vw("mv", "Target", "Renamed"), "wiki/Linker.md")
    assert git.head(vault) == before and (vault / "wiki" / "Linker.md").is_symlink()
    assert (vault / "notes" / "linker.md").read_text() == "See [[Target]].\n"
    assert (vault / "wiki" / "Target.md").exists()


def _replace_state_with_link(vault: Path, target: Path, tmp_path: Path) -> None:
    os.rename(vault / ".veriwiki", tmp_path / "old-state")
    os.symlink(target, vault / ".veriwiki")


def test_state_folder_that_is_a_link_is_refused(vw: Veriwiki, vault: Path,
                                                outside: Path, tmp_path: Path) -> None:
    _replace_state_with_link(vault, outside, tmp_path)
    files = outside_state(outside)
    for args in (("new", "X"), ("search", "x"), ("check",)):
        proc = vw(*args)
        assert proc.returncode == 2, describe(proc)
        assert ".veriwiki is a symbolic link" in proc.stderr, describe(proc)
    assert outside_state(outside) == files and sorted(os.listdir(outside)) == ["index.md",
                                                                                "log.md"]


def test_committed_state_folder_link_writes_nothing_through_it(
        vw: Veriwiki, vault: Path, git: Git, outside: Path, tmp_path: Path) -> None:
    """A clone carrying a committed ``.veriwiki`` link (git add -f): refused, or the state
    kept elsewhere; either way nothing is written where the link points."""
    _replace_state_with_link(vault, outside, tmp_path)
    git(vault, "add", "-f", ".veriwiki")
    git(vault, "commit", "-qm", "attacker: state link")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(vault), str(clone))
    files = outside_state(outside)
    for args in (("new", "X"), ("search", "x"), ("check",)):
        proc = vw(*args, vault=clone)
        assert proc.returncode in (0, 1, 2) and "Traceback" not in proc.stderr, describe(proc)
        assert ("symbolic link" in proc.stderr or "tracked by git" in proc.stderr), \
            describe(proc)
    assert outside_state(outside) == files and sorted(os.listdir(outside)) == ["index.md",
                                                                                "log.md"]


@pytest.mark.parametrize(("name", "command"), [("index.db", ("search", "x")),
                                               ("lock", ("new", "X")),
                                               ("lock.info", ("new", "X"))])
def test_link_inside_state_folder_is_refused(vw: Veriwiki, vault: Path, outside: Path,
                                             name: str, command: tuple[str, ...]) -> None:
    vw.ok("index")
    target = vault / ".veriwiki" / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    os.symlink(outside / "stolen", target)
    proc = vw(*command)
    assert proc.returncode == 2, describe(proc)
    assert f".veriwiki/{name} is a symbolic link" in proc.stderr, describe(proc)
    assert not (outside / "stolen").exists()


def test_recovery_does_not_follow_a_link_planted_after_the_commit(
        vw: Veriwiki, vault: Path, git: Git, outside: Path) -> None:
    """The working tree is written from git blobs after the commit point; a folder that
    became a link in between is left alone (with a note), never written through."""
    blob = subprocess.run(["git", "-C", str(vault), "hash-object", "-w", "--stdin"],
                          input=b"# P\n", capture_output=True, check=True).stdout.decode().strip()
    os.symlink(outside, vault / "wiki" / "sub")
    journal = {"commit": git.head(vault), "parent": None, "index": {},
               "files": [{"path": "wiki/sub/P.md", "work": blob, "before": None}]}
    (vault / ".veriwiki" / "journal.json").write_text(json.dumps(journal))
    files = outside_state(outside)
    proc = vw("search", "P")
    assert proc.returncode == 0, describe(proc)
    assert "wiki/sub/P.md: not written" in proc.stderr and "symbolic link" in proc.stderr
    assert outside_state(outside) == files
    assert not (vault / ".veriwiki" / "journal.json").exists()


def test_add_folder_skips_links_leaving_it(vw: Veriwiki, vault: Path, git: Git,
                                           tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "papers"
    write(folder, "a.md", "# A\n\nAlpha.\n")
    write(outside, "secret.md", "# Secret\n\nTOPSECRET-7731\n")
    os.symlink(outside / "secret.md", folder / "leak.md")
    os.symlink(folder / "a.md", folder / "alias.md")  # stays inside: added
    os.symlink(outside, folder / "linked-folder")
    proc = vw("add", str(folder))
    assert proc.returncode == 0, describe(proc)
    assert "skipped 2 symbolic link(s)" in proc.stderr
    assert "leak.md" in proc.stderr and "linked-folder" in proc.stderr
    tree = git(vault, "ls-tree", "-r", "--name-only", "HEAD", "raw").split()
    assert any(p.startswith("raw/a/") for p in tree) and any(p.startswith("raw/alias/")
                                                             for p in tree)
    assert not any("leak" in p or "secret" in p for p in tree)
    assert "TOPSECRET-7731" not in git(vault, "log", "-p", "--all")


def test_approve_never_writes_through_a_committed_folder_link(
        vw: Veriwiki, vault: Path, git: Git, outside: Path) -> None:
    """The approval gate fills a scratch worktree from HEAD; a proposal page below a
    committed folder link must not be written through it (there or on approval)."""
    os.symlink(outside, vault / "wiki" / "evil")
    git(vault, "add", "wiki/evil")
    git(vault, "commit", "-qm", "attacker: folder link")
    script = ("import sys; from veriwiki.vault import open_vault; "
              "from veriwiki.services.proposals import propose; "
              "propose(open_vault(sys.argv[1]), 'ask', 'x', "
              "{'wiki/evil/Page.md': b'# Page\\n'}, {}, 'p1')")
    made = subprocess.run([sys.executable, "-c", script, str(vault)], env=vw.env,
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    before, files = git.head(vault), outside_state(outside)
    proc = vw("review", "approve", "p1")
    assert_refused(proc, "wiki/evil")
    assert outside_state(outside) == files and git.head(vault) == before


def test_approval_gate_worktree_never_writes_through_a_committed_folder_link(
        vault: Path, git: Git, outside: Path) -> None:
    """The gate's scratch worktree holds HEAD's links; the pages under review are written
    into it without following them (called directly: approve deletes the link first)."""
    from veriwiki.services.proposals import check_files
    from veriwiki.vault import open_vault

    os.symlink(outside, vault / "wiki" / "evil")
    git(vault, "add", "wiki/evil")
    git(vault, "commit", "-qm", "attacker: folder link")
    files = outside_state(outside)
    with pytest.raises(UnsafePathError, match="wiki/evil is a symbolic link"):
        check_files(open_vault(vault), {"wiki/evil/Page.md": b"# Page\n"})
    assert outside_state(outside) == files
    assert not list((vault / ".veriwiki" / "tmp").glob("proposal-check-*"))


def test_junit_report_is_not_written_through_a_committed_link(
        vw: Veriwiki, vault: Path, git: Git, outside: Path, tmp_path: Path) -> None:
    """CI runs ``check --junit veriwiki.xml`` in a pull request's checkout; the pull
    request may commit that name (or a folder on the way) as a link to a runner file."""
    os.symlink(outside / "log.md", vault / "veriwiki.xml")
    os.symlink(outside, vault / "reports")
    git(vault, "add", "veriwiki.xml", "reports")
    git(vault, "commit", "-qm", "attacker: report links")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(vault), str(clone))
    files = outside_state(outside)
    for name, link in (("veriwiki.xml", "veriwiki.xml"), ("reports/veriwiki.xml", "reports")):
        proc = subprocess.run([str(Path(sys.executable).parent / "veriwiki"), "check",
                               "--junit", name], cwd=clone, env=vw.env, capture_output=True,
                              text=True)
        assert_refused(proc, link)
    assert outside_state(outside) == files
    plain = vw("check", "--junit", str(tmp_path / "report.xml"), vault=clone)
    assert plain.returncode in (0, 1) and (tmp_path / "report.xml").read_bytes().startswith(
        b"<?xml")
