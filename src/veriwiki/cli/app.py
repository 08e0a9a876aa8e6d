"""The ``veriwiki`` command group, per-invocation state and output helpers.

Command modules (``*_cmds.py``) import from here; ``main.py`` registers them by name, so
a command's module is imported only when that command runs.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from veriwiki import __version__
from veriwiki.errors import VeriwikiError

if TYPE_CHECKING:
    from rich.console import Console

    from veriwiki.vault import Vault

# Control characters other than newline and tab (C0, DEL, C1): page and source text is
# untrusted, and a terminal acts on escape sequences (retitling the window, rewriting
# what is on screen, hiding a line behind a carriage return).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def term_safe(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` (newlines and tabs kept)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape(text: str) -> str:
    """``text`` with rich markup escaped (rich is imported on first use)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def safe_console(**options: Any) -> Console:
    """A rich Console that never passes control characters from the text it prints."""
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text: str, **kwargs: Any) -> Any:  # type: ignore[override]
            return super().render_str(term_safe(text), **kwargs)

    return SafeConsole(**options)


class _LazyConsole:
    """Stands for a console made on first use: a command that prints only JSON (an
    agent's ``search --json``) never imports rich."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def get(self) -> Console:
        """The console itself (made now if it was not yet)."""
        if self._console is None:
            self._console = safe_console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def real_console(console: Console) -> Console:
    """``out`` or ``err`` as a rich Console object, for APIs that check the type (a rich
    ``Progress(console=...)``); a console a test put in their place is returned as is."""
    return console.get() if isinstance(console, _LazyConsole) else console  # type: ignore[unreachable]


out = cast("Console", _LazyConsole(highlight=False, soft_wrap=True))
err = cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))


class State:
    """Per-invocation state: the vault option and the lazily opened vault."""

    def __init__(self, vault_path: str | None, trust: bool = False) -> None:
        self.vault_path = vault_path
        self.trust = trust  # run check blocks unisolated when no sandbox works here
        self._vault: Vault | None = None

    @property
    def vault(self) -> Vault:
        """The vault this command works on (its notices printed on first use)."""
        if self._vault is None:
            from dataclasses import replace

            from veriwiki.vault import open_vault

            vault = open_vault(self.vault_path)
            vault.sandbox = replace(vault.sandbox, trust=self.trust)
            for message in vault.take_notices():
                warning(message)
            self._vault = vault
        return self._vault

    def flush_notices(self) -> None:
        """Print what the index had to repair (a rebuilt database), once."""
        if self._vault is not None:
            for message in self._vault.take_notices():
                notice(message)


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use.

    ``lazy`` maps a command name to ``"module:attribute"``; ``--help`` imports them all
    (it shows each one's summary), running one command imports only its module.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        import importlib

        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), target
        return command


_state: State | None = None


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on standard output (C0 and C1 controls escaped;
    a list wrapped in :class:`~veriwiki.cli.json_out.Items` is written item by item)."""
    from veriwiki.cli.json_out import write_json

    write_json(data, sys.stdout)


def notice(message: str) -> None:
    """A one-line note on standard error."""
    err.print(f"[yellow]note:[/] {escape(message)}")


def warning(message: str) -> None:
    """A warning on standard error (something the user should fix)."""
    err.print(f"[bold yellow]warning:[/] {escape(message)}")


def warn_blocks_not_run(findings: list[Any]) -> None:
    """Say on stderr, once, that check blocks were skipped for want of a sandbox."""
    from veriwiki.checks.rules.code_failed import NOT_RUN

    skipped = [f for f in findings if f.rule == "code-failed" and f.message.startswith(NOT_RUN)]
    if skipped:
        warning(f"{len(skipped)} python check block(s) not run: no sandbox on this machine. "
                "Install bubblewrap (apt-get install bubblewrap) and allow user namespaces, "
                "or pass --trust to run them unisolated (docs/check-blocks.md)")


def trust_option(func: Any) -> Any:
    """``--trust`` on a command that runs check blocks."""
    def mark(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value and isinstance(ctx.obj, State):
            ctx.obj.trust = True
        return value

    return click.option(
        "--trust", is_flag=True, expose_value=False, callback=mark, is_eager=True,
        help="Run check blocks without OS isolation when bubblewrap cannot run here "
             "(only for vaults whose code you trust; docs/check-blocks.md).")(func)


def fail(exc: VeriwikiError) -> NoReturn:
    """Print a veriwiki error with its hint and exit with its code."""
    err.print(f"[bold red]error:[/] {escape(str(exc))}")
    if exc.hint:
        err.print(f"  [dim]hint:[/] {escape(exc.hint)}")
    sys.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--vault", "vault_path", envvar="VERIWIKI_VAULT", metavar="PATH",
              type=click.Path(file_okay=False), default=None,
              help="The vault folder (default: nearest folder above holding veriwiki.toml).")
@click.option("--trust", is_flag=True,
              help="Run check blocks without OS isolation when bubblewrap cannot run here, "
                   "for every command that runs them (check, status, review approve, "
                   "ingest --yes, build, mcp).")
@click.version_option(__version__, prog_name="veriwiki")
@click.pass_context
def cli(ctx: click.Context, vault_path: str | None, trust: bool) -> None:
    """veriwiki: a git-native markdown wiki that checks itself."""
    global _state
    ctx.obj = _state = State(vault_path, trust)
