"""LLM commands: ingest, review (list/show/approve/reject) and ask."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from veriwiki.cli.app import (
    State,
    err,
    notice,
    out,
    print_json,
    term_safe,
    trust_option,
)
from veriwiki.cli.models import _Progress, new_meter, open_model
from veriwiki.errors import VeriwikiError

_json = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("--model", default=None, metavar="ID",
              help="Writer model (an `llm` model id; default: [llm] writer, else SmolLM2).")
@click.option("--yes", "auto", is_flag=True,
              help="Approve each proposal at once when its check passes.")
@click.option("--mode", type=click.Choice(["auto", "extractive", "write"]), default=None,
              help="extractive: quote the source's informative sentences as claims (the "
                   "default for local models); write: the model writes claims (the default "
                   "for hosted models). Default: [llm] ingest_mode.")
@trust_option
@_json
@click.pass_obj
def ingest_cmd(state: State, sources: tuple[str, ...], model: str | None, auto: bool,
               mode: str | None, as_json: bool) -> None:
    """Propose verified claims from SOURCE (a raw/ id, or a file, which is added first).

    Each source becomes a proposal: a branch with one commit and a claim diff. Review it
    with 'veriwiki review show ID'; merge it with 'veriwiki review approve ID'.
    """
    from veriwiki.services.ingest import ingest_source
    from veriwiki.services.review import CheckFailedError, approve

    writer = open_model(state, "writer", model)
    results = []
    failed = False
    for ref in sources:
        meter = new_meter(state, writer)
        progress = _Progress(f"ingest {ref}")
        try:
            result = ingest_source(state.vault, ref, writer, meter=meter, on_progress=progress,
                                   on_notice=notice, mode=mode)
        finally:
            progress.close()
        if auto and result.proposal is not None and result.noop is None:
            try:
                approve(state.vault, result.proposal.id, on_notice=notice)
                result.approved = True
            except CheckFailedError as exc:
                result.approve_error = str(exc)
                failed = True
        results.append((result, meter))
        if not as_json:
            _print_ingest(result, meter)
    if as_json:
        print_json({"results": [dict(r.to_json(), usage=m.to_json()) for r, m in results]})
    if failed:
        sys.exit(1)


def _print_ingest(result: Any, meter: Any) -> None:
    if result.noop:
        out.print(f"{escape(result.source)}: nothing to do — {escape(result.noop)}")
        return
    p = result.proposal
    if result.mode == "extractive" and result.coverage:
        cov = result.coverage
        out.print(f"[bold]{escape(p.id)}[/]: {len(result.verified)} verified claims quoted from "
                  f"{cov['sentences']} sentences (extractive; {len(cov['skipped'])} skipped, "
                  f"{len(cov['facts'])} typed facts), {len(result.pages_created)} pages "
                  f"created, {len(result.pages_touched)} touched")
        for path in result.pages_created:
            out.print(f"  [green]new page[/] {escape(path)}")
        for path in result.pages_touched:
            out.print(f"  [yellow]touched[/] {escape(path)}")
    else:
        out.print(f"[bold]{escape(p.id)}[/]: {len(result.verified)} verified claims "
                  f"({len(result.claims) - len(result.verified)} dropped), "
                  f"{len(result.pages_created)} pages created, "
                  f"{len(result.pages_touched)} touched")
    for c in result.claims:
        if not c.verified:
            out.print(f"  [dim]dropped[/] {escape(c.claim)} [dim]({escape(c.reason)})[/]")
    if result.approved:
        out.print("  approved and merged into main")
    elif result.approve_error:
        out.print(f"  [red]not approved:[/] {escape(result.approve_error)}")
    else:
        out.print(f"  review: veriwiki review show {escape(p.id)}")
    err.print(f"[dim]{escape(meter.describe())}[/]")


@click.group("review", invoke_without_command=True)
@_json
@click.pass_context
def review_group(ctx: click.Context, as_json: bool) -> None:
    """List open proposals; 'review show|approve|reject ID' acts on one."""
    if ctx.invoked_subcommand is not None:
        return
    from veriwiki.services.proposals import list_proposals
    from veriwiki.services.review import claim_diff

    state: State = ctx.obj
    proposals = list_proposals(state.vault)
    if as_json:
        print_json({"proposals": [dict(p.to_json(), claim_diff=claim_diff(
            state.vault, p).to_json()) for p in proposals]})
        return
    if not proposals:
        out.print("no open proposals")
        return
    for p in proposals:
        d = claim_diff(state.vault, p)
        out.print(f"[bold]{escape(p.id)}[/]  {escape(p.op)}: {escape(p.subject)}  "
                  f"+{d.count('added')} ~{d.count('changed')} -{d.count('removed')} claims, "
                  f"{len(d.pages_created)} new / {len(d.pages_touched)} touched pages  "
                  f"[dim]{escape(p.created)}[/]")


@review_group.command("show")
@click.argument("ident", metavar="ID")
@click.option("--no-diff", is_flag=True, help="Only the claim diff, not the page diff.")
@_json
@click.pass_obj
def review_show(state: State, ident: str, no_diff: bool, as_json: bool) -> None:
    """Print a proposal's claim diff and page diff."""
    from veriwiki.services.review import show

    proposal, diff, pages = show(state.vault, ident)
    if as_json:
        print_json(dict(proposal.to_json(), claim_diff=diff.to_json(), diff=pages))
        return
    out.print(f"[bold]{escape(proposal.id)}[/] ({escape(proposal.branch)}): "
              f"{escape(proposal.op)} {escape(proposal.subject)}")
    meta = proposal.meta
    if meta.get("model"):
        out.print(f"model: {escape(str(meta['model']))}")
    out.print(f"claims: +{diff.count('added')} added, ~{diff.count('changed')} changed, "
              f"-{diff.count('removed')} removed")
    for path in diff.pages_created:
        out.print(f"  [green]new page[/] {escape(path)}")
    for path in diff.pages_touched:
        out.print(f"  [yellow]touched[/] {escape(path)}")
    elsewhere = {c.text for c in diff.changes if "/sources/" not in c.path}
    repeated = 0
    for c in diff.changes:
        if c.kind == "added" and "/sources/" in c.path and c.text in elsewhere:
            repeated += 1   # the source summary repeats the claims filed on other pages
            continue
        mark = {"added": "[green]+[/]", "removed": "[red]-[/]", "changed": "[yellow]~[/]"}[c.kind]
        out.print(f"{mark} {escape(c.path)}:{c.line} {escape(c.text)}")
        if c.old_text and c.old_text != c.text:
            out.print(f"    [dim]was:[/] {escape(c.old_text)}")
        for q in c.quotes:
            if " ".join(q.split(": ", 1)[-1].split()) != " ".join(c.text.split()):
                out.print(f"    [dim]{escape(q)}[/]")   # (extractive: the claim is its quote)
    if repeated:
        out.print(f"  [dim]({repeated} of these claims are repeated on the source summary "
                  "page)[/]")
    _print_coverage(meta.get("coverage"))
    dropped = meta.get("dropped") or []
    if dropped:
        out.print(f"dropped (not verified): {len(dropped)}")
        for d in dropped[:20]:
            out.print(f"  [dim]{escape(str(d.get('claim')))} ({escape(str(d.get('reason')))})[/]")
    if not no_diff and pages:
        out.print("")
        sys.stdout.flush()
        sys.stdout.write(term_safe(pages))


