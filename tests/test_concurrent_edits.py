"""Edits a person saves while a write operation runs are never lost.

``mv`` rewrites many pages; a person appends lines to those pages while it runs. Every
appended line must be in the working tree afterwards, and every page either got its
link rewritten or is named by the command as not rewritten. The transaction-level
tests pin each path (same change re-applied, three-way merge, file left as written)
deterministically. Real git, real files, the real console script.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from helpers_bad import cli_env as _cli_env
from helpers_bad import commit_all, git, init_vault, vw_cmd
from veriwiki.adapters.git import GitRepo
from veriwiki.adapters.store import Transaction

PAGES = 150


def _page(i: int) -> str:
    return f"# Page {i}\n\nIntro line of page {i}.\n\nSee [[Hub]] for more.\n\nOutro {i}.\n"


@pytest.fixture
def hub_vault(tmp_path: Path) -> Path:
    v = init_vault(tmp_path)
    (v / "wiki" / "Hub.md").write_text("# Hub\n\nThe hub.\n")
    for i in range(PAGES):
        (v / "wiki" / f"Page {i}.md").write_text(_page(i))
    commit_all(v, "user adds a hub and its backlinks")
    return v


def _append_while(proc: subprocess.Popen[str], vault: Path, edits: list[tuple[int, str]],
                  rng: random.Random) -> None:
    """Append a unique line to a random backlinking page every few ms until ``proc`` ends
    (and a little after), at many offsets from its start."""
    n = 0
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        if deadline is None and proc.poll() is not None:
            deadline = time.monotonic() + 0.2
        i = rng.randrange(PAGES)
        line = f"human edit {n} at {time.monotonic():.4f}\n"
        with open(vault / "wiki" / f"Page {i}.md", "a", encoding="utf-8") as fh:
            fh.write(line)
        edits.append((i, line))
        n += 1
        time.sleep(rng.uniform(0.002, 0.02))


@pytest.mark.parametrize("seed", [1, 2])
def test_mv_concurrent_appends_never_lost(hub_vault: Path, seed: int) -> None:
    v = hub_vault
    edits: list[tuple[int, str]] = []
    proc = subprocess.Popen(vw_cmd(v, "mv", "Hub", "Center", "--json"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_cli_env(), cwd=v.parent)
    writer = threading.Thread(target=_append_while,
                              args=(proc, v, edits, random.Random(seed)))
    writer.start()
    out, err = proc.communicate(timeout=600)
    writer.join()
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert len(edits) > 20, "the writer should have raced the command"
    kept = set(result["not_rewritten"])
    for i in range(PAGES):
        rel = f"wiki/Page {i}.md"
        text = (v / rel).read_text()
        mine = [line for j, line in edits if j == i]
        for line in mine:  # every human line is there, whole, in the order written
            assert line in text, (rel, line)
        assert text.count("human edit") == len(mine), rel
        assert text.startswith(_page(i).replace("[[Hub]]", "[[Center]]" if rel not in kept
                                                else "[[Hub]]")), rel
        # the commit has the rewritten link and none of the uncommitted human lines
        assert git(v, "show", f"HEAD:{rel}") == _page(i).replace("[[Hub]]", "[[Center]]")
    assert git(v, "diff", "--cached", "--name-only") == ""  # git's index equals HEAD
    assert kept <= {f"wiki/Page {i}.md" for i in range(PAGES)}, result
    for rel in kept:  # and says why
        assert any(note.startswith(rel + " ") for note in result["notes"]), result


def _tx(vault: Path) -> Transaction:
    return Transaction(vault, GitRepo(vault), vault / ".veriwiki")


def _relink(data: bytes | None) -> bytes | None:
    return None if data is None else data.replace(b"[[Hub]]", b"[[Center]]")


def test_transform_file_edited_before_commit_gets_change_and_keeps_edit(hub_vault: Path) -> None:
    tx = _tx(hub_vault)
    rel = "wiki/Page 3.md"
    tx.transform(rel, _relink)
    with open(hub_vault / rel, "a") as fh:
        fh.write("late line [[Hub]]\n")
    result = tx.commit("test: relink")
    text = (hub_vault / rel).read_text()
    assert text == _page(3).replace("[[Hub]]", "[[Center]]") + "late line [[Center]]\n"
    assert result.kept == []
    assert any(rel in n and "kept your edit" in n for n in result.notes)


def test_put_file_edited_before_commit_is_merged(hub_vault: Path) -> None:
    tx = _tx(hub_vault)
    rel = "wiki/Page 4.md"
    tx.put(rel, _page(4).replace("Intro line", "Opening line").encode())
    with open(hub_vault / rel, "a") as fh:  # a different line than the operation changes
        fh.write("appended by a person\n")
    tx.commit("test: put")
    text = (hub_vault / rel).read_text()
    assert "Opening line" in text and text.endswith("appended by a person\n")


def test_put_conflicting_edit_left_as_written_and_reported(hub_vault: Path) -> None:
    tx = _tx(hub_vault)
    rel = "wiki/Page 5.md"
    tx.put(rel, _page(5).replace("Intro line", "Opening line").encode())
    (hub_vault / rel).write_text(_page(5).replace("Intro line", "Person's line"))
    result = tx.commit("test: conflicting put")
    assert "Person's line" in (hub_vault / rel).read_text()
    assert result.kept == [rel]
    assert "Opening line" in git(hub_vault, "show", f"HEAD:{rel}")


def test_rename_source_edited_before_commit_edit_follows_the_move(hub_vault: Path) -> None:
    tx = _tx(hub_vault)
    tx.rename("wiki/Hub.md", "wiki/Center.md", lambda b: None if b is None else b.upper())
    with open(hub_vault / "wiki" / "Hub.md", "a") as fh:
        fh.write("a person's note\n")
    result = tx.commit("test: rename")
    assert not (hub_vault / "wiki" / "Hub.md").exists()
    assert (hub_vault / "wiki" / "Center.md").read_text() == "# HUB\n\nTHE HUB.\nA PERSON'S NOTE\n"
    assert git(hub_vault, "show", "HEAD:wiki/Center.md") == "# HUB\n\nTHE HUB.\n"
    assert result.kept == []
    assert any("moved with it to wiki/Center.md" in n for n in result.notes)


def test_transaction_reads_each_file_once(hub_vault: Path) -> None:
    """The compare-and-swap base is the bytes the change was computed from."""
    tx = _tx(hub_vault)
    rel = "wiki/Page 6.md"
    first = tx.work_content(rel)
    (hub_vault / rel).write_text("changed on disk\n")
    assert tx.work_content(rel) == first


def test_mv_dirty_page_relinked_and_json_names_nothing_unrewritten(hub_vault: Path) -> None:
    """Uncommitted edits made before the command are taken up as before."""
    v = hub_vault
    (v / "wiki" / "Page 7.md").write_text("# Page 7\n\nSee [[Hub]].\n")  # dirty, fine
    proc = subprocess.run(vw_cmd(v, "mv", "Hub", "Center", "--json"), capture_output=True,
                          text=True, env=_cli_env(), cwd=v.parent, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["not_rewritten"] == [] and "notes" in result
    assert (v / "wiki" / "Page 7.md").read_text() == "# Page 7\n\nSee [[Center]].\n"


def test_recovery_merges_an_edit_made_after_a_crash(hub_vault: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the commit point, before the working tree was written: the next
    command's recovery merges what the person saved meanwhile (no in-process redo)."""
    import veriwiki.adapters.store as store

    rel = "wiki/Page 8.md"
    tx = _tx(hub_vault)
    tx.transform(rel, _relink)
    monkeypatch.setattr(store, "finish_journal", lambda *a, **k: [])  # "killed" here
    tx.commit("test: interrupted relink")
    monkeypatch.undo()
    assert (hub_vault / ".veriwiki" / "journal.json").exists()
    with open(hub_vault / rel, "a") as fh:
        fh.write("saved after the crash\n")
    notes = store.recover(hub_vault, GitRepo(hub_vault), hub_vault / ".veriwiki")
    text = (hub_vault / rel).read_text()
    assert "[[Center]]" in text and text.endswith("saved after the crash\n")
    assert any(rel in n for n in notes)
    assert git(hub_vault, "diff", "--cached", "--name-only") == ""
