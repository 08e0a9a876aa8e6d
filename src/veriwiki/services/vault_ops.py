"""Creating a vault, or adopting an existing folder of notes as one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from veriwiki.adapters.git import GitRepo
from veriwiki.adapters.writes import atomic_write, ensure_dir
from veriwiki.config import CONFIG_FILE, DEFAULT_TOML
from veriwiki.core.catalog import default_index_page, default_log_page
from veriwiki.core.names import file_name_problem
from veriwiki.errors import ConflictError, InputError
from veriwiki.vault import STATE_DIR, find_root, open_vault

SUBDIRS = ("raw", "data", "schemas")


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``init`` created."""

    root: Path
    created: list[str]
    commit: str | None
    git_initialised: bool


def _agents_text() -> str:
    return resources.files("veriwiki.builtin").joinpath("AGENTS.md").read_text("utf-8")


def _write_new(root: Path, rel: str, text: str, created: list[str]) -> None:
    path = root / rel
    if path.exists() or path.is_symlink():
        return
    atomic_write(path, text.encode(), root=root)
    created.append(rel)


def _toml(name: str, pages: str, index_page: str, log_page: str,
          exclude: list[str] | None = None) -> str:
    esc = name.replace("\\", "\\\\").replace('"', '\\"')
    patterns = "[" + ", ".join(json.dumps(p) for p in exclude or []) + "]"
    return DEFAULT_TOML.format(name=esc, pages=pages, index_page=index_page, log_page=log_page,
                               exclude=patterns)


def init_vault(directory: str | Path, *, name: str | None = None) -> InitResult:
    """Create a new vault in ``directory`` (created if missing), git-initialised, one commit."""
    root = Path(directory).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise InputError(f"{directory} exists and is not a folder")
    if (root / CONFIG_FILE).exists():
        raise ConflictError(f"{root} is already a veriwiki vault",
                            hint="use it as it is; nothing was changed")
    outer = find_root(root.parent) if root.parent != root else None
    if outer is not None:
        raise ConflictError(f"{root} is inside the vault {outer}",
                            hint="create the new vault outside it")
    if root.exists() and any(p for p in root.iterdir() if p.name != ".git"):
        raise ConflictError(
            f"{root} is not empty",
            hint=f"to turn existing notes into a vault without moving them, run "
                 f"'veriwiki init --adopt {directory}'")
    root.mkdir(parents=True, exist_ok=True)
    name = name or root.name
    created: list[str] = []
    _write_new(root, CONFIG_FILE, _toml(name, "wiki", "wiki/index.md", "wiki/log.md"), created)
    _write_new(root, "AGENTS.md", _agents_text(), created)
    _write_new(root, ".gitignore", f"{STATE_DIR}/\n", created)
    _write_new(root, "wiki/index.md", default_index_page(name), created)
    _write_new(root, "wiki/log.md", default_log_page(), created)
    for sub in SUBDIRS:
        _write_new(root, f"{sub}/.gitkeep", "", created)
    # a new vault inside another repository gets a repository of its own
    return _commit_init(root, created, "init", name, nested_ok=True)


def _commit_init(root: Path, created: list[str], op: str, name: str,
                 nested_ok: bool = False) -> InitResult:
    git = GitRepo(root)
    initialised = False
    if not git.is_repo():
        if git.inside_repo() and not nested_ok:
            raise ConflictError(f"{root} is inside another git repository",
                                hint="adopt the repository's top folder instead")
        git.run("init", "-q")
        initialised = True
    ensure_dir(root / STATE_DIR, root)
    atomic_write(root / STATE_DIR / ".gitignore", b"*\n", root=root)
    vault = open_vault(root)
    from veriwiki.adapters.store import transaction
    from veriwiki.services.write import finish

    with transaction(root, vault.state_dir, op, vault.vault_settings.lock_timeout) as tx:
        for rel in created:
            data = (root / rel).read_bytes()
            tx.commit_files[rel] = data
            tx.work_files[rel] = data
        result = finish(vault, tx, op, name)
    vault.close()
    return InitResult(root, created, result.commit, initialised)


def adopt_vault(directory: str | Path, *, name: str | None = None) -> InitResult:
    """Make an existing folder of notes a vault without moving or rewriting its files.

    Every markdown file in the folder becomes a page; veriwiki adds only its own files
    (veriwiki.toml, AGENTS.md unless present, raw/, data/, schemas/, and a catalog and
    log whose names avoid the user's files). In a folder that was not yet a git
    repository, the first commit also records the user's notes.
    """
    root = Path(directory).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"{directory} is not an existing folder",
                         hint="give the folder of notes to adopt")
    if (root / CONFIG_FILE).exists():
        raise ConflictError(f"{root} is already a veriwiki vault")
    name = name or root.name
    git = GitRepo(root)
    was_repo = git.is_repo()
    if not was_repo and git.inside_repo():
        top = git.text("rev-parse", "--show-toplevel")
        raise ConflictError(f"{root} is a sub-folder of the git repository {top}",
                            hint=f"adopt the repository's top folder ({top}) instead")
    index_page = "index.md" if not (root / "index.md").exists() else "veriwiki-index.md"
    log_page = "log.md" if not (root / "log.md").exists() else "veriwiki-log.md"
    for candidate in (index_page, log_page):
        if (root / candidate).exists():
            raise ConflictError(f"{candidate} already exists in {root}",
                                hint="rename it; veriwiki needs a catalog and a log page")
    created: list[str] = []
    agents = "AGENTS.md" if not (root / "AGENTS.md").exists() else "VERIWIKI-AGENTS.md"
    _write_new(root, CONFIG_FILE, _toml(name, ".", index_page, log_page, [agents]), created)
    _write_new(root, agents, _agents_text(), created)
    for sub in SUBDIRS:
        if not (root / sub).exists():
            _write_new(root, f"{sub}/.gitkeep", "", created)
    if not was_repo and not (root / ".gitignore").exists():
        _write_new(root, ".gitignore", f"{STATE_DIR}/\n.obsidian/workspace*.json\n", created)
    if not was_repo:
        git.run("init", "-q")
        # the user's notes enter the first commit along with veriwiki's files
        listed = git.run("ls-files", "-z", "--others", "--exclude-standard").decode(
            "utf-8", "surrogateescape")
        for rel in listed.split("\0"):
            # a link is left untracked: committing it would commit what it points at;
            # so is a name no link can reach (check reports it as unreadable-file)
            if (rel and rel not in created and not rel.startswith(STATE_DIR + "/")
                    and not (root / rel).is_symlink() and file_name_problem(rel) is None):
                created.append(rel)
        result = _commit_init(root, created, "adopt", name)
        return InitResult(root, created, result.commit, True)
    return _commit_init(root, created, "adopt", name)


