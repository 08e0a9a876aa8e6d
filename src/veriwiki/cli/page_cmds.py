"""Page commands: new, show, links, backlinks, mv, rm, history, revert, types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from veriwiki.cli.app import State, notice, out, print_json, warning

if TYPE_CHECKING:
    from veriwiki.adapters.store import CommitResult
    from veriwiki.services.pages import LinkInfo


def _svc() -> Any:
    """The page services, imported on first use to keep start-up fast."""
    from veriwiki.services import pages

    return pages


_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _commit_line(verb: str, subject: str, commit: str | None) -> None:
    out.print(f"[green]{verb}[/] {escape(subject)}"
              + (f"  [dim](commit {commit[:10]})[/]" if commit else ""))


def _report_edits(result: CommitResult) -> None:
    """Say what happened to files someone edited while the command ran (standard error)."""
    merged = []
    for note in result.notes:
        if any(note.startswith(k + " ") for k in result.kept):
            warning(note)
        elif note.endswith("; kept your edit"):
            merged.append(note.split(" was changed", 1)[0])
        else:
            notice(note)
    if merged:
        shown = ", ".join(merged[:5]) + (f" and {len(merged) - 5} more" if len(merged) > 5 else "")
        notice(f"{len(merged)} file(s) changed while the command ran; your edits were kept and "
               f"the change applied to them too: {shown}")
    if result.kept:
        warning(f"{len(result.kept)} working file(s) not rewritten (edited during the "
                "command; the commit has the change): " + ", ".join(result.kept))


def _edits_json(result: CommitResult, always: bool = False) -> dict[str, Any]:
    """Files left without the change and notes on edits made meanwhile, when any."""
    if not (always or result.kept or result.notes):
        return {}
    return {"not_rewritten": result.kept, "notes": result.notes}


@click.command("new")
@click.argument("title")
@click.option("--type", "page_type", default=None, metavar="TYPE", help="Page type (schema).")
@click.option("--force", is_flag=True, help="Allow a title that looks like an existing one.")
@_json
@click.pass_obj
def new_cmd(state: State, title: str, page_type: str | None, force: bool, as_json: bool) -> None:
    """Create a page TITLE (may include sub-folders: ml/Attention) from its type's template."""
    path, result = _svc().new_page(state.vault, title, page_type, force=force, on_wait=notice,
                            on_notice=notice)
    if as_json:
        print_json({"path": path, "commit": result.commit, **_edits_json(result)})
    else:
        _commit_line("created", path, result.commit)
        _report_edits(result)


@click.command("show")
@click.argument("page")
@_json
@click.pass_obj
def show_cmd(state: State, page: str, as_json: bool) -> None:
    """Print a page (by title, alias, file name or path)."""
    parsed, text = _svc().show_page(state.vault, page)
    if as_json:
        print_json({"path": parsed.path, "title": parsed.title, "type": parsed.type,
                    "aliases": list(parsed.aliases), "tags": list(parsed.tags),
                    "summary": parsed.summary, "frontmatter": parsed.frontmatter,
                    "headings": [{"level": h.level, "text": h.text, "line": h.line}
                                 for h in parsed.headings],
                    "links": len(parsed.links), "text": text})
        return
    out.print(f"[bold]{escape(parsed.title)}[/]  [dim]{escape(parsed.path)}"
              f"{'  type ' + escape(parsed.type) if parsed.type else ''}[/]")
    out.print(escape(text), markup=True, highlight=False)


def _links_table(items: list[LinkInfo], source_col: bool) -> Table:
    table = Table(box=None, pad_edge=False)
    if source_col:
        table.add_column("from")
    table.add_column("line", justify="right")
    table.add_column("link")
    table.add_column("→")
    for info in items:
        r = info.resolution
        dest = r.path if r.is_ok else (f"[red]{r.status}[/]: " + escape(r.problem or ""))
        row = [str(info.link.line), escape(info.link.raw), dest or ""]
        if source_col:
            row.insert(0, escape(info.source))
        table.add_row(*row)
    return table


