"""``veriwiki mcp``: serve the vault to MCP clients (coding agents, desktop apps)."""

from __future__ import annotations

import click

from veriwiki.cli.app import State, trust_option


@click.command("mcp")
@click.option("--http", "use_http", is_flag=True,
              help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind with --http; any non-loopback address needs a token.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", envvar="VERIWIKI_MCP_TOKEN", default=None, show_envvar=True,
              metavar="SECRET", help="Bearer token every HTTP request must carry "
                                     "(set it in the environment, not on the command line).")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another Host name clients use to reach a non-loopback bind (repeat).")
@trust_option
@click.pass_obj
def mcp_cmd(state: State, use_http: bool, host: str, port: int, token: str | None,
            allowed_hosts: tuple[str, ...]) -> None:
    """Run an MCP server on the vault (stdio by default; see docs/agents.md).

    Agents get tools to search, read pages and sources, find exact passages, propose
    pages (never main) and see the check's findings. A person approves proposals with
    'veriwiki review approve ID' unless [mcp] allow_approve is true.
    """
    from veriwiki.mcp_server.server import build_server, http_app, run_http

    vault = state.vault
    server, worker = build_server(vault)
    try:
        if use_http:
            http_app(server, host, port, token, list(allowed_hosts))  # refuses before binding
            click.echo(f"veriwiki mcp: serving http://{host}:{port}/mcp", err=True)
            run_http(server, host, port, token, list(allowed_hosts))
        else:
            server.run("stdio")
    finally:
        worker.close()
