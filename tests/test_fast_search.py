"""The fast path of ``veriwiki search --json`` (veriwiki.cli.fast_search).

It must print exactly what the full command prints, and never answer from an index
that a change to the files, the settings, the git index or the state folder may have
made stale: in each such case it declines (returns None) and the full command runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from veriwiki import api
from veriwiki.cli.fast_search import answer, parse

RACY_S = 2.2  # folder and git-index times must be older than 2 s to be trusted

PAGES = {
    "Scaling Laws": "---\ntitle: Scaling Laws\naliases: [Kaplan laws]\n---\n"
                    "Loss falls as a power law in compute.\n",
    "Chinchilla": "# Chinchilla\n\nCompute-optimal training uses 20 tokens per parameter; "
                  "scaling laws again.\n",
    "notes/Attention": "---\ntitle: Attention\n---\nAttention heads attend. Über-naïve "
                       "tokens, 注意力 and \x85control\x9f characters.\n",
    "notes/deep/GQA": "---\naliases: [GQA]\n---\nGrouped-query attention shares key and "
                      "value heads.\n",
}


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


def _full(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``veriwiki ARGS`` through the full CLI (the fast path turned off)."""
    env = {**os.environ, "VERIWIKI_NO_FAST_PATH": "1"}
    return subprocess.run([sys.executable, "-m", "veriwiki", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def _settle(root: Path) -> None:
    """Let every time in the vault become old enough to trust, then let the full
    command refresh the index, its folder stats and the state mark."""
    time.sleep(RACY_S)
    assert _full(root, "search", "--json", "warm").returncode == 0


def _make(root: Path) -> Path:
    api.init_vault(root)
    for name, text in PAGES.items():
        path = root / "wiki" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "pages")
    _settle(root)
    return root


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make(tmp_path_factory.mktemp("fast") / "v")


@pytest.fixture()
def cwd(vault: Path) -> Path:
    old = os.getcwd()
    os.chdir(vault)
    yield vault
    os.chdir(old)


QUERIES = [
    ["search", "--json", "scaling laws"],
    ["search", "scaling laws", "--json"],
    ["search", "--json", "kaplan laws"],  # an alias, exactly
    ["search", "--json", "GQA"],
    ["search", "--json", "attention heads", "--limit", "1"],
    ["search", "--json", "-n", "2", "attention"],
    ["search", "--json", "--limit=3", "compute"],
    ["search", "--json", "über naïve"],
    ["search", "--json", "注意力"],
    ["search", "--json", "control"],  # C1 characters in the snippet are escaped
    ["search", "--json", "nothing-matches-this"],
    ["search", "--json", "!!!"],  # no words: no hits
    ["search", "--json", '"quoted" AND NEAR(x)'],  # FTS syntax is searched as words
    ["search", "--json", "scal"],  # prefix
]


@pytest.mark.parametrize("argv", QUERIES, ids=[" ".join(q) for q in QUERIES])
def test_fast_answer_equals_the_full_command(cwd: Path, argv: list[str]) -> None:
    fast = answer(argv)
    assert fast is not None, "the fast path declined a plain search on a current index"
    full = _full(cwd, *argv)
    assert full.returncode == 0 and full.stderr == ""
    assert fast == full.stdout
    json.loads(fast)


def test_vault_option_and_environment(vault: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # outside any vault
    argv = ["--vault", str(vault), "search", "--json", "chinchilla"]
    fast = answer(argv)
    assert fast is not None and fast == _full(tmp_path, *argv).stdout
    assert "Chinchilla" in fast
    assert answer(["search", "--json", "chinchilla"]) is None  # no vault here
    monkeypatch.setenv("VERIWIKI_VAULT", str(vault))
    assert answer(["search", "--json", "chinchilla"]) == fast
    monkeypatch.setenv("VERIWIKI_NO_FAST_PATH", "1")
    assert answer(["search", "--json", "chinchilla"]) is None


@pytest.mark.parametrize("argv", [
    ["search", "scaling"],  # human output: rich formatting, the full command's job
    ["search", "--json"],  # no query: click explains
    ["search", "--json", "a", "b"],  # two arguments: click explains
    ["search", "--json", "--limit", "0", "x"],  # out of range: click explains
    ["search", "--json", "--limit", "x", "y"],
    ["search", "--json", "-h"],
    ["search", "--json", "--", "-x"],
    ["search", "--json", "-x"],
    ["--trust", "search", "--json", "x"],
    ["--vault=", "search", "--json", "x"],
    ["index"],
    ["search", "--json", " ".join(f"w{i}" for i in range(40))],  # the full path notes the cap
])
def test_declines_what_the_full_command_should_answer(cwd: Path, argv: list[str]) -> None:
    assert answer(argv) is None


def test_parse() -> None:
    assert parse(["search", "--json", "q"]) == (None, "q", 10)
    assert parse(["--vault", "/v", "search", "-n", "7", "q", "--json"]) == ("/v", "q", 7)
    assert parse(["--vault=/v", "search", "--limit=1000", "--json", "q"]) == ("/v", "q", 1000)
    assert parse(["search", "--json", "--limit", "1001", "q"]) is None
    assert parse(["search", "--json", "--limit", "٣", "q"]) is None  # not an ASCII digit


def test_never_answers_from_a_stale_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    root = _make(tmp_path / "v")
    monkeypatch.chdir(root)
    argv = ["search", "--json", "zebra"]
    assert answer(argv) == "[]\n"
    page = root / "wiki" / "Chinchilla.md"

    def settled(query: list[str] = argv) -> None:
        """Times old enough to trust: the fast path answers (so the next None is the
        change's doing, not a time too recent to trust)."""
        _settle(root)
        assert answer(query) is not None

    def stale_then_refreshed(expect_hit: bool, query: list[str] = argv) -> None:
        assert answer(query) is None  # the index does not know the change yet
        out = json.loads(_full(root, *query).stdout)  # the full command re-indexes
        assert bool(out) == expect_hit

    # an edit that keeps the size and puts the old mtime back: only the ctime moves
    text = page.read_text().replace("Chinchilla", "Quokkasaur")
    st = page.stat()
    page.write_text(text)
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert page.stat().st_size == st.st_size and page.stat().st_mtime_ns == st.st_mtime_ns
    stale_then_refreshed(True, ["search", "--json", "quokkasaur"])
    # an edit in place (the folder's times do not change)
    settled()
    before = page.stat()
    page.write_text(page.read_text() + "A zebra.\n")
    stale_then_refreshed(True)
    assert before.st_ino == page.stat().st_ino
    # a new page, in a new folder, then deleted
    okapi = ["search", "--json", "okapi"]
    new = root / "wiki" / "zoo" / "Okapi.md"
    settled(okapi)
    new.parent.mkdir()
    new.write_text("An okapi page.\n")
    stale_then_refreshed(True, okapi)
    settled(okapi)
    new.unlink()
    stale_then_refreshed(False, okapi)
    # a page renamed into the same folder
    settled()
    (root / "wiki" / "Chinchilla.md").rename(root / "wiki" / "Zebra.md")
    stale_then_refreshed(True)

    # after the times settle, the fast path answers again, and agrees
    _settle(root)
    assert answer(argv) == _full(root, *argv).stdout

    # the settings changed: the snapshot no longer matches the file
    config = root / "veriwiki.toml"
    config.write_text(config.read_text() + "\n# edited\n")
    assert answer(argv) is None
    assert _full(root, *argv).returncode == 0  # writes the new snapshot
    # an operation to recover
    journal = root / ".veriwiki" / "journal.json"
    journal.write_text("{}")
    assert answer(argv) is None
    journal.unlink()
    # git's index changed (something may now track .veriwiki): the mark no longer holds
    (root / "wiki" / "Extra.md").write_text("extra\n")
    _git(root, "add", "wiki/Extra.md")
    assert answer(argv) is None
    _settle(root)
    assert answer(argv) is not None


def test_a_tracked_state_folder_is_never_trusted(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A repository that commits .veriwiki/ (with a forged mark and settings) gets the
    full path, which moves the state elsewhere and says so."""
    root = _make(tmp_path / "v")
    monkeypatch.chdir(root)
    argv = ["search", "--json", "compute"]
    assert answer(argv) is not None
    _git(root, "add", "-f", ".veriwiki/untracked.json", ".veriwiki/settings.json")
    _git(root, "commit", "-qm", "track the state folder")
    time.sleep(RACY_S)
    assert answer(argv) is None
    full = _full(root, *argv)
    assert full.returncode == 0 and "tracked by git" in full.stderr
    time.sleep(RACY_S)
    assert answer(argv) is None  # the mark in the tracked folder is never rewritten


def test_a_built_site_in_the_vault_does_not_stop_the_fast_path(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    root = _make(tmp_path / "v")
    monkeypatch.chdir(root)
    site = root / "site"
    site.mkdir()
    (site / ".veriwiki-site.json").write_text("{}")
    (site / "Page.md").write_text("not a page: site output\n")
    assert answer(["search", "--json", "compute"]) is None  # the root folder changed
    _settle(root)
    fast = answer(["search", "--json", "output"])
    assert fast == "[]\n" == _full(root, "search", "--json", "output").stdout


def test_a_linked_index_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _make(tmp_path / "v")
    monkeypatch.chdir(root)
    db = root / ".veriwiki" / "index.db"
    moved = tmp_path / "elsewhere.db"
    db.rename(moved)
    db.symlink_to(moved)
    assert answer(["search", "--json", "compute"]) is None


def test_the_console_command_takes_the_fast_path(cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VERIWIKI_NO_FAST_PATH"}
    fast = subprocess.run([sys.executable, "-m", "veriwiki", "search", "--json", "scaling"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert fast.returncode == 0 and fast.stderr == ""
    assert fast.stdout == _full(cwd, "search", "--json", "scaling").stdout


def test_a_vault_outside_any_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    """With no repository around the vault nothing can be tracked: no mark is needed.
    A repository in a folder above the vault could track .veriwiki/: the mark is."""
    import shutil

    root = _make(tmp_path / "outer" / "v")
    monkeypatch.chdir(root)
    shutil.rmtree(root / ".git")
    (root / ".veriwiki" / "untracked.json").unlink()
    _settle(root)  # the root folder changed when .git went
    argv = ["search", "--json", "compute"]
    assert not (root / ".veriwiki" / "untracked.json").exists()
    assert answer(argv) == _full(root, *argv).stdout
    (tmp_path / "outer" / ".git").mkdir()  # a repository above the vault
    assert answer(argv) is None
