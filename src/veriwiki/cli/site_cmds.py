"""``veriwiki build``: render the vault as a static site."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from veriwiki.cli.app import State, err, out, print_json, real_console, trust_option


@click.command("build")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              metavar="DIR", help="Output folder (default: site/ at the vault root).")
@click.option("--base-url", default="", metavar="URL",
              help="Where the site will be served (for canonical links and llms.txt).")
@click.option("--strict", is_flag=True,
              help="Exit 1 when 'veriwiki check' would report errors (the site is built).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary; no progress.")
@trust_option
@click.pass_obj
def build_cmd(state: State, out_dir: str | None, base_url: str, strict: bool,
              as_json: bool) -> None:
    """Render pages, sources and reports to a static site that shows what was verified."""
    from veriwiki.services.site import build_site

    vault = state.vault
    progress = None
    bar = None
    if not as_json and sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(console=real_console(err), transient=True)
        task = bar.add_task("checking", total=None)
        bar.start()

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total or None)

    try:
        report = build_site(vault, Path(out_dir) if out_dir else None, base_url=base_url,
                            progress=progress)
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        print_json(report.to_json())
    else:
        from rich.markup import escape  # not imported for --json

        for path, line, message in report.broken_links[:20]:
            out.print(f"[yellow]broken link[/] {escape(path)}:{line}  {escape(message)}")
        for path, why in report.failed:
            err.print(f"[bold yellow]warning:[/] could not render {escape(path)}: {escape(why)}")
        if len(report.broken_links) > 20:
            out.print(f"[yellow]… and {len(report.broken_links) - 20} more broken links[/]")
        out.print(f"built {escape(str(report.out))}: {report.pages} pages, {report.sources} "
                  f"sources ({report.rendered} rendered, {report.written} files written, "
                  f"{report.removed} removed) in {report.seconds:.1f} s; "
                  f"{len(report.broken_links)} broken links, {report.errors} errors, "
                  f"{report.warnings} warnings")
    if strict and report.has_errors:
        err.print("[bold red]error:[/] check reports errors (--strict)")
        sys.exit(1)
