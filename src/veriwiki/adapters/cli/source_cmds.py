"""Source commands: add, sources, source show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from veriwiki.adapters.cli.main import State, cli, notice, out, print_json
from veriwiki.adapters.extract import PAGE_BREAK
from veriwiki.errors import VeriwikiError

if TYPE_CHECKING:
    from veriwiki.core.model import Source, SourceText, SourceVersion


def _svc() -> Any:
    """The source services, imported on first use to keep start-up fast."""
    from veriwiki.services import sources

    return sources


_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _version_json(v: SourceVersion) -> dict[str, Any]:
    return {"version": v.version, "file": v.file, "sha256": v.sha256, "added": v.added,
            "size": v.size, "media_type": v.media_type}


def _source_json(s: Source) -> dict[str, Any]:
    return {"id": s.id, "title": s.title, "origin": s.origin, "license": s.license,
            "current": s.current.version, "media_type": s.current.media_type,
            "versions": [_version_json(v) for v in s.versions]}


@cli.command("add")
@click.argument("path", metavar="FILE|DIR", type=click.Path(exists=False))
@click.option("--id", "source_id", default=None, metavar="ID",
              help="Source id (default: slug of the file name).")
@click.option("--title", default=None, metavar="T", help="Title (default: from the file).")
@click.option("--url", default=None, metavar="U", help="Where the source came from.")
@click.option("--license", "license_", default=None, metavar="L", help="Its licence.")
@_json
@click.pass_obj
def add_cmd(state: State, path: str, source_id: str | None, title: str | None,
            url: str | None, license_: str | None, as_json: bool) -> None:
    """Add a source file (or every supported file in DIR) to raw/, in one commit.

    Reads markdown, text, HTML and PDF. Adding new bytes under an existing id stores
    a new version; identical bytes change nothing.
    """
    results = _svc().add_sources(state.vault, path, source_id=source_id, title=title,
                                 url=url, license=license_, on_wait=notice, on_notice=notice)
    commit = next((r.commit for r in results if r.commit), None)
    if as_json:
        print_json({"commit": commit, "sources": [
            {"id": r.id, "version": r.version, "ref": f"{r.id}:v{r.version}",
             "status": r.status, "path": r.path, "files": list(r.files),
             "media_type": r.media_type, "chars": r.chars, "pages": r.pages}
            for r in results]})
        return
    for r in results:
        pages = f", {r.pages} page(s)" if r.pages else ""
        what = f"{r.id}:v{r.version}  [dim]{escape(r.path)}, {r.chars:,} characters{pages}[/]"
        if r.status == "unchanged":
            out.print(f"[dim]unchanged[/] {what} [dim](same bytes as the stored version)[/]")
        else:
            verb = "added" if r.status == "added" else "new version"
            out.print(f"[green]{verb}[/] {what}")
    if commit:
        out.print(f"[dim]commit {commit[:10]}[/]")
    else:
        notice("nothing changed; nothing to commit")


@cli.command("sources")
@_json
@click.pass_obj
def sources_cmd(state: State, as_json: bool) -> None:
    """List the sources in raw/: id, title, current version, media type."""
    items = _svc().list_sources(state.vault, on_notice=notice)
    if as_json:
        print_json([_source_json(s) for s in items])
        return
    if not items:
        notice("no sources yet; add one with 'veriwiki add FILE'")
        return
    table = Table(box=None, pad_edge=False)
    for col in ("id", "title", "current", "versions", "type"):
        table.add_column(col, justify="right" if col == "versions" else "left")
    for s in items:
        table.add_row(escape(s.id), escape(s.title), f"v{s.current.version}",
                      str(len(s.versions)), s.current.media_type)
    out.print(table)


@cli.group("source")
def source_group() -> None:
    """Inspect one source."""


def _print_text(text: SourceText) -> None:
    """Print extracted text; PDF pages get a '--- page N ---' line each."""
    if not text.pages:
        click.echo(text.text, nl=not text.text.endswith("\n"))
        return
    bounds = [*text.pages, len(text.text) + len(PAGE_BREAK)]
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False), 1):
        page = text.text[start:end - len(PAGE_BREAK)]
        click.echo(f"--- page {number} ---")
        click.echo(page, nl=not page.endswith("\n"))


@source_group.command("show")
@click.argument("ref", metavar="ID[:vN]")
@click.option("--text", "with_text", is_flag=True, help="Print the extracted text.")
@_json
@click.pass_obj
def source_show_cmd(state: State, ref: str, with_text: bool, as_json: bool) -> None:
    """Show a source's metadata (ID: current version; ID:vN: version N)."""
    svc = _svc()
    source, version = svc.get_source(state.vault, ref, on_notice=notice)
    versioned = f"{source.id}:v{version.version}"
    text = problem = None
    if with_text:
        text = svc.source_text(state.vault, versioned)
    elif not as_json:
        try:  # the metadata is still worth showing when the text cannot be read
            text = svc.source_text(state.vault, versioned)
        except VeriwikiError as exc:
            problem = str(exc)
    if as_json:
        data = _source_json(source)
        data["shown"] = _version_json(version)
        data["path"] = f"raw/{source.id}/{version.file}"
        if text is not None:
            data["text"] = text.text
            data["pages"] = list(text.pages)
        print_json(data)
        return
    if with_text and text is not None:
        _print_text(text)
        return
    rows = [("id", f"{source.id}:v{version.version}"), ("title", source.title),
            ("origin", source.origin or "—"), ("license", source.license or "—"),
            ("file", f"raw/{source.id}/{version.file}"), ("type", version.media_type),
            ("size", f"{version.size:,} bytes"), ("sha256", version.sha256),
            ("added", version.added)]
    if problem:
        rows.append(("text", f"unavailable: {problem}"))
    if text is not None:
        rows.append(("text", f"{len(text.text):,} characters"
                     + (f", {len(text.pages)} page(s)" if text.pages else "")))
    for key, value in rows:
        out.print(f"[bold]{key:<8}[/] {escape(value)}")
    out.print("[bold]versions[/]")
    for v in source.versions:
        mark = " (current)" if v.version == source.current.version else ""
        out.print(f"  v{v.version}  {v.added}  {v.size:>12,} bytes  {v.sha256[:12]}  "
                  f"{escape(v.file)}{mark}")
