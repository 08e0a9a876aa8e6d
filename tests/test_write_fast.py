"""The quick tail of a write (``services.write.finish``): the index takes only the files
the commit wrote (``SqliteIndex.update(paths=...)``), the catalog is rendered only when
it may have changed, and a save runs few git processes.

Real git, real SQLite, real files: vaults made by ``veriwiki init``, writes through the
Python API. Each test compares the index after the quick path with an index rebuilt
from the files, and the scan manifest with a fresh scan, so a row or a manifest entry
the quick path got wrong fails here; outside edits must still reach the next update.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Git, write
from veriwiki import api
from veriwiki.adapters.fs import walk_vault
from veriwiki.adapters.sqlite_index import SqliteIndex, manifest, target_key
from veriwiki.adapters.sqlite_index import write as index_write
from veriwiki.core.catalog import CatalogEntry, render_catalog
from veriwiki.services import write as service_write
from veriwiki.services.pages import move_page
from veriwiki.services.write import CATALOG_FORMAT, finish, regenerate_catalog, write_operation
from veriwiki.vault import Vault

PAGES = {
    "wiki/Alpha.md": "---\ntitle: Alpha\n---\n# Alpha\n\nAlpha is about quasars.\n\n"
                     "More on [[Beta]].\n",
    "wiki/Beta.md": "# Beta\n\nBeta is about pulsars. #astro\n",
    "wiki/deep/Gamma.md": "---\ntype: note\n---\n# Gamma\n\nGamma is about nebulae. "
                          "[[Beta]]\n",
    "wiki/deep/Delta.md": "# Delta\n\nDelta is about comets.\n",
    "wiki/pic.png": "not really a picture",
}


@pytest.fixture
def opened(vault: Path, git: Git) -> Iterator[Vault]:
    """A vault with a few pages committed by plain git, indexed, then one veriwiki
    write (so the catalog is current and noted)."""
    v = committed(vault, git)
    regenerate_catalog(v)
    yield v
    v.close()


def committed(vault: Path, git: Git) -> Vault:
    """The vault with ``PAGES`` written and committed by plain git, opened and indexed."""
    for rel, text in PAGES.items():
        write(vault, rel, text)
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "pages")
    v = api.open_vault(vault)
    api.update_index(v)
    return v


def save(v: Vault, path: str, text: str | None) -> api.CommitResult:
    """One write of ``path`` (None deletes it), as the web editor saves."""
    with write_operation(v, f"edit {path}", force=True) as tx:
        tx.prefetch([path, v.index_page, v.log_page])
        if text is None:
            tx.delete(path)
        else:
            tx.put(path, text.encode())
        return finish(v, tx, "edit", path)


def found(v: Vault, query: str) -> list[str]:
    """The pages the index finds for ``query``, without the catalog and the log."""
    return [h.path for h in v.index.search(query) if h.path not in (v.index_page, v.log_page)]


def dump(index: SqliteIndex) -> dict[str, Any]:
    """Everything the index holds about the files, by path (row ids and stat left out)."""
    c = index.conn
    return {
        "pages": c.execute("SELECT path, blob, title, type, summary, names, data FROM pages "
                           "ORDER BY path").fetchall(),
        "links": sorted(c.execute("SELECT p.path, l.target_key, l.line FROM links l JOIN "
                                  "pages p ON p.id = l.page_id").fetchall()),
        "tags": sorted(c.execute("SELECT p.path, t.tag FROM tags t JOIN pages p ON "
                                 "p.id = t.page_id").fetchall()),
        "names": sorted(c.execute("SELECT p.path, n.name FROM names n JOIN pages p ON "
                                  "p.id = n.page_id").fetchall()),
        "fts": sorted(c.execute("SELECT p.path, f.title, f.aliases, f.headings, f.body FROM "
                                "fts f JOIN pages p ON p.id = f.rowid").fetchall()),
        "problems": c.execute("SELECT path, kind, message, line FROM problems "
                              "ORDER BY path").fetchall(),
        "attachments": c.execute("SELECT path FROM attachments ORDER BY path").fetchall(),
    }


def assert_like_a_rebuild(v: Vault, tmp_path: Path) -> None:
    """The index equals one built from scratch from the files, and the scan manifest
    describes exactly what a fresh scan finds (folders, pages with the index's stat)."""
    fresh = SqliteIndex(v.root, tmp_path / "fresh.db", v.pages_root,
                        v.config.vault.max_page_bytes, tuple(v.config.vault.exclude),
                        (v.index_page, v.log_page))
    fresh.update(rebuild=True)
    assert dump(v.index) == dump(fresh)
    fresh.close()
    conn = v.index.conn
    exclude = tuple(v.config.vault.exclude)
    stored = manifest.load(conn, v.pages_root, exclude)
    assert stored is not None, "the manifest is unreadable: the next scan would start over"
    walk = walk_vault(v.root, v.pages_root, exclude)
    assert {rel: f.items for rel, f in stored.folders.items()} == {
        rel: f.items for rel, f in walk.folders.items()}
    held = {p: (s, m, c) for p, s, m, c in conn.execute(
        "SELECT path, size, mtime_ns, ctime_ns FROM pages")}
    assert stored.files == held and stored.total == len(held)
    assert stored.attachments == sorted(walk.attachments)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, for each path-limited update, whether it could be done without a scan."""
    seen: list[bool] = []
    plain = SqliteIndex._update_paths

    def spy(self: SqliteIndex, *args: Any) -> Any:
        got = plain(self, *args)
        seen.append(got is not None)
        return got

    monkeypatch.setattr(SqliteIndex, "_update_paths", spy)
    return seen


def test_write_fast_edit_reindexes_the_written_files_without_a_scan(
        opened: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(index_write, "walk_vault", lambda *a, **k: pytest.fail("scanned"))
        save(opened, "wiki/Beta.md", "# Beta\n\nBeta is about magnetars now. #radio\n")
    assert found(opened, "magnetars") == ["wiki/Beta.md"]
    assert found(opened, "pulsars") == []
    assert_like_a_rebuild(opened, tmp_path)


def test_write_fast_outside_edit_between_saves_reaches_the_next_update(
        opened: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(opened, "wiki/Beta.md", "# Beta\n\nBeta is about pulsars, saved once.\n")
    # someone else, between two saves: an edit, a new page, a deletion (not committed)
    write(opened.root, "wiki/deep/Gamma.md", "# Gamma\n\nGamma is about supernovae now.\n")
    write(opened.root, "wiki/Epsilon.md", "# Epsilon\n\nEpsilon is about blazars.\n")
    (opened.root / "wiki/deep/Delta.md").unlink()
    with monkeypatch.context() as m:
        m.setattr(index_write, "walk_vault", lambda *a, **k: pytest.fail("scanned"))
        save(opened, "wiki/Beta.md", "# Beta\n\nBeta is about pulsars, saved twice.\n")
        assert found(opened, "supernovae") == []  # the save looked at Beta only
    stats = opened.index.update()
    assert (stats.parsed, stats.removed) == (2, 1)
    assert found(opened, "supernovae") == ["wiki/deep/Gamma.md"]
    assert found(opened, "blazars") == ["wiki/Epsilon.md"]
    assert found(opened, "comets") == []
    assert_like_a_rebuild(opened, tmp_path)


def test_write_fast_deleted_page_and_attachment(opened: Vault, tmp_path: Path,
                                                quick: list[bool]) -> None:
    save(opened, "wiki/deep/Delta.md", None)
    save(opened, "wiki/pic.png", None)
    assert quick == [True, True]
    assert found(opened, "comets") == []
    assert "wiki/pic.png" not in opened.index.attachments()
    assert_like_a_rebuild(opened, tmp_path)
    # and a new page in a folder the scan knows
    save(opened, "wiki/deep/Zeta.md", "# Zeta\n\nZeta is about magnetospheres.\n")
    assert quick[-1] is True
    assert found(opened, "magnetospheres") == ["wiki/deep/Zeta.md"]
    assert_like_a_rebuild(opened, tmp_path)


def test_write_fast_renamed_page_rewrites_links_in_the_index(
        opened: Vault, tmp_path: Path, quick: list[bool]) -> None:
    move_page(opened, "Beta", "Beta Prime")
    assert quick and all(quick)  # the operation's first refresh may be quick as well
    assert [p for p in opened.index.paths() if "Beta" in p] == ["wiki/Beta Prime.md"]
    assert "[[Beta Prime]]" in (opened.root / "wiki/deep/Gamma.md").read_text()
    assert sorted(opened.index.pages_linking_to([target_key("Beta Prime")])) == [
        "wiki/Alpha.md", "wiki/deep/Gamma.md", "wiki/index.md"]  # the catalog links too
    assert_like_a_rebuild(opened, tmp_path)


def test_write_fast_new_folder_falls_back_to_a_scan(opened: Vault, tmp_path: Path,
                                                    quick: list[bool]) -> None:
    save(opened, "wiki/new/Eta.md", "# Eta\n\nEta is about exoplanets.\n")
    # a folder the last scan did not list: scanned instead (and the scan's own attempt
    # at a quick update of what it found is refused for the same reason)
    assert quick and not any(quick)
    assert found(opened, "exoplanets") == ["wiki/new/Eta.md"]
    assert_like_a_rebuild(opened, tmp_path)


def test_write_fast_link_in_place_of_a_page_falls_back_to_a_scan(
        opened: Vault, tmp_path: Path) -> None:
    api.update_index(opened)
    (opened.root / "wiki/Beta.md").unlink()
    (opened.root / "wiki/Beta.md").symlink_to(opened.root / "wiki/deep/Delta.md")
    assert opened.index._update_paths(["wiki/Beta.md"]) is None  # the scan's rules apply
    opened.index.update(paths=["wiki/Beta.md"])
    assert_like_a_rebuild(opened, tmp_path)


def test_write_fast_body_edit_keeps_the_committed_catalog(
        opened: Vault, git: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (opened.root / "wiki/index.md").read_text()
    with monkeypatch.context() as m:
        m.setattr(service_write, "catalog_entries", lambda *a: pytest.fail("rendered"))
        save(opened, "wiki/Alpha.md", PAGES["wiki/Alpha.md"] + "\nA new closing line.\n")
    assert git.touched(opened.root) == {"wiki/Alpha.md", "wiki/log.md"}
    assert (opened.root / "wiki/index.md").read_text() == before
    assert regenerate_catalog(opened).commit is None  # a full render agrees


def test_write_fast_uncommitted_catalog_edit_is_repaired_in_the_working_copy_only(
        opened: Vault, git: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    index = opened.root / "wiki/index.md"
    committed = index.read_text()
    index.write_text("My own line above.\n" + committed.replace("Beta is about pulsars.",
                                                                 "hand edit"))
    with monkeypatch.context() as m:
        m.setattr(service_write, "catalog_entries", lambda *a: pytest.fail("rendered"))
        save(opened, "wiki/Alpha.md", PAGES["wiki/Alpha.md"] + "\nA new closing line.\n")
    assert "wiki/index.md" not in git.touched(opened.root)
    assert index.read_text() == "My own line above.\n" + committed


def test_write_fast_summary_title_or_type_change_renders_the_catalog(
        opened: Vault, git: Git) -> None:
    save(opened, "wiki/Alpha.md", PAGES["wiki/Alpha.md"].replace("quasars", "blazars"))
    assert "wiki/index.md" in git.touched(opened.root)
    assert "Alpha is about blazars." in (opened.root / "wiki/index.md").read_text()
    save(opened, "wiki/deep/Gamma.md", PAGES["wiki/deep/Gamma.md"].replace("note", "essay"))
    assert "## essay (1)" in (opened.root / "wiki/index.md").read_text()
    save(opened, "wiki/Beta.md", "---\ntitle: Beta Star\n---\n" + PAGES["wiki/Beta.md"])
    assert "[[Beta|Beta Star]]" in (opened.root / "wiki/index.md").read_text()
    assert regenerate_catalog(opened).commit is None


def test_write_fast_drifted_catalog_is_repaired_by_the_next_write(
        opened: Vault, git: Git) -> None:
    """Pages committed by plain git (HEAD moved past the noted commit) and a hand edit
    of the generated region: the next write, even a body edit, renders the catalog."""
    index = opened.root / "wiki/index.md"
    write(opened.root, "wiki/Theta.md", "# Theta\n\nTheta is about quasars too.\n")
    index.write_text(index.read_text().replace("Beta is about pulsars.", "hand edit"))
    git(opened.root, "add", "-A")
    git(opened.root, "commit", "-qm", "by hand")
    save(opened, "wiki/Alpha.md", PAGES["wiki/Alpha.md"] + "\nA new closing line.\n")
    text = git.show(opened.root, "HEAD:wiki/index.md")
    assert "[[Theta]] — Theta is about quasars too." in text
    assert "hand edit" not in text and "[[Beta]] — Beta is about pulsars." in text
    assert regenerate_catalog(opened).commit is None


def test_write_fast_note_of_another_format_renders_the_catalog(
        opened: Vault, git: Git) -> None:
    index = opened.root / "wiki/index.md"
    index.write_text(index.read_text().replace("Beta is about pulsars.", "hand edit"))
    git(opened.root, "commit", "-qam", "by hand")
    # as if this commit's catalog had been noted by an older veriwiki
    stamp = service_write._catalog_stamp(opened, git.head(opened.root))
    opened.index.set_note("catalog", stamp.replace(f"[{CATALOG_FORMAT},",
                                                   f"[{CATALOG_FORMAT - 1},", 1))
    save(opened, "wiki/Alpha.md", PAGES["wiki/Alpha.md"] + "\nA new closing line.\n")
    assert "hand edit" not in index.read_text()
    assert "[[Beta]] — Beta is about pulsars." in git.show(opened.root, "HEAD:wiki/index.md")


def test_write_fast_catalog_format_pinned() -> None:
    """A change to what render_catalog writes must bump CATALOG_FORMAT (then update the
    digest here): catalogs noted as current under the old format are rendered anew."""
    entries = [CatalogEntry("wiki/A.md", "A", None, "First [@src, \"q\"] words."),
               CatalogEntry("wiki/x/B.md", "Bee|2", "note", ""),
               CatalogEntry("wiki/y/B.md", "B", "note", "Same stem.")]
    digest = hashlib.sha256(render_catalog(entries, "wiki").encode()).hexdigest()
    assert (CATALOG_FORMAT, digest[:16]) == (1, "be65832f6863dce4")


def test_write_fast_save_runs_few_git_processes(opened: Vault,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    save(opened, "wiki/Alpha.md", PAGES["wiki/Alpha.md"] + "\nOne.\n")  # git settings read
    calls: list[str] = []
    plain = subprocess.run

    def counting(args: Any, *a: Any, **k: Any) -> Any:
        if args and args[0] == "git":
            calls.append(args[3])
        return plain(args, *a, **k)

    monkeypatch.setattr(subprocess, "run", counting)
    save(opened, "wiki/Alpha.md", PAGES["wiki/Alpha.md"] + "\nTwo.\n")
    # HEAD, the three files, blobs, the commit (read-tree, update-index, write-tree,
    # commit-tree), HEAD moved, its folder (to fsync), git's index
    assert calls == ["rev-parse", "cat-file", "hash-object", "read-tree", "update-index",
                     "write-tree", "commit-tree", "update-ref", "rev-parse", "update-index"]