@click.command("links")
@click.argument("page")
@_json
@click.pass_obj
def links_cmd(state: State, page: str, as_json: bool) -> None:
    """List a page's outgoing links and where each resolves."""
    items = _svc().page_links(state.vault, page)
    if as_json:
        print_json([i.to_json() for i in items])
    elif items:
        out.print(_links_table(items, False))
    else:
        notice("the page has no links")


@click.command("backlinks")
@click.argument("page")
@_json
@click.pass_obj
def backlinks_cmd(state: State, page: str, as_json: bool) -> None:
    """List the links from other pages that reach a page."""
    items = _svc().page_backlinks(state.vault, page)
    if as_json:
        print_json([i.to_json() for i in items])
    elif items:
        out.print(_links_table(items, True))
    else:
        notice("no page links here")


@click.command("mv")
@click.argument("old")
@click.argument("new")
@_json
@click.pass_obj
def mv_cmd(state: State, old: str, new: str, as_json: bool) -> None:
    """Rename page OLD to NEW and rewrite every link and embed to it (one commit).

    Uncommitted edits to the moved page or to linking pages stay uncommitted, with
    the links in them rewritten too.
    """
    src, dst, touched, result = _svc().move_page(state.vault, old, new, on_wait=notice,
                                                 on_notice=notice)
    if as_json:
        print_json({"from": src, "to": dst, "relinked": touched, "commit": result.commit,
                    **_edits_json(result, always=True)})
    else:
        _commit_line("moved", f"{src} → {dst}; links rewritten in {len(touched)} page(s)",
                     result.commit)
        _report_edits(result)


@click.command("rm")
@click.argument("page")
@click.option("--force", is_flag=True, help="Delete even when other pages link to it.")
@_json
@click.pass_obj
def rm_cmd(state: State, page: str, force: bool, as_json: bool) -> None:
    """Delete a page (refuses while other pages link to it, unless --force)."""
    path, result = _svc().remove_page(state.vault, page, force=force, on_wait=notice, on_notice=notice)
    if as_json:
        print_json({"removed": path, "commit": result.commit, **_edits_json(result)})
    else:
        _commit_line("removed", path, result.commit)
        _report_edits(result)


@click.command("history")
@click.argument("page")
@click.option("--limit", "-n", type=click.IntRange(1), default=None)
@_json
@click.pass_obj
def history_cmd(state: State, page: str, limit: int | None, as_json: bool) -> None:
    """Show the git history of a page (renames followed)."""
    path, entries = _svc().page_history(state.vault, page, limit)
    if as_json:
        print_json({"path": path, "commits": entries})
        return
    for e in entries:
        out.print(f"[yellow]{e['commit'][:10]}[/] {e['date'][:16].replace('T', ' ')} "
                  f"[dim]{escape(e['author'])}[/]  {escape(e['subject'])}")


@click.command("revert")
@click.argument("page")
@click.argument("rev", required=False)
@click.option("--force", is_flag=True, help="Overwrite uncommitted edits to the page.")
@_json
@click.pass_obj
def revert_cmd(state: State, page: str, rev: str | None, force: bool, as_json: bool) -> None:
    """Restore PAGE as it was at REV (default: before its last change); one commit."""
    path, sha, result = _svc().revert_page(state.vault, page, rev, force=force, on_wait=notice,
                                    on_notice=notice)
    if as_json:
        print_json({"path": path, "to": sha, "commit": result.commit, **_edits_json(result)})
    elif result.commit:
        _commit_line("reverted", f"{path} to {sha[:10]}", result.commit)
        _report_edits(result)
    else:
        notice(f"{path} already matches {sha[:10]}; nothing to commit")


@click.command("types")
@_json
@click.pass_obj
def types_cmd(state: State, as_json: bool) -> None:
    """List page types with their required and optional fields."""
    from veriwiki.services.types import load_types

    reg = load_types(state.vault)
    if as_json:
        print_json([{"name": t.name, "origin": t.origin, "description": t.description,
                     "required": t.required, "optional": t.optional}
                    for t in reg.types.values()])
        return
    for t in reg.types.values():
        out.print(f"[bold]{t.name}[/] [dim]({escape(t.origin)})[/] {escape(t.description)}")
        out.print(f"  required: {', '.join(t.required)}")
        out.print(f"  optional: {', '.join(t.optional)}")
