"""Docs that cannot drift: every command, option and setting is documented.

Every CLI command and each of its long options must appear in docs/cli.md, and every
key of veriwiki.toml (the pydantic schema in veriwiki/config.py) in
docs/configuration.md. A new option or setting without documentation fails here.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import click
from pydantic import BaseModel

import veriwiki.adapters.cli as cli_pkg
from veriwiki.config import Config

DOCS = Path(__file__).resolve().parent.parent / "docs"


def all_commands() -> list[tuple[str, click.Command]]:
    for info in pkgutil.iter_modules(cli_pkg.__path__):
        importlib.import_module(f"{cli_pkg.__name__}.{info.name}")  # registers commands
    from veriwiki.adapters.cli.main import cli

    found: list[tuple[str, click.Command]] = []

    def walk(prefix: str, group: click.Group) -> None:
        for name, cmd in sorted(group.commands.items()):
            if cmd.hidden:
                continue
            path = f"{prefix} {name}".strip()
            found.append((path, cmd))
            if isinstance(cmd, click.Group):
                walk(path, cmd)

    walk("", cli)
    return found


def test_every_command_and_option_is_in_cli_md() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = all_commands()
    assert len(commands) > 20, commands
    missing = []
    for path, cmd in commands:
        if not re.search(rf"(^#+ .*\b{re.escape(path)}\b|veriwiki {re.escape(path)}\b)",
                         text, re.MULTILINE):
            missing.append(f"command '{path}'")
        for param in cmd.params:
            if not isinstance(param, click.Option) or param.hidden:
                continue
            longs = [o for o in param.opts + param.secondary_opts if o.startswith("--")]
            if longs and not any(re.search(rf"{re.escape(o)}\b", text) for o in longs):
                missing.append(f"'{path} {longs[0]}'")
    assert not missing, "not documented in docs/cli.md: " + ", ".join(missing)


def config_keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.append((prefix, key))
            keys += config_keys(ann, key)
        else:
            keys.append((prefix, key))
    return keys


def test_every_setting_is_in_configuration_md() -> None:
    text = (DOCS / "configuration.md").read_text()
    keys = config_keys(Config)
    assert len(keys) > 20, keys
    missing = []
    for table, key in keys:
        if table and f"[{table}]" not in text:
            missing.append(f"[{table}]")
        if f"`{key}`" not in text and f"[{key}]" not in text:
            missing.append(f"{table + '.' if table else ''}{key}")
    assert not missing, "not documented in docs/configuration.md: " + ", ".join(
        sorted(set(missing)))
