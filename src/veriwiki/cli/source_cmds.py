"""Source commands: add (files, folders, URLs), sources, source show, source refresh."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from veriwiki.adapters.extract import PAGE_BREAK
from veriwiki.cli.app import State, err, notice, out, print_json, real_console, term_safe
from veriwiki.errors import VeriwikiError

if TYPE_CHECKING:
    from veriwiki.core.model import Source, SourceText, SourceVersion


def _svc() -> Any:
    """The source services, imported on first use to keep start-up fast."""
    from veriwiki.services import sources

    return sources


_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _source_json(s: Source) -> dict[str, Any]:
    from veriwiki.services.source_json import source_json

    return source_json(s)


def _version_json(v: SourceVersion) -> dict[str, Any]:
    from veriwiki.services.source_json import version_json

    return version_json(v)


@click.command("add")
@click.argument("path", metavar="FILE|DIR|URL", type=click.Path(exists=False))
@click.option("--id", "source_id", default=None, metavar="ID",
              help="Source id (default: slug of the file name).")
@click.option("--title", default=None, metavar="T", help="Title (default: from the file).")
@click.option("--url", default=None, metavar="U", help="Where the source came from.")
@click.option("--license", "license_", default=None, metavar="L", help="Its licence.")
@click.option("--sha256", default=None, metavar="HEX",
              help="URL only: the expected SHA-256 of the download (a mismatch is refused).")
@_json
@click.pass_obj
def add_cmd(state: State, path: str, source_id: str | None, title: str | None,
            url: str | None, license_: str | None, sha256: str | None, as_json: bool) -> None:
    """Add a source file (or every supported file in DIR, or a URL) to raw/, in one commit.

    Reads markdown, text, HTML and PDF. URL is an http(s) address or arxiv:ID (the
    paper's PDF). Adding new bytes under an existing id stores a new version;
    identical bytes change nothing.
    """
    from veriwiki.services import web_sources

    if web_sources.is_web_target(path):
        if url:
            raise click.UsageError("--url describes a file; a URL source records its own URL")
        with _progress(as_json) as progress:
            results = [web_sources.add_url(state.vault, path, source_id=source_id, title=title,
                                           license=license_, sha256=sha256,
                                           on_progress=progress, on_wait=notice,
                                           on_notice=notice)]
    else:
        if sha256:
            raise click.UsageError("--sha256 pins a download; it needs a URL or arxiv:ID")
        results = _svc().add_sources(state.vault, path, source_id=source_id, title=title,
                                     url=url, license=license_, on_wait=notice,
                                     on_notice=notice)
    _print_added(results, as_json)


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int | None], None] | None]:
    """A download progress bar on standard error when it is a terminal."""
    if quiet or not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TransferSpeedColumn,
    )

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=real_console(err), transient=True) as bar:
        task = bar.add_task("downloading", total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _print_added(results: list[Any], as_json: bool) -> None:
    commit = next((r.commit for r in results if r.commit), None)
    if as_json:
        from veriwiki.services.source_json import added_json

        print_json(added_json(results))
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


@click.command("sources")
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


@click.group("source")
def source_group() -> None:
    """Inspect one source."""


def _print_text(text: SourceText) -> None:
    """Print extracted text; PDF pages get a '--- page N ---' line each."""
    if not text.pages:
        click.echo(term_safe(text.text), nl=not text.text.endswith("\n"))
        return
    bounds = [*text.pages, len(text.text) + len(PAGE_BREAK)]
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False), 1):
        page = text.text[start:end - len(PAGE_BREAK)]
        click.echo(f"--- page {number} ---")
        click.echo(term_safe(page), nl=not page.endswith("\n"))


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
    if version.url:
        rows += [("url", version.url), ("fetched", version.retrieved or "—")]
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


@source_group.command("refresh")
@click.argument("ref", metavar="ID")
@_json
@click.pass_obj
def source_refresh_cmd(state: State, ref: str, as_json: bool) -> None:
    """Download a URL source again; a new version is stored only if its bytes changed.

    Then 'veriwiki check' shows, as stale-claim, the claims whose quotes the new
    version dropped.
    """
    from veriwiki.services import web_sources

    with _progress(as_json) as progress:
        result = web_sources.refresh_source(state.vault, ref, on_progress=progress,
                                            on_wait=notice, on_notice=notice)
    _print_added([result], as_json)
