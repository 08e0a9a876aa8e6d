"""The composition root: find a vault, read its config, wire the adapters.

This is the one place that reads the environment.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from veriwiki.adapters.isolation import SandboxPolicy
from veriwiki.errors import ConfigError, VaultNotFoundError
from veriwiki.settings import (
    CONFIG_FILE,
    FreshnessValues,
    SandboxValues,
    VaultPaths,
    read_settings,
)

if TYPE_CHECKING:
    from veriwiki.adapters.git import GitRepo
    from veriwiki.adapters.sqlite_index import SqliteIndex
    from veriwiki.config import Config, FreshnessSettings, SandboxSettings, VaultSettings
    from veriwiki.core.model import Severity

STATE_DIR = ".veriwiki"


@dataclass
class Vault:
    """An opened vault: its root folder, settings and adapters.

    Services reach git, the index, the caches and today's date through it, so every
    front end (the CLI, the web app, the MCP server) gets them the same way.
    """

    root: Path
    settings: dict[str, Any] = field(repr=False)
    """The validated settings of veriwiki.toml as JSON data (see ``veriwiki.settings``)."""
    _config: Config | None = field(default=None, repr=False)
    _index: SqliteIndex | None = field(default=None, repr=False)
    _git: GitRepo | None = field(default=None, repr=False)
    sandbox: SandboxPolicy = field(default_factory=SandboxPolicy)
    """How check blocks may run (``--trust``); set by the caller, never by veriwiki.toml."""
    state_path: Path | None = field(default=None, repr=False)
    """Where derived state lives when not in ``.veriwiki`` (see adapters.state_dir)."""
    notices: list[str] = field(default_factory=list, repr=False)
    """What opening the vault found that the user should know (printed on stderr)."""
    _private: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The typed settings (the pydantic schema, built on first use)."""
        if self._config is None:
            from veriwiki.config import Config

            self._config = Config.model_validate(self.settings)
        return self._config

    @property
    def vault_settings(self) -> VaultSettings | VaultPaths:
        """The ``[vault]`` settings, without building the whole schema when it is not
        built yet (a read command needs only these)."""
        if self._config is not None:
            return self._config.vault
        return VaultPaths.of(self.settings)

    @property
    def freshness(self) -> FreshnessSettings | FreshnessValues:
        """The ``[freshness]`` settings (without building the schema)."""
        if self._config is not None:
            return self._config.freshness
        return FreshnessValues.of(self.settings)

    @property
    def sandbox_settings(self) -> SandboxSettings | SandboxValues:
        """The ``[sandbox]`` limits (without building the schema)."""
        if self._config is not None:
            return self._config.sandbox
        return SandboxValues.of(self.settings)

    @property
    def check_severities(self) -> dict[str, Severity]:
        """``[checks]``: the severity set per rule id (without building the schema)."""
        if self._config is not None:
            return dict(self._config.checks)
        from veriwiki.core.model import Severity

        return {rule: Severity(value) for rule, value in (self.settings.get("checks") or {}).items()}

    @property
    def default_type(self) -> str | None:
        """``[vault] default_type`` (without building the schema)."""
        if self._config is not None:
            return self._config.vault.default_type
        value = (self.settings.get("vault") or {}).get("default_type")
        return None if value is None else str(value)

    @property
    def pages_root(self) -> str:
        """Folder holding the pages, relative to the root ('.' for the whole vault)."""
        return self.vault_settings.pages

    @property
    def index_page(self) -> str:
        """Path of the generated catalog page."""
        return self.vault_settings.index_page

    @property
    def log_page(self) -> str:
        """Path of the operations log page."""
        return self.vault_settings.log_page

    @property
    def git(self) -> GitRepo:
        """The vault's git repository (every git call goes through it)."""
        if self._git is None:
            from veriwiki.adapters.git import GitRepo

            self._git = GitRepo(self.root)
        return self._git

    def today(self) -> dt.date:
        """Today's date, or the date ``VERIWIKI_TODAY`` pins. Rules get it through the
        check's input, never from the clock."""
        return today()

    def take_notices(self) -> list[str]:
        """What the vault has to tell the user since the last call: what opening it
        found, what the index had to repair (a rebuilt database). Each is given once."""
        found, self.notices = list(self.notices), []
        if self._index is not None and self._index.notice:
            found.append(self._index.notice)
            self._index.notice = None
        return found

    @property
    def state_dir(self) -> Path:
        """The git-ignored folder of derived state (journal, lock, caches)."""
        return self.state_path or self.root / STATE_DIR

    @property
    def cache_dir(self) -> Path:
        """The folder of rebuildable caches: the index, the check, code and verification
        caches, extracted texts, embeddings. The state folder, or a private one after
        :meth:`use_private_caches`."""
        return Path(self._private.name) if self._private is not None else self.state_dir

    def use_private_caches(self) -> None:
        """Read and write no existing cache from now on (``check --no-cache``): caches are
        rebuilt in a new temporary folder, deleted when the process ends."""
        if self._private is None:
            self.close()
            self._index = None
            self._private = tempfile.TemporaryDirectory(prefix="veriwiki-no-cache-")

    @property
    def index(self) -> SqliteIndex:
        """The derived SQLite index (opened on first use)."""
        if self._index is None:
            from veriwiki.adapters.sqlite_index import SqliteIndex

            settings = self.vault_settings
            self._index = SqliteIndex(self.root, self.cache_dir / "index.db", self.pages_root,
                                      settings.max_page_bytes, tuple(settings.exclude),
                                      (self.index_page, self.log_page))
        return self._index

    def close(self) -> None:
        """Release open handles."""
        if self._index is not None:
            self._index.close()


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding veriwiki.toml."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None


