"""The freshness scan before each search: folders unchanged since the last scan are not
listed again (their pages are still stat'ed), and no change is ever missed.

File-system timestamps come from a coarse kernel clock (a few ms), so a folder is
trusted only when its times are older than the scan by more than ``RACY_NS``. The
default (2 s, for FAT and network file systems) would make every folder in a test
untrusted; the tests lower it to 50 ms and wait that long before the scan whose
folders should be reused, then change files at once.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from conftest import Veriwiki, write
from veriwiki import api
from veriwiki.adapters import fs
from veriwiki.adapters.sqlite_index import write as index_write

RACY = 50_000_000  # 50 ms: longer than the kernel's timestamp tick
DEEP = "wiki/a/b/c/Deep.md"


@pytest.fixture
def short_racy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_write, "RACY_NS", RACY)


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[fs.Walk]:
    """Every walk the index update makes (the real walk, recorded)."""
    seen: list[fs.Walk] = []
    real = index_write.walk_vault

    def spy(*args: object, **kwargs: object) -> fs.Walk:
        w = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(w)
        return w

    monkeypatch.setattr(index_write, "walk_vault", spy)
    return seen


@pytest.fixture
def opened(vault: Path, short_racy: None) -> Iterator[api.Vault]:
    write(vault, DEEP, "# Deep\n\nThe deep page talks about axolotls.\n")
    write(vault, "wiki/a/Shallow.md", "# Shallow\n\nThe shallow page talks about newts.\n")
    for i in range(5):
        write(vault, f"wiki/a/b/Other {i}.md", f"# Other {i}\n\nFiller about salamanders.\n")
    v = api.open_vault(vault)
    api.update_index(v)
    yield v
    v.close()


def settled(v: api.Vault) -> None:
    """Let the folders' times age past the racy window, then scan once to record them."""
    time.sleep(2 * RACY / 1e9)
    api.update_index(v)
    api.update_index(v)


def paths_for(v: api.Vault, query: str) -> list[str]:
    return sorted(hit.path for hit in api.search(v, query))


def test_scan_reuses_unchanged_folders_and_parses_nothing(opened: api.Vault,
                                                          walks: list[fs.Walk]) -> None:
    settled(opened)
    stats = api.update_index(opened)
    assert stats.parsed == 0
    last = walks[-1]
    assert last.reused == len(last.folders) > 5  # nothing was listed again
    assert "wiki/a/b/c" in last.folders


def test_scan_edit_in_place_in_deep_folder_seen_at_once(opened: api.Vault,
                                                        walks: list[fs.Walk]) -> None:
    settled(opened)
    page = opened.root / DEEP
    with open(page, "r+", encoding="utf-8") as f:  # in place: the folder does not change
        f.write("# Deep\n\nThe deep page talks about capybaras.\n")
    assert paths_for(opened, "capybaras") == [DEEP]
    assert paths_for(opened, "axolotls") == []
    assert walks[-1].reused == len(walks[-1].folders)  # found without listing a folder


def test_scan_same_size_edit_with_mtime_put_back_seen(opened: api.Vault) -> None:
    settled(opened)
    page = opened.root / DEEP
    st = page.stat()
    text = page.read_text(encoding="utf-8").replace("axolotls", "tuataras")
    assert len(text.encode()) == st.st_size
    page.write_text(text, encoding="utf-8")
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))  # as within one coarse tick
    assert page.stat().st_mtime_ns == st.st_mtime_ns and page.stat().st_size == st.st_size
    assert paths_for(opened, "tuataras") == [DEEP]
    assert paths_for(opened, "axolotls") == []


def test_scan_same_size_edit_right_after_indexing_seen(vault: Path) -> None:
    """Default racy window: a page indexed within one tick of its edit is read again."""
    page = write(vault, "wiki/Tick.md", "# Tick\n\nThe word is walrus.\n")
    with closing(api.open_vault(vault)) as v:
        assert paths_for(v, "walrus") == ["wiki/Tick.md"]
        st = page.stat()
        page.write_text("# Tick\n\nThe word is otters.\n", encoding="utf-8")
        os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert paths_for(v, "otters") == ["wiki/Tick.md"]
        assert paths_for(v, "walrus") == []


def test_scan_added_file_in_deep_folder_found(opened: api.Vault,
                                              walks: list[fs.Walk]) -> None:
    settled(opened)
    write(opened.root, "wiki/a/b/c/New.md", "# New\n\nA new page about quokkas.\n")
    assert paths_for(opened, "quokkas") == ["wiki/a/b/c/New.md"]
    assert "wiki/a/b/c" in walks[-1].folders
    assert walks[-1].reused == len(walks[-1].folders) - 1  # only that folder listed again


def test_scan_deleted_file_leaves_search(opened: api.Vault) -> None:
    settled(opened)
    (opened.root / DEEP).unlink()
    assert paths_for(opened, "axolotls") == []
    assert api.update_index(opened).total == 8  # 7 pages + index.md + log.md - 1 deleted


def test_scan_renamed_file_found_under_new_name_only(opened: api.Vault) -> None:
    settled(opened)
    (opened.root / DEEP).rename(opened.root / "wiki/a/b/c/Renamed.md")
    assert paths_for(opened, "axolotls") == ["wiki/a/b/c/Renamed.md"]


def test_scan_renamed_folder_found_under_new_path(opened: api.Vault) -> None:
    settled(opened)
    (opened.root / "wiki/a/b/c").rename(opened.root / "wiki/a/b/d")
    assert paths_for(opened, "axolotls") == ["wiki/a/b/d/Deep.md"]


