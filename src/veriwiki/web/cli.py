"""``veriwiki serve``: the local web app (registered by the CLI's main module)."""

from __future__ import annotations

import secrets
import sys
import threading

import click

from veriwiki.errors import VaultNotFoundError


def login_token(host: str, token: str | None) -> tuple[str | None, str | None]:
    """The login token for a bind to ``host``, and what to tell the person: a
    non-loopback address without a token gets a generated one, printed once."""
    from veriwiki.web.security import is_loopback

    if is_loopback(host) or token:
        return token or None, None
    made = secrets.token_urlsafe(24)
    return made, (f"veriwiki serve: {host} is reachable from other machines; log in with "
                  f"this token: {made}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; any non-loopback address needs a token (one is "
                   "generated and printed when --token is not given).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--open", "open_browser", is_flag=True,
              help="Open the app in the default web browser once it listens.")
@click.option("--token", envvar="VERIWIKI_SERVE_TOKEN", default=None, show_envvar=True,
              metavar="SECRET", help="Login token the browser must present once (a cookie "
                                     "then keeps the session); set it in the environment "
                                     "rather than on the command line.")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another Host name browsers use to reach a non-loopback bind (repeat).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, open_browser: bool, token: str | None,
          allowed_hosts: tuple[str, ...]) -> None:
    """Serve the vault as a local web app: read, search, edit, review, health, ask.

    Binds 127.0.0.1 by default; see docs/serve.md for the security model.
    """
    import uvicorn

    from veriwiki.vault import find_root, open_vault
    from veriwiki.web.app import create_app
    state = ctx.obj
    vault_path = getattr(state, "vault_path", None)
    trust = bool(getattr(state, "trust", False))
    vault = open_vault(vault_path)  # the same errors and hints as every command
    root = vault.root
    vault.close()
    if find_root(root) is None:  # pragma: no cover - open_vault checked it
        raise VaultNotFoundError(f"{root} is not a veriwiki vault")
    token, note = login_token(host, token)
    if note:
        click.echo(note, err=True)
    app = create_app(root, token=token, allowed_hosts=list(allowed_hosts), bound_host=host,
                     trust=trust)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    click.echo(f"veriwiki serve: {url} (Ctrl-C stops)", err=True)
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    sys.stderr.flush()
    uvicorn.run(app, host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=2)