def _print_coverage(coverage: Any) -> None:
    """Extractive ingest: sentences taken, typed facts, and each skipped sentence with why."""
    if not isinstance(coverage, dict):
        return
    skipped = coverage.get("skipped") or []
    out.print(f"extractive: took {coverage.get('taken')} of {coverage.get('sentences')} "
              f"sentences, skipped {len(skipped)}")
    for f in coverage.get("facts") or []:
        unit = f" {f.get('unit')}" if f.get("unit") else ""
        out.print(f"  [cyan]fact[/] {escape(str(f.get('entity')))}.{escape(str(f.get('attribute')))}"
                  f" = {escape(str(f.get('value')))}{escape(unit)}")
    for item in skipped[:40]:
        out.print(f"  [dim]skipped ({escape(str(item.get('reason')))}): "
                  f"{escape(str(item.get('sentence')))}[/]")
    if len(skipped) > 40:
        out.print(f"  [dim]… and {len(skipped) - 40} more (review show --json lists all)[/]")


@review_group.command("approve")
@click.argument("ident", metavar="ID")
@click.option("--force", is_flag=True, help="Merge even if the check finds new errors.")
@trust_option
@_json
@click.pass_obj
def review_approve(state: State, ident: str, force: bool, as_json: bool) -> None:
    """Merge a proposal into main (re-applied on the current main and re-checked).

    The check runs the vault's check blocks (see ``check --trust``).
    """
    from veriwiki.services.review import approve

    proposal, result, errors = approve(state.vault, ident, force=force, on_notice=notice)
    if as_json:
        print_json({"proposal": proposal.id, "commit": result.commit,
                    "forced_errors": [f.to_json() for f in errors]})
        return
    out.print(f"approved {escape(proposal.id)}: commit {escape(str(result.commit or '-')[:12])}")
    for f in errors:
        notice(f"merged despite {f.rule} at {f.path}:{f.line}: {f.message}")


@review_group.command("reject")
@click.argument("ident", metavar="ID")
@_json
@click.pass_obj
def review_reject(state: State, ident: str, as_json: bool) -> None:
    """Delete a proposal (its branch); main is not touched."""
    from veriwiki.services.review import reject

    proposal = reject(state.vault, ident)
    if as_json:
        print_json({"rejected": proposal.id})
        return
    out.print(f"rejected {escape(proposal.id)}")


__all__ = ["open_model", "new_meter", "VeriwikiError"]
