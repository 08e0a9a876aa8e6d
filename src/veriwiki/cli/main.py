"""Entry point of the ``veriwiki`` command: registers the commands and maps errors.

Each command is registered by name and imported only when it runs (``app.LazyGroup``),
so ``veriwiki search`` does not pay for the modules of ``ingest`` or ``build``.
"""

from __future__ import annotations

import sys
import traceback

import click

from veriwiki.cli import app
from veriwiki.cli.app import cli, err, escape, fail
from veriwiki.errors import VeriwikiError

# command name -> "module:attribute" of its click command or group
COMMANDS = {
    "add": "veriwiki.cli.source_cmds:add_cmd",
    "ask": "veriwiki.cli.ask_cmds:ask_cmd",
    "backlinks": "veriwiki.cli.page_cmds:backlinks_cmd",
    "build": "veriwiki.cli.site_cmds:build_cmd",
    "catalog": "veriwiki.cli.vault_cmds:catalog_cmd",
    "check": "veriwiki.cli.query_cmds:check_cmd",
    "export": "veriwiki.cli.okf_cmds:export_group",
    "fix": "veriwiki.cli.template_cmds:fix_cmd",
    "history": "veriwiki.cli.page_cmds:history_cmd",
    "import": "veriwiki.cli.okf_cmds:import_group",
    "index": "veriwiki.cli.query_cmds:index_cmd",
    "ingest": "veriwiki.cli.llm_cmds:ingest_cmd",
    "init": "veriwiki.cli.vault_cmds:init_cmd",
    "links": "veriwiki.cli.page_cmds:links_cmd",
    "mcp": "veriwiki.cli.mcp_cmds:mcp_cmd",
    "mv": "veriwiki.cli.page_cmds:mv_cmd",
    "new": "veriwiki.cli.page_cmds:new_cmd",
    "revert": "veriwiki.cli.page_cmds:revert_cmd",
    "review": "veriwiki.cli.llm_cmds:review_group",
    "reviewed": "veriwiki.cli.status_cmds:reviewed_cmd",
    "rm": "veriwiki.cli.page_cmds:rm_cmd",
    "search": "veriwiki.cli.query_cmds:search_cmd",
    "serve": "veriwiki.web.cli:serve",
    "show": "veriwiki.cli.page_cmds:show_cmd",
    "source": "veriwiki.cli.source_cmds:source_group",
    "sources": "veriwiki.cli.source_cmds:sources_cmd",
    "status": "veriwiki.cli.status_cmds:status_cmd",
    "types": "veriwiki.cli.page_cmds:types_cmd",
}
cli.lazy.update(COMMANDS)

__all__ = ["COMMANDS", "cli", "main"]


def _debug() -> bool:
    from veriwiki.vault import debug_enabled

    return debug_enabled()


def main() -> None:

    """Run the CLI, mapping veriwiki errors to messages and exit codes."""
    try:
        try:
            cli.main(standalone_mode=False, prog_name="veriwiki")
        finally:
            if app._state is not None:
                app._state.flush_notices()
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except VeriwikiError as exc:
        if _debug():
            traceback.print_exc()
        fail(exc)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks for users
        if _debug():
            traceback.print_exc()
            sys.exit(2)
        err.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}")
        err.print("  [dim]hint:[/] this is a bug in veriwiki; rerun with VERIWIKI_DEBUG=1 and "
                  "report the traceback")
        sys.exit(2)
    sys.exit(0)
