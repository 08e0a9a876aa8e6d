"""Reading ``veriwiki.toml`` without paying for the schema on every command.

The schema (``veriwiki.config``, pydantic) validates the file once; the validated
settings, defaults filled in, are kept as JSON in the state folder, keyed by the file's
bytes and the schema's code. Later commands read the snapshot, so a ``veriwiki search``
never imports pydantic: the full :class:`veriwiki.config.Config` is built on first use
of ``Vault.config``. A snapshot that is missing, unreadable, of another file or another
schema is ignored and rewritten; the file is validated again.

This module must not import pydantic (``tests/test_startup.py`` checks the import set).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veriwiki.snapshot import CONFIG_FILE, SNAPSHOT, load_snapshot, snapshot_key, vault_fields


@dataclass(frozen=True, slots=True)
class VaultPaths:
    """The ``[vault]`` settings every command needs, read from the validated settings."""

    pages: str
    index_page: str
    log_page: str
    max_page_bytes: int
    exclude: tuple[str, ...]
    lock_timeout: float

    @classmethod
    def of(cls, data: dict[str, Any]) -> VaultPaths:
        """The paths of validated settings (``Config.model_dump(mode="json")``)."""
        return cls(*vault_fields(data))


@dataclass(frozen=True, slots=True)
class FreshnessValues:
    """The ``[freshness]`` settings as plain values: the attributes of
    ``config.FreshnessSettings``, read from the validated settings (no pydantic)."""

    review_every: str | None
    by_type: dict[str, str]
    by_folder: dict[str, str]

    @classmethod
    def of(cls, data: dict[str, Any]) -> FreshnessValues:
        """From validated settings (``Config.model_dump(mode="json")``)."""
        got = data.get("freshness") or {}
        return cls(got.get("review_every"), dict(got.get("by_type") or {}),
                   dict(got.get("by_folder") or {}))


@dataclass(frozen=True, slots=True)
class SandboxValues:
    """The ``[sandbox]`` settings as plain values: the attributes of
    ``config.SandboxSettings``, read from the validated settings (no pydantic)."""

    timeout_seconds: float
    cpu_seconds: int
    memory_mb: int
    max_output_bytes: int
    max_processes: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> SandboxValues:
        """From validated settings, where every field has its value (defaults filled)."""
        got = data["sandbox"]
        return cls(float(got["timeout_seconds"]), int(got["cpu_seconds"]),
                   int(got["memory_mb"]), int(got["max_output_bytes"]),
                   int(got["max_processes"]))


def read_settings(root: Path, state_dir: Path | None,
                  validate: Callable[[bytes], dict[str, Any]]) -> dict[str, Any]:
    """The validated settings of ``root/veriwiki.toml`` as plain JSON data.

    ``validate`` turns the file's bytes into the settings (the schema; it raises
    ``ConfigError`` naming the file, line and what to fix), and is called only when no
    snapshot of these bytes holds. ``state_dir`` holds the snapshot (None: no snapshot).
    """
    raw = (root / CONFIG_FILE).read_bytes()
    key = snapshot_key(raw)
    # a state folder that is a link is refused by the commands that write state; the
    # snapshot is neither read from nor written through it
    usable = state_dir is not None and state_dir.is_dir() and not state_dir.is_symlink()
    if usable and state_dir is not None:
        data = load_snapshot(state_dir / SNAPSHOT, key)
        if data is not None:
            return data
    data = validate(raw)
    if usable and state_dir is not None:
        from veriwiki.adapters.writes import atomic_write
        from veriwiki.errors import VeriwikiError

        payload = json.dumps({"key": key, "data": data}, sort_keys=True).encode()
        # a read-only vault validates every time; nothing else changes
        with contextlib.suppress(OSError, VeriwikiError):
            atomic_write(state_dir / SNAPSHOT, payload, root=state_dir)
    return data
