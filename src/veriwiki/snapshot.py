"""The settings snapshot's key and reader, with the standard library only.

:mod:`veriwiki.settings` validates ``veriwiki.toml`` once and keeps the validated
settings as a snapshot in the state folder, keyed by the file's bytes and the schema's
code. Reading it back needs nothing but ``json`` and ``hashlib``: this module is that
part, shared by ``settings`` and the CLI's fast path (``veriwiki.cli.fast_search``),
which must not import ``dataclasses``, ``pathlib`` or ``typing`` to stay quick.
"""

from __future__ import annotations

import hashlib
import json
import os

CONFIG_FILE = "veriwiki.toml"
SNAPSHOT = "settings.json"

_schema_key: str | None = None


def schema_key() -> str:
    """Changes whenever the schema's code or veriwiki's version changes."""
    global _schema_key
    if _schema_key is None:
        from veriwiki import __version__

        try:
            with open(os.path.join(os.path.dirname(__file__), "config.py"), "rb") as f:
                code = f.read()
        except OSError:
            code = b""
        _schema_key = hashlib.sha256(__version__.encode() + b"\0" + code).hexdigest()
    return _schema_key


def snapshot_key(raw: bytes) -> str:
    """The key a snapshot of the settings file ``raw`` is stored under."""
    return hashlib.sha256(schema_key().encode() + b"\0" + raw).hexdigest()


def vault_fields(data: dict) -> tuple[str, str, str, int, tuple[str, ...], float]:
    """The ``[vault]`` settings every command needs: pages, index page, log page, page
    size limit, exclude patterns, lock timeout (raises KeyError, TypeError or
    ValueError for data of another shape)."""
    v = data["vault"]
    return (str(v["pages"]), str(v["index_page"]), str(v["log_page"]),
            int(v["max_page_bytes"]), tuple(str(x) for x in v["exclude"]),
            float(v["lock_timeout"]))


def load_snapshot(path: str | os.PathLike[str], key: str) -> dict | None:
    """The settings stored at ``path`` under ``key``, or None when there are none (no
    file, unreadable, another key, another shape)."""
    try:
        with open(path, "rb") as f:
            snap = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(snap, dict) or snap.get("key") != key:
        return None
    data = snap.get("data")
    if not isinstance(data, dict):
        return None
    try:
        vault_fields(data)  # the shape every command relies on
    except (KeyError, TypeError, ValueError):
        return None
    return data
