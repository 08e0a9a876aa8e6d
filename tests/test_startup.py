"""What a command imports before it answers, and the settings snapshot that keeps
pydantic out of it.

Agents call ``veriwiki search`` in loops, so its start-up is part of every answer. The
test pins the set of modules it imports (a set, not a time: times vary by machine):
adding an import to the search path fails here until the list below is changed on
purpose. docs/benchmarks.md has the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from veriwiki.config import Config, load_config
from veriwiki.errors import ConfigError
from veriwiki.settings import SNAPSHOT, VaultPaths, read_settings
from veriwiki.vault import _validate, open_vault

# Third-party packages `veriwiki search` may import (everything else must be stdlib).
THIRD_PARTY = {"click"}

# The veriwiki modules `veriwiki search --json` imports with a current index: the fast
# path (veriwiki.cli.fast_search), standard library only besides these.
FAST_SEARCH_MODULES = {
    "veriwiki", "veriwiki.errors", "veriwiki.snapshot",
    "veriwiki.cli", "veriwiki.cli.entry", "veriwiki.cli.fast_search",
    "veriwiki.adapters", "veriwiki.adapters.index_light", "veriwiki.adapters.state_mark",
    "veriwiki.core", "veriwiki.core.names", "veriwiki.core.query",
}
# Standard-library modules the fast path keeps out (each costs 10-15 ms of start-up).
FAST_SEARCH_AVOIDS = {"dataclasses", "pathlib", "subprocess", "typing", "inspect"}

# The veriwiki modules of the full `veriwiki search` (human output, or whenever the fast
# path declines), with a current index.
SEARCH_MODULES = {
    "veriwiki", "veriwiki.errors", "veriwiki.settings", "veriwiki.snapshot", "veriwiki.vault",
    "veriwiki.cli", "veriwiki.cli.app", "veriwiki.cli.main", "veriwiki.cli.query_cmds",
    "veriwiki.cli.entry", "veriwiki.cli.fast_search",
    "veriwiki.cli.json_out",  # print_json's writer (standard library only)
    "veriwiki.adapters", "veriwiki.adapters.fs", "veriwiki.adapters.git",
    "veriwiki.adapters.git_options", "veriwiki.adapters.isolation", "veriwiki.adapters.lock",
    "veriwiki.adapters.settle", "veriwiki.adapters.state_dir", "veriwiki.adapters.store",
    "veriwiki.adapters.writes", "veriwiki.adapters.sqlite_tx",
    "veriwiki.adapters.index_light", "veriwiki.adapters.state_mark",
    "veriwiki.adapters.sqlite_index", "veriwiki.adapters.sqlite_index.manifest",
    "veriwiki.adapters.sqlite_index.query", "veriwiki.adapters.sqlite_index.schema",
    "veriwiki.adapters.sqlite_index.write",
    "veriwiki.core", "veriwiki.core.catalog", "veriwiki.core.claims", "veriwiki.core.model",
    "veriwiki.core.names", "veriwiki.core.query", "veriwiki.core.records",
    "veriwiki.core.resolve",
    "veriwiki.services", "veriwiki.services.indexing", "veriwiki.services.write",
}


def imported(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """Every module in ``sys.modules`` when ``veriwiki ARGS`` exits."""
    out = cwd / ".modules.json"
    code = ("import atexit, json, sys\n"
            f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps(list(sys.modules))))\n"
            f"sys.argv = ['veriwiki', *{args!r}]\n"
            "from veriwiki.cli.entry import main\n"
            "main()\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set(json.loads(out.read_text()))
    out.unlink()
    return names


def third_party(names: set[str]) -> set[str]:
    tops = {n.split(".")[0] for n in names}
    return {t for t in tops if t not in sys.stdlib_module_names and not t.startswith("_")
            and t not in {"veriwiki", "sitecustomize", "usercustomize"}}


@pytest.fixture()
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "veriwiki", "init", str(root)], check=True,
                   capture_output=True, timeout=120)
    page = root / "wiki" / "Alpha.md"
    page.write_text("# Alpha\n\nAttention is all you need [[Beta]].\n")
    # the first search builds the index (that run parses pages and may import more);
    # once the files' times are old enough to trust (2 s), the next one records them
    subprocess.run([sys.executable, "-m", "veriwiki", "search", "alpha"], cwd=root,
                   check=True, capture_output=True, timeout=120)
    time.sleep(2.2)
    subprocess.run([sys.executable, "-m", "veriwiki", "search", "alpha"], cwd=root,
                   check=True, capture_output=True, timeout=120)
    return root


def test_json_search_imports_only_the_fast_path(vault: Path) -> None:
    names = imported(["search", "attention", "--json"], vault)
    assert third_party(names) == set(), "the fast path imports no third-party package"
    ours = {n for n in names if n == "veriwiki" or n.startswith("veriwiki.")}
    assert ours - FAST_SEARCH_MODULES == set(), (
        "`veriwiki search --json` imports more of veriwiki than agreed; keep the import "
        "lazy, or add the module to FAST_SEARCH_MODULES on purpose")
    assert names & FAST_SEARCH_AVOIDS == set()
    assert "veriwiki.cli.fast_search" in names  # the test saw a real search run


def test_search_imports_only_the_agreed_modules(vault: Path) -> None:
    names = imported(["search", "attention"], vault)  # human output: the full command
    assert third_party(names) <= THIRD_PARTY | {"rich", "markdown_it", "mdurl", "pygments"}
    ours = {n for n in names if n == "veriwiki" or n.startswith("veriwiki.")}
    assert ours - SEARCH_MODULES == set(), (
        "`veriwiki search` imports more of veriwiki than agreed; keep the import lazy, or "
        "add the module to SEARCH_MODULES on purpose")
    assert "veriwiki.cli.query_cmds" in names  # the test saw a real search run
    names = imported(["search", "attention", "--json"], vault,
                     env={"VERIWIKI_NO_FAST_PATH": "1"})
    assert third_party(names) <= THIRD_PARTY, "search must not import these packages"
    assert {n for n in names if n.startswith("veriwiki")} - SEARCH_MODULES == set()


def test_version_imports_no_vault_code(tmp_path: Path) -> None:
    names = imported(["--version"], tmp_path)
    assert third_party(names) <= THIRD_PARTY
    assert not {n for n in names if n.startswith(("veriwiki.adapters", "veriwiki.core",
                                                  "veriwiki.services"))}


def test_human_search_output_still_uses_rich(vault: Path) -> None:
    """rich is loaded on first print, so human output is unchanged."""
    names = imported(["search", "attention"], vault)
    assert "rich.console" in names


def test_snapshot_gives_the_same_settings_as_the_schema(tmp_path: Path) -> None:
    (tmp_path / "veriwiki.toml").write_text(
        '[vault]\nname = "n"\nexclude = ["drafts/**"]\nlock_timeout = 3\n'
        '[llm]\nprices = { "gpt-x" = [1.5, 2] }\nthreads = 2\n'
        '[checks]\norphan-page = "off"\n')
    state = tmp_path / ".veriwiki"
    state.mkdir()
    first = read_settings(tmp_path, state, _validate)  # validates and writes the snapshot
    assert (state / SNAPSHOT).is_file()
    second = read_settings(tmp_path, state, _validate)  # from the snapshot
    assert first == second
    direct = load_config(tmp_path)
    assert Config.model_validate(second) == direct
    paths = VaultPaths.of(second)
    assert (paths.exclude, paths.lock_timeout) == (("drafts/**",), 3.0)


def test_an_edited_file_is_validated_again(tmp_path: Path) -> None:
    config = tmp_path / "veriwiki.toml"
    config.write_text("[vault]\nmax_page_bytes = 100\n")
    state = tmp_path / ".veriwiki"
    state.mkdir()
    assert read_settings(tmp_path, state, _validate)["vault"]["max_page_bytes"] == 100
    config.write_text("[vault]\nmax_page_bytes = -1\n")
    with pytest.raises(ConfigError, match="max_page_bytes"):
        read_settings(tmp_path, state, _validate)
    config.write_text("[vault]\nmax_page_bytes = 7\n")
    assert read_settings(tmp_path, state, _validate)["vault"]["max_page_bytes"] == 7


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"key": "x", "data": {}}', b"[]"])
def test_a_damaged_or_foreign_snapshot_is_ignored(tmp_path: Path, damage: bytes) -> None:
    (tmp_path / "veriwiki.toml").write_text("[vault]\nname = \"x\"\n")
    state = tmp_path / ".veriwiki"
    state.mkdir()
    (state / SNAPSHOT).write_bytes(damage)
    assert read_settings(tmp_path, state, _validate)["vault"]["name"] == "x"
    assert json.loads((state / SNAPSHOT).read_bytes())["data"]["vault"]["name"] == "x"


def test_a_snapshot_with_the_right_key_and_a_wrong_shape_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "veriwiki.toml").write_text("[vault]\nname = \"x\"\n")
    state = tmp_path / ".veriwiki"
    state.mkdir()
    read_settings(tmp_path, state, _validate)
    snap = json.loads((state / SNAPSHOT).read_bytes())
    del snap["data"]["vault"]["pages"]
    (state / SNAPSHOT).write_text(json.dumps(snap))
    assert read_settings(tmp_path, state, _validate)["vault"]["pages"] == "wiki"


def test_vault_builds_the_schema_only_when_asked(vault: Path) -> None:
    opened = open_vault(vault)
    assert opened._config is None
    assert opened.pages_root == "wiki"
    assert opened._config is None  # [vault] paths come from the snapshot
    assert opened.config.vault.pages == "wiki"
    opened.config.vault.max_page_bytes = 10  # the typed object is the truth once built
    assert opened.vault_settings.max_page_bytes == 10


def test_progress_bars_get_a_real_console() -> None:
    """rich enters a Progress's console as a context manager, which a stand-in object
    cannot be (special methods skip __getattr__): commands pass real_console(err)."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from veriwiki.cli.app import _LazyConsole, real_console

    lazy = _LazyConsole(file=io.StringIO(), force_terminal=True)
    with pytest.raises(TypeError), Progress(console=lazy, transient=True):  # type: ignore[arg-type]
        pass
    console = real_console(lazy)  # type: ignore[arg-type]
    assert isinstance(console, Console)
    with Progress(console=console, transient=True) as bar:
        bar.update(bar.add_task("x", total=2), completed=1)
    mine = Console()
    assert real_console(mine) is mine


def test_no_snapshot_through_a_linked_state_folder(tmp_path: Path) -> None:
    """A state folder that is a link is neither read nor written: a forged snapshot
    there could skip validation."""
    (tmp_path / "veriwiki.toml").write_text("[vault]\nmax_page_bytes = 100\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / ".veriwiki").symlink_to(elsewhere)
    assert read_settings(tmp_path, tmp_path / ".veriwiki", _validate)["vault"][
        "max_page_bytes"] == 100
    assert list(elsewhere.iterdir()) == []
    forged = {"vault": {"pages": "x", "index_page": "x", "log_page": "x",
                        "max_page_bytes": -5, "exclude": [], "lock_timeout": 1}}
    from veriwiki.snapshot import snapshot_key

    key = snapshot_key((tmp_path / "veriwiki.toml").read_bytes())
    (elsewhere / SNAPSHOT).write_text(json.dumps({"key": key, "data": forged}))
    assert read_settings(tmp_path, tmp_path / ".veriwiki", _validate)["vault"][
        "max_page_bytes"] == 100
