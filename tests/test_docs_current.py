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

import veriwiki.cli as cli_pkg
from veriwiki.config import Config

DOCS = Path(__file__).resolve().parent.parent / "docs"


def all_commands() -> list[tuple[str, click.Command]]:
    from veriwiki.cli.main import cli

    found: list[tuple[str, click.Command]] = []
    ctx = click.Context(cli)

    def walk(prefix: str, group: click.Group) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None, name
            if cmd.hidden:
                continue
            path = f"{prefix} {name}".strip()
            found.append((path, cmd))
            if isinstance(cmd, click.Group):
                walk(path, cmd)

    walk("", cli)
    return found


def test_every_command_module_is_registered() -> None:
    """A command written in a ``*_cmds`` module but missing from the registry is unreachable."""
    from veriwiki.cli.main import COMMANDS

    registered = {target for target in COMMANDS.values()}
    children: set[int] = set()
    defined: dict[int, str] = {}
    for info in pkgutil.iter_modules(cli_pkg.__path__):
        module = importlib.import_module(f"{cli_pkg.__name__}.{info.name}")
        for attr, value in vars(module).items():
            callback = getattr(value, "callback", None)
            if isinstance(value, click.Command) and getattr(callback, "__module__", "") == module.__name__:
                defined[id(value)] = f"{module.__name__}:{attr}"
            if isinstance(value, click.Group):
                children.update(id(c) for c in value.commands.values())
    top = {target for key, target in defined.items() if key not in children}
    top.discard("veriwiki.cli.app:cli")
    assert top - registered == set(), "commands defined but not in veriwiki.cli.main.COMMANDS"


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


# What the Python API offers for each CLI command (docs: api.py's docstring).
API_FOR_COMMAND = {
    "add": ["add_source", "add_sources", "add_url"], "ask": ["answer_question", "save_answer"],
    "backlinks": ["page_backlinks"], "build": ["build_site"], "catalog": ["regenerate_catalog"],
    "check": ["run_check", "check_vault"], "history": ["page_history"],
    "index": ["update_index"], "ingest": ["ingest_source"], "init": ["init_vault", "adopt_vault"],
    "links": ["page_links"], "mv": ["move_page"], "new": ["new_page"],
    "review": ["list_proposals", "show_proposal", "approve", "reject", "claim_diff"],
    "reviewed": ["mark_reviewed"], "revert": ["revert_page"], "rm": ["remove_page"],
    "search": ["search"], "show": ["show_page"], "source": ["get_source", "refresh_source"],
    "sources": ["list_sources"], "status": ["vault_status"], "types": ["load_types"],
}
# Commands that are front ends or exchange formats, not vault operations of their own.
NOT_IN_API = {"mcp", "serve", "export", "import", "fix"}


def test_the_api_offers_what_the_cli_does() -> None:
    from veriwiki import api

    names = {path.split()[0] for path, _ in all_commands()}
    missing = sorted(names - set(API_FOR_COMMAND) - NOT_IN_API)
    assert missing == [], f"commands without an API entry in API_FOR_COMMAND: {missing}"
    absent = sorted(f for fs in API_FOR_COMMAND.values() for f in fs
                    if f not in api.__all__ or not callable(getattr(api, f, None)))
    assert absent == []
