"""``veriwiki export okf`` and ``veriwiki import okf``: Open Knowledge Format bundles."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from veriwiki.cli.app import State, notice, out, print_json

_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("export")
def export_group() -> None:
    """Write the vault in an exchange format."""


@export_group.command("okf")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="A new folder for the bundle (default: ./<vault>-okf).")
@_json
@click.pass_obj
def export_okf_cmd(state: State, out_dir: str | None, as_json: bool) -> None:
    """Write the vault as an OKF v0.2 bundle: pages as concepts, each citation a source
    entry with its exact excerpt and veriwiki's verdict (docs/okf.md)."""
    from veriwiki.services.okf import export_okf

    vault = state.vault
    target = Path(out_dir) if out_dir else Path.cwd() / f"{vault.root.name}-okf"
    result = export_okf(vault, target.resolve())
    if as_json:
        print_json(result.to_json())
        return
    out.print(f"wrote {escape(str(result.out))}: {result.pages} pages "
              f"({result.verified_pages} machine-confirmed), {result.claims} claims, "
              f"{result.sources} sources")


@click.group("import")
def import_group() -> None:
    """Bring content in from an exchange format."""


@import_group.command("okf")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False))
@_json
@click.pass_obj
def import_okf_cmd(state: State, bundle: str, as_json: bool) -> None:
    """Add an OKF bundle's stored sources and propose its concepts as pages.

    The pages arrive as a proposal: review it with 'veriwiki review show ID' and merge
    it with 'veriwiki review approve ID'; the check verifies every citation it carries.
    """
    from veriwiki.services.okf import import_okf

    result = import_okf(state.vault, Path(bundle), on_wait=notice, on_notice=notice)
    if as_json:
        print_json(result.to_json())
        return
    out.print(f"added {len(result.sources)} sources; proposed {len(result.pages)} pages"
              + (f" as {escape(result.proposal_id)}" if result.proposal_id else ""))
    errors = [f for f in result.findings if f.severity.value == "error"]
    for f in errors:
        out.print(f"  [red]{escape(f.rule)}[/] {escape(f.path)}:{f.line} {escape(f.message)}")
    if result.proposal_id:
        out.print(f"  review: veriwiki review show {escape(result.proposal_id)}")
