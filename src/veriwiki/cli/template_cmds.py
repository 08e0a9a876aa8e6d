"""``fix`` (regenerate stale facts tables) and ``init --template`` (a vault from a
template): thin front ends over services/fix.py and services/template.py."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.markup import escape

from veriwiki.cli.app import State, err, notice, out, print_json


@click.command("fix")
@click.argument("pages", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Show the tables that would be rewritten; "
                                               "write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def fix_cmd(state: State, pages: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Regenerate stale facts tables in PAGES (default: every page); one commit."""
    from veriwiki.services.fix import fix_tables

    result = fix_tables(state.vault, list(pages) or None, dry_run=dry_run, on_wait=notice,
                        on_notice=notice)
    if as_json:
        print_json({"dry_run": dry_run, "commit": result.commit,
                    "tables": [{"path": t.path, "line": t.line} for t in result.tables],
                    "unparsed": [{"path": p, "line": n, "message": m}
                                 for p, n, m in result.unparsed]})
        return
    verb = "would rewrite" if dry_run else "rewrote"
    for table in result.tables:
        out.print(f"{verb} {escape(table.path)}:{table.line}")
    for path, line, message in result.unparsed:
        err.print(f"left alone {escape(path)}:{line}: {escape(message)}")
    if not result.tables:
        err.print("every facts table is current")
    elif result.commit:
        out.print(f"{len(result.tables)} table(s), commit {result.commit[:10]}")


@contextmanager
def _bar(quiet: bool, total: int) -> Iterator[tuple[Callable[[Any, int, int], None] | None,
                                                   Callable[[int, int | None], None] | None]]:
    """A rich progress bar over the sources (and the current download) on a terminal."""
    if quiet or not sys.stderr.isatty():
        def started(src: Any, i: int, n: int) -> None:
            if not quiet:
                err.print(f"[{i}/{n}] {escape(src.id)}")
        yield started, None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn

    # a console of its own: the bar shows only source ids (checked slugs) and counts
    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  console=Console(stderr=True, highlight=False),
                  transient=True) as progress:
        overall = progress.add_task("sources", total=total)
        current: dict[str, Any] = {}

        def started(src: Any, i: int, n: int) -> None:
            progress.update(overall, completed=i - 1, description=f"source {i}/{n}")
            if "task" in current:
                progress.remove_task(current.pop("task"))
            current["task"] = progress.add_task(f"  {src.id}", total=None)

        def received(got: int, size: int | None) -> None:
            if "task" in current:
                progress.update(current["task"], completed=got, total=size)

        yield started, received
        progress.update(overall, completed=total)


def init_template(directory: str, template: str, sources_from: str | None,
                  mirror: str | None, name: str | None, as_json: bool) -> None:
    """``veriwiki init --template NAME DIR``: create (or finish) a vault from a template."""
    from veriwiki.services.template import init_from_template, template_sources

    total = len(template_sources(template))
    with _bar(as_json, total) as (started, received):
        result = init_from_template(directory, template, sources_from=sources_from,
                                    mirror=mirror, name=name, on_source=started, on_progress=received, on_notice=notice)
    if as_json:
        print_json({"root": str(result.root), "template": result.template,
                    "resumed": result.resumed, "files": result.files, "added": result.added,
                    "present": result.present, "changed": result.changed,
                    "commits": result.commits})
        return
    verb = "finished" if result.resumed else "created"
    out.print(f"[green]{verb} vault[/] {escape(str(result.root))} from the "
              f"{escape(template)} template: {len(result.files)} files, "
              f"{len(result.added)} source(s) added, {len(result.present)} already there")
    out.print("next: veriwiki check")