def open_vault(path: str | Path | None = None) -> Vault:
    """Open the vault at ``path``, or the one found above the working directory.

    ``VERIWIKI_VAULT`` is used when ``path`` is None.
    """
    if path is None:
        path = os.environ.get("VERIWIKI_VAULT") or None
    if path is not None:
        root = Path(path).expanduser().resolve()
        if not root.is_dir():
            raise VaultNotFoundError(f"{path} is not a directory",
                                     hint="pass the vault folder with --vault")
        if not (root / CONFIG_FILE).is_file():
            raise VaultNotFoundError(
                f"{path} is not a veriwiki vault (no {CONFIG_FILE})",
                hint=f"run 'veriwiki init {path}' for a new vault, or "
                     f"'veriwiki init --adopt {path}' for a folder of notes")
    else:
        found = find_root(Path.cwd())
        if found is None:
            raise VaultNotFoundError(
                f"no veriwiki vault here or above ({Path.cwd()})",
                hint="cd into a vault, pass --vault PATH, set VERIWIKI_VAULT, "
                     "or run 'veriwiki init'")
        root = found
    from veriwiki.adapters.git import GitRepo
    from veriwiki.adapters.state_dir import locate_state

    git = GitRepo(root)
    where = locate_state(root, STATE_DIR, git, user_state_home())
    settings = read_settings(root, where.path, _validate)
    timeout = os.environ.get("VERIWIKI_LOCK_TIMEOUT")
    if timeout:
        try:
            seconds = max(0.0, float(timeout))
        except ValueError:
            raise ConfigError(f"VERIWIKI_LOCK_TIMEOUT={timeout!r} is not a number of seconds",
                              hint="set it to e.g. 30") from None
        settings = {**settings, "vault": {**settings["vault"], "lock_timeout": seconds}}
    default = root / STATE_DIR
    return Vault(root, settings, _git=git,
                 state_path=None if where.path == default else where.path,
                 notices=list(where.notices))


def _validate(raw: bytes) -> dict[str, Any]:
    """veriwiki.toml's bytes checked by the schema, as JSON data (imports pydantic)."""
    from veriwiki.config import parse_config

    return parse_config(raw).model_dump(mode="json")


def user_state_home() -> Path | None:
    """``$XDG_STATE_HOME``, else ``~/.local/state`` (None without a home folder)."""
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    home = os.environ.get("HOME", "").strip()
    return Path(home) / ".local" / "state" if home and os.path.isabs(home) else None


def pinned_today() -> str:
    """The date ``VERIWIKI_TODAY`` pins for freshness checks ('' when unset)."""
    return os.environ.get("VERIWIKI_TODAY", "").strip()


def today() -> dt.date:
    """Today's date, or the date ``VERIWIKI_TODAY=YYYY-MM-DD`` pins (tests, CI,
    reproducible reports)."""
    pinned = pinned_today()
    if not pinned:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(f"VERIWIKI_TODAY={pinned!r} is not a date",
                          hint="set it as YYYY-MM-DD, or unset it") from None


def debug_enabled() -> bool:
    """True when VERIWIKI_DEBUG asks for tracebacks instead of friendly errors."""
    return os.environ.get("VERIWIKI_DEBUG", "") not in ("", "0")


_ROLE_ENV = {"writer": "VERIWIKI_WRITER_MODEL", "judge": "VERIWIKI_JUDGE_MODEL",
             "embedder": "VERIWIKI_EMBED_MODEL"}


def model_for(vault: Vault, role: str, override: str | None = None) -> str | None:
    """The model id for ``role``: ``--model``, then the environment, then veriwiki.toml.

    The judge falls back to the writer; the embedder may be None (no embeddings).
    """
    if override:
        return override
    env = os.environ.get(_ROLE_ENV[role], "").strip()
    if env:
        return env
    settings = vault.config.llm
    if role == "writer":
        return settings.writer
    if role == "judge":
        return settings.judge or model_for(vault, "writer")
    return settings.embedder
