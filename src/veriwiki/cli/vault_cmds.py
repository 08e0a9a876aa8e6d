"""``init`` and ``catalog``: creating and maintaining the vault itself."""

from __future__ import annotations

import click
from rich.markup import escape

from veriwiki.cli.app import State, err, notice, out, print_json


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--adopt", is_flag=True,
              help="Turn an existing folder of notes (e.g. an Obsidian vault) into a vault "
                   "without moving or rewriting its files.")
@click.option("--name", default=None, help="Vault name (default: the folder name).")
@click.option("--template", default=None, help="Fill the vault from a template (llm); "
              "run again to finish one whose sources were not all fetched.")
@click.option("--sources-from", default=None, type=click.Path(file_okay=False),
              help="With --template: read the sources from this folder, not the web.")
@click.option("--mirror", default=None,
              help="With --template: fetch each source from URL/<file> (sha256 enforced).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def init_cmd(directory: str, adopt: bool, name: str | None, template: str | None,
             sources_from: str | None, mirror: str | None, as_json: bool) -> None:
    """Create a new vault in DIRECTORY (default: here), with git and a first commit."""
    from veriwiki.services.vault_ops import adopt_vault, init_vault

    if template is not None or sources_from is not None or mirror is not None:
        from veriwiki.cli.template_cmds import init_template

        if template is None or adopt:
            raise click.UsageError("--sources-from and --mirror need --template, and "
                                   "--template cannot be used with --adopt")
        return init_template(directory, template, sources_from, mirror, name, as_json)

    result = adopt_vault(directory, name=name) if adopt else init_vault(directory, name=name)
    if as_json:
        print_json({"root": str(result.root), "created": result.created,
                    "commit": result.commit, "git_initialised": result.git_initialised})
        return
    verb = "adopted" if adopt else "created"
    out.print(f"[green]{verb} vault[/] {escape(str(result.root))}"
              f" ({len(result.created)} files, commit {str(result.commit)[:10]})")
    if result.git_initialised:
        notice("initialised a git repository")


@click.command("catalog")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def catalog_cmd(state: State, as_json: bool) -> None:
    """Regenerate the catalog page (wiki/index.md) from the committed pages; one commit."""
    from veriwiki.services.write import regenerate_catalog

    vault = state.vault
    result = regenerate_catalog(vault, on_wait=notice, on_notice=notice)
    if as_json:
        print_json({"commit": result.commit, "changed": result.changed})
    elif result.commit:
        out.print(f"regenerated {vault.index_page} (commit {result.commit[:10]})")
    else:
        err.print("catalog already up to date")