def test_scan_folder_replaced_by_copy_with_same_times_seen(opened: api.Vault,
                                                           tmp_path: Path) -> None:
    """A folder swapped for another whose mtime was set to the old one's (cp -a, rsync)."""
    settled(opened)
    folder = opened.root / "wiki/a/b/c"
    st = folder.stat()
    other = tmp_path / "other"
    write(other, "Deep.md", "# Deep\n\nThe copied page talks about okapis.\n")
    write(other, "Extra.md", "# Extra\n\nAn extra page about okapis.\n")
    shutil.rmtree(folder)
    shutil.move(str(other), str(folder))
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert folder.stat().st_mtime_ns == st.st_mtime_ns
    assert paths_for(opened, "okapis") == [DEEP, "wiki/a/b/c/Extra.md"]
    assert paths_for(opened, "axolotls") == []


def test_scan_folder_that_becomes_a_site_is_dropped(opened: api.Vault) -> None:
    settled(opened)
    write(opened.root, "wiki/a/b/c/.veriwiki-site.json", "{}")
    assert paths_for(opened, "axolotls") == []


def test_scan_link_turning_outside_is_refused(vault: Path, short_racy: None,
                                              tmp_path: Path) -> None:
    """A folder holding a link is always listed: the link's target can change alone."""
    write(vault, "wiki/real/Target.md", "# Target\n\nThe target talks about pangolins.\n")
    (vault / "wiki/links").mkdir()
    os.symlink("../real/Target.md", vault / "wiki/links/Link.md")
    outside = tmp_path / "outside"
    write(outside, "Target.md", "# Outside\n\nOutside text about pangolins.\n")
    with closing(api.open_vault(vault)) as v:
        settled(v)
        assert paths_for(v, "pangolins") == ["wiki/links/Link.md", "wiki/real/Target.md"]
        real = vault / "wiki/real"
        real.rename(vault / "wiki/moved")
        os.symlink(outside, real)
        assert paths_for(v, "pangolins") == ["wiki/moved/Target.md"]
        assert "wiki/links/Link.md" in {p.path for p in v.index.problems()}


def test_walk_with_previous_equals_full_walk_after_each_change(vault: Path) -> None:
    """Differential: after every kind of change, a walk reusing the last one's folders
    lists exactly what a walk from scratch lists, in the same order."""
    root = vault
    write(root, "wiki/x/One.md", "one")
    write(root, "wiki/x/y/Two.md", "two")
    write(root, "wiki/x/y/pic.png", "png")
    changes = [
        lambda: write(root, "wiki/x/y/Three.md", "three"),
        lambda: (root / "wiki/x/y/Two.md").unlink(),
        lambda: (root / "wiki/x/One.md").rename(root / "wiki/x/Uno.md"),
        lambda: write(root, "wiki/x/Uno.md", "uno, longer now"),
        lambda: (root / "wiki/x/z").mkdir(),
        lambda: write(root, "wiki/x/z/Four.md", "four"),
        lambda: write(root, "wiki/x/z/Bad\\name.md", "bad"),
        lambda: (root / "wiki/x/y/pic.png").rename(root / "wiki/x/y/Pic.md"),
        lambda: write(root, "wiki/x/.hidden.md", "dot files change the folder only"),
        lambda: shutil.rmtree(root / "wiki/x/z"),
        lambda: os.symlink("../x/Uno.md", root / "wiki/x/y/Link.md"),
        lambda: write(root, "wiki/x/node_modules/Skip.md", "skipped folder"),
        lambda: write(root, "wiki/x/y/.veriwiki-site.json", "{}"),
    ]
    for change in changes:
        time.sleep(2 * RACY / 1e9)
        before = fs.walk_vault(root, "wiki", trusted_before=time.time_ns() - RACY)
        change()
        reused = fs.walk_vault(root, "wiki", previous=before.folders,
                               trusted_before=time.time_ns() - RACY)
        fresh = fs.walk_vault(root, "wiki")
        assert reused.pages == fresh.pages
        assert reused.attachments == fresh.attachments
        assert sorted(map(repr, reused.problems)) == sorted(map(repr, fresh.problems))
        assert reused.reused > 0  # the comparison is not between two full walks


def test_walk_folder_changed_within_the_racy_window_is_listed_again(vault: Path) -> None:
    """Two changes within one clock tick leave a folder's times equal: a folder that
    changed just before a walk is never reused by the next one."""
    write(vault, "wiki/t/A.md", "a")
    first = fs.walk_vault(vault, "wiki", trusted_before=time.time_ns() - RACY)
    assert first.folders["wiki/t"].sig is None
    write(vault, "wiki/t/B.md", "b")  # most likely within the same tick as A
    second = fs.walk_vault(vault, "wiki", previous=first.folders,
                           trusted_before=time.time_ns() - RACY)
    assert [e.path for e in second.pages if e.path.startswith("wiki/t/")] == [
        "wiki/t/A.md", "wiki/t/B.md"]


def test_cli_search_right_after_edit_in_reused_folder(vw: Veriwiki, vault: Path) -> None:
    """End to end with the default 2 s racy window: folders old enough to be reused,
    then a page edited in place and searched at once by a new process."""
    write(vault, DEEP, "# Deep\n\nThe deep page talks about axolotls.\n")
    write(vault, "wiki/a/b/Other.md", "# Other\n\nFiller about salamanders.\n")
    time.sleep(index_write.RACY_NS / 1e9 + 0.3)
    assert [h["path"] for h in vw.json("search", "axolotls")] == [DEEP]
    assert [h["path"] for h in vw.json("search", "salamanders")] == ["wiki/a/b/Other.md"]
    page = vault / DEEP
    with open(page, "r+", encoding="utf-8") as f:
        f.write("# Deep\n\nThe deep page talks about capybaras.\n")
    assert [h["path"] for h in vw.json("search", "capybaras")] == [DEEP]
    assert vw.json("search", "axolotls") == []
