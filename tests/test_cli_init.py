"""``veriwiki init`` and ``init --adopt`` through the real CLI, real git and real files."""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from pathlib import Path

from conftest import Git, Veriwiki, describe, write

LAYOUT_FILES = ["veriwiki.toml", "AGENTS.md", ".gitignore", "wiki/index.md", "wiki/log.md"]
LAYOUT_DIRS = ["raw", "data", "schemas", "wiki"]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (outside .git) and its bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(".git/"):
            out[rel] = path.read_bytes()
    return out


def obsidian_notes(root: Path) -> dict[str, bytes]:
    """An Obsidian-style folder of notes; returns the user's files and their bytes."""
    write(root, ".obsidian/app.json", '{"theme": "obsidian"}\n')
    write(root, ".obsidian/workspace.json", '{"main": {}}\n')
    write(root, "index.md", "# Home\n\nStart at [[Alpha]] or [[Beta]].\n")
    write(root, "Projects/Alpha.md", "---\ntags: [project]\n---\n# Alpha\n\nSee [[index]].\n")
    (root / "Projects/Sub").mkdir(parents=True)
    # CRLF line endings and no trailing newline: must survive byte for byte
    (root / "Projects/Sub/Beta.md").write_bytes(b"# Beta\r\n\r\nBack to [[Alpha]]")
    write(root, "Daily/2024-01-01.md", "Worked on [[Alpha]] and [[Beta]].\n")
    write(root, "attachments/diagram.png", "not really a png\n")
    return snapshot(root)


def test_init_creates_layout_and_one_commit(vw: Veriwiki, git: Git, tmp_path: Path) -> None:
    target = tmp_path / "v"
    proc = vw("init", str(target), "--json")
    assert proc.returncode == 0, describe(proc)
    out = json.loads(proc.stdout)
    assert set(out) == {"root", "created", "commit", "git_initialised"}
    assert Path(out["root"]) == target.resolve()
    assert out["git_initialised"] is True
    for rel in LAYOUT_FILES:
        assert (target / rel).is_file(), rel
        assert rel in out["created"]
    for rel in LAYOUT_DIRS:
        assert (target / rel).is_dir(), rel
    assert ".veriwiki/" in (target / ".gitignore").read_text().splitlines()
    assert "veriwiki" in (target / "AGENTS.md").read_text().lower()
    config = tomllib.loads((target / "veriwiki.toml").read_text())
    assert config["vault"]["pages"] == "wiki"
    assert config["vault"]["index_page"] == "wiki/index.md"

    assert len(git.subjects(target)) == 1
    assert git.subjects(target)[0].startswith("veriwiki: init |")
    assert git.head(target) == out["commit"]
    assert git.status(target) == set()
    tracked = set(git(target, "ls-files").splitlines())
    assert set(LAYOUT_FILES) <= tracked
    assert not any(p.startswith(".veriwiki/") for p in tracked)
    assert re.search(r"^- \d{4}-\d\d-\d\d \d\d:\d\d \*\*init\*\* v$",
                     (target / "wiki/log.md").read_text(), re.M)


def test_init_human_output_names_vault(vw: Veriwiki, tmp_path: Path) -> None:
    proc = vw("init", str(tmp_path / "notes-vault"))
    assert proc.returncode == 0, describe(proc)
    assert "created vault" in proc.stdout
    assert str(tmp_path / "notes-vault") in proc.stdout


def test_init_existing_vault_refused_nothing_changed(vw: Veriwiki, git: Git, vault: Path) -> None:
    before, head = snapshot(vault), git.head(vault)
    proc = vw("init", str(vault))
    assert proc.returncode == 2, describe(proc)
    assert "already a veriwiki vault" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(vault) == before
    assert git.head(vault) == head


