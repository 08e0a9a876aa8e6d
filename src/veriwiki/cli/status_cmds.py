"""Freshness commands: ``status`` (vault health) and ``reviewed`` (stamp a review)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from veriwiki.cli.app import (
    State,
    notice,
    out,
    print_json,
    trust_option,
    warn_blocks_not_run,
)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@click.command("reviewed")
@click.argument("page")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def reviewed_cmd(state: State, page: str, as_json: bool) -> None:
    """Stamp today's date as PAGE's `reviewed:` date (one commit)."""
    from veriwiki.services.freshness import mark_reviewed

    path, date, result = mark_reviewed(state.vault, page, on_wait=notice, on_notice=notice)
    if as_json:
        print_json({"path": path, "reviewed": date.isoformat(), "commit": result.commit})
        return
    out.print(f"[green]reviewed[/] {escape(path)} {date.isoformat()}"
              + (f"  [dim](commit {result.commit[:10]})[/]" if result.commit
                 else "  [dim](already stamped; no commit)[/]"))


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@trust_option
@click.pass_obj
def status_cmd(state: State, as_json: bool) -> None:
    """Summarise the vault's health: claims verified, findings, stale pages, coverage.

    Runs the full check, check blocks included (see ``check --trust``).
    """
    from veriwiki.services.status import vault_status

    st = vault_status(state.vault)
    warn_blocks_not_run(st.report.findings)
    if as_json:
        print_json(st.to_json())
        return
    s = st.report.summary()
    out.print(f"[bold]{st.pages} pages, {st.claims} claims, {st.verified} verified "
              f"({_share(st.verified_share)})[/]")
    out.print(f"findings: {s['error']} errors, {s['warning']} warnings, {s['info']} info")
    for rule_id, count in s["by_rule"].items():
        out.print(f"  {count:>5}  {rule_id}")
    out.print(f"stale pages: {len(st.stale)}")
    for f in st.stale:
        when = (f"due {f.due.isoformat()}, {f.overdue_days} day(s) overdue" if f.due
                else "never reviewed")
        out.print(f"  {escape(f.path)}  [dim]{when} (every {f.interval})[/]")
    for title, rows in (("folder", st.folders), ("type", st.types)):
        table = Table(box=None, pad_edge=False, title=None)
        for col in (title, "pages", "claims", "verified", "last change", "authors"):
            table.add_column(col, justify="left" if col in (title, "last change") else "right")
        for r in rows:
            table.add_row(escape(r.name), str(r.pages), str(r.claims), _share(r.verified_share),
                          (r.last_change or "-")[:10], str(len(r.authors)))
        out.print(table)