def test_init_non_empty_folder_refused_suggests_adopt(vw: Veriwiki, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    write(folder, "My note.md", "# mine\n")
    before = snapshot(folder)
    proc = vw("init", str(folder))
    assert proc.returncode == 2, describe(proc)
    assert "not empty" in proc.stderr
    assert "--adopt" in proc.stderr
    assert snapshot(folder) == before
    assert not (folder / ".git").exists()


def test_init_inside_existing_vault_refused(vw: Veriwiki, vault: Path) -> None:
    proc = vw("init", str(vault / "wiki" / "nested"))
    assert proc.returncode == 2, describe(proc)
    assert "inside the vault" in proc.stderr
    assert not (vault / "wiki" / "nested").exists()


def test_init_files_respect_umask(vw: Veriwiki, tmp_path: Path) -> None:
    """Files veriwiki creates get the usual mode (0o666 & ~umask), as git checkout would."""
    old = os.umask(0o022)
    try:
        proc = vw("init", str(tmp_path / "v"))
    finally:
        os.umask(old)
    assert proc.returncode == 0, describe(proc)
    for rel in ("veriwiki.toml", "AGENTS.md", "wiki/index.md", "wiki/log.md"):
        mode = stat.S_IMODE((tmp_path / "v" / rel).stat().st_mode)
        assert mode == 0o644, f"{rel} has mode {oct(mode)}; other users cannot read it"


def test_adopt_obsidian_folder_keeps_user_files_byte_identical(
        vw: Veriwiki, git: Git, tmp_path: Path) -> None:
    root = tmp_path / "obsidian"
    before = obsidian_notes(root)
    out = vw.json("init", "--adopt", str(root))
    assert set(out) == {"root", "created", "commit", "git_initialised"}
    assert out["git_initialised"] is True
    after = snapshot(root)
    for rel, data in before.items():
        assert after.get(rel) == data, f"{rel} was moved or rewritten"
    # the user's index.md is kept; the catalog goes elsewhere
    config = tomllib.loads((root / "veriwiki.toml").read_text())
    assert config["vault"]["index_page"] == "veriwiki-index.md"
    assert config["vault"]["pages"] == "."
    catalog = (root / "veriwiki-index.md").read_text()
    for stem in ("Alpha", "Beta", "2024-01-01", "index"):
        assert f"[[{stem}]]" in catalog, stem
    assert git.subjects(root) == [f"veriwiki: adopt | {root.name}"]
    assert git.head(root) == out["commit"]
    # notes are committed with the vault; the Obsidian workspace file stays out of git
    tracked = set(git(root, "ls-files").splitlines())
    assert {"index.md", "Projects/Alpha.md", "Projects/Sub/Beta.md", "Daily/2024-01-01.md",
            ".obsidian/app.json"} <= tracked
    assert git.status(root) == set()


def test_adopt_check_counts_notes_as_pages(vw: Veriwiki, tmp_path: Path) -> None:
    root = tmp_path / "obsidian"
    obsidian_notes(root)
    vw.json("init", "--adopt", str(root))
    proc = vw("check", "--json", vault=root)
    assert proc.returncode in (0, 1), describe(proc)
    report = json.loads(proc.stdout)
    on_disk = [p for p in root.rglob("*.md")
               if not any(part.startswith(".") for part in p.relative_to(root).parts)]
    # veriwiki's own AGENTS.md is excluded from the pages (veriwiki.toml [vault] exclude)
    assert report["summary"]["pages"] == len(on_disk) - 1
    assert not [f for f in report["findings"] if f["path"] == "AGENTS.md"]
    user_notes = {"index.md", "Projects/Alpha.md", "Projects/Sub/Beta.md", "Daily/2024-01-01.md"}
    assert user_notes <= {p.relative_to(root).as_posix() for p in on_disk}
    # the notes' links resolve: adopting did not break anything
    assert not [f for f in report["findings"] if f["rule"] == "broken-link"]


def test_adopt_in_git_repo_leaves_uncommitted_edits_uncommitted(
        vw: Veriwiki, git: Git, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, "notes/A.md", "# A\n\n[[B]]\n")
    write(root, "notes/B.md", "# B\n\n[[A]]\n")
    git(root.parent, "init", "-q", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "my notes")
    write(root, "notes/A.md", "# A\n\n[[B]]\n\nwork in progress\n")
    write(root, "notes/B.md", "# B\n\n[[A]]\n\nstaged edit\n")
    git(root, "add", "notes/B.md")
    write(root, "notes/C.md", "# C, untracked\n")
    status_before = git.status(root)
    files_before = {rel: (root / rel).read_bytes() for rel in
                    ("notes/A.md", "notes/B.md", "notes/C.md")}

    out = vw.json("init", "--adopt", str(root))
    assert out["git_initialised"] is False
    assert git.subjects(root) == [f"veriwiki: adopt | {root.name}", "my notes"]
    touched = git.touched(root)
    assert not any(p.startswith("notes/") for p in touched), touched
    assert "veriwiki.toml" in touched
    assert git.status(root) == status_before
    assert {" M notes/A.md", "M  notes/B.md", "?? notes/C.md"} == status_before
    for rel, data in files_before.items():
        assert (root / rel).read_bytes() == data
    assert git.show(root, "HEAD:notes/A.md") == "# A\n\n[[B]]\n"


def test_adopt_existing_vault_refused(vw: Veriwiki, vault: Path) -> None:
    proc = vw("init", "--adopt", str(vault))
    assert proc.returncode == 2, describe(proc)
    assert "already a veriwiki vault" in proc.stderr
