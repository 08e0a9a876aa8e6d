"""Review queue: open proposals, one proposal's claim and page diffs with verdicts,
approve (the CLI's check gate), reject, and per-claim reject.

Every form carries the proposal's commit as the page showed it; an action on a
proposal that has changed since (an agent's revision) is refused, so nothing is
approved unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from veriwiki.core.model import Finding, Severity
from veriwiki.errors import ConflictError, InputError, VeriwikiError
from veriwiki.services.history import DiffLine
from veriwiki.services.proposals import Proposal
from veriwiki.services.review import CheckFailedError, ClaimDiff
from veriwiki.web.context import WebContext, WorkTimeout
from veriwiki.web.security import path_url

GATE_TIMEOUT = 300.0  # the gate runs the full check in a scratch worktree


@dataclass
class ProposalView:
    """What the proposal page shows."""

    proposal: Proposal
    claims: ClaimDiff
    verdicts: list[str | None]
    rejectable: list[bool]
    pages: list[tuple[str, str, list[DiffLine], bool]]  # path, state, diff lines, cut
    new_errors: list[Finding]
    other_paths: list[str] = field(default_factory=list)


def review_url(ident: str) -> str:
    """The app URL of a proposal."""
    return "/review/" + quote(ident, safe="")


def _ident(request: Request) -> str:
    ident = request.path_params["ident"]
    if not ident or len(ident) > 100:
        raise InputError("not a proposal id", hint="pick a proposal from the review queue")
    return str(ident)


def _queue(ctx: WebContext) -> list[tuple[Proposal, ClaimDiff]]:
    from veriwiki.services.proposals import list_proposals
    from veriwiki.services.review import claim_diff

    vault = ctx.open_vault()
    return [(p, claim_diff(vault, p)) for p in list_proposals(vault)]


def _proposal(ctx: WebContext, ident: str) -> Proposal:
    from veriwiki.services.proposals import get_proposal

    return get_proposal(ctx.open_vault(), ident)


@dataclass
class Checked:
    """The check of a proposal's pages: every finding on them, the (rule, path, message)
    of main's own findings (what is not among them is new), and main's findings on those
    pages (the verdicts of the claims the proposal removes)."""

    found: list[Finding]
    before: set[tuple[str, str, str]]
    found_before: list[Finding] = field(default_factory=list)


async def _checked(ctx: WebContext, proposal: Proposal) -> Checked:
    """The proposal's check, run in a child process (``python -m veriwiki.web.review``):
    at 10k pages it takes tens of seconds and loads the vault twice, which would hold the
    app's one worker thread and stay in the server's memory. Kept per proposal commit
    until the vault changes."""
    kept: dict[tuple[int, str], Checked] = ctx.services.setdefault("review.checked", {})
    key = (ctx.generation.number, proposal.commit)
    if key in kept:
        return kept[key]
    cmd = [sys.executable, "-m", "veriwiki.web.review", str(ctx.vault_root), proposal.id,
           proposal.commit] + (["--trust"] if ctx.trust else [])
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), GATE_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise WorkTimeout("checking the proposal", GATE_TIMEOUT) from None
    if proc.returncode == _CHANGED:
        raise _changed(proposal.id)
    try:
        data = json.loads(out)
        checked = Checked([_finding_of(f) for f in data["findings"]],
                          {(str(f["rule"]), str(f["path"]), str(f["message"]))
                           for f in data["before"]},
                          [_finding_of(f) for f in data["before"]])
    except (ValueError, KeyError, TypeError) as exc:
        why = err.decode("utf-8", "replace").strip().splitlines()
        raise VeriwikiError("the proposal could not be checked: "
                            + (why[-1] if why else str(exc))[:500]) from None
    if len(kept) >= 16:
        kept.clear()
    kept[key] = checked
    return checked


def _finding_of(data: dict[str, Any]) -> Finding:
    return Finding(str(data["rule"]), Severity(data["severity"]), str(data["path"]),
                   int(data.get("line") or 1), str(data.get("message", "")),
                   data.get("hint"), data.get("column"), data.get("origin"))


def _view(ctx: WebContext, proposal: Proposal, checked: Checked) -> ProposalView:
    from veriwiki.services.history import claim_verdicts, text_diff
    from veriwiki.services.proposals import changed_pages
    from veriwiki.services.review import claim_diff_of
    from veriwiki.services.review_claims import can_reject_alone

    vault = ctx.open_vault()
    pages = changed_pages(vault, proposal)
    claims = claim_diff_of(pages)
    news = {p: new for p, (_, new) in pages.items()}
    found = checked.found
    now: dict[str, dict[tuple[int, str], str]] = {}
    was: dict[str, dict[tuple[int, str], str]] = {}  # on main: the claims a proposal removes
    for path, (old, new) in pages.items():
        now[path] = claim_verdicts(path, new, [f for f in found if f.path == path])
        was[path] = claim_verdicts(path, old, [f for f in checked.found_before
                                               if f.path == path])
    verdicts = [(was if c.kind == "removed" else now).get(c.path, {}).get((c.line, c.text))
                for c in claims.changes]
    rejectable = [can_reject_alone(c.path, news.get(c.path), c) for c in claims.changes]
    new_errors = [f for f in found if f.severity is Severity.ERROR
                  and (f.rule, f.path, f.message) not in checked.before]
    shown = []
    for path, (old, new) in sorted(pages.items()):
        state = "new" if old is None else "deleted" if new is None else "changed"
        lines, cut = text_diff(old, new)
        shown.append((path, state, lines, cut))
    return ProposalView(proposal, claims, verdicts, rejectable, shown, new_errors)


_CHANGED = 3  # exit code of the child: the proposal moved on since the page named it


def main(argv: list[str] | None = None) -> int:
    """``python -m veriwiki.web.review VAULT ID COMMIT [--trust]``: print the check of
    proposal ``ID`` (at ``COMMIT``) as JSON: every finding on its pages, and main's own
    findings on those pages ("before")."""
    from dataclasses import replace

    from veriwiki.services.check import check_vault
    from veriwiki.services.proposals import changed_pages, check_files, get_proposal
    from veriwiki.vault import open_vault

    args = list(sys.argv[1:] if argv is None else argv)
    trust = "--trust" in args
    root, ident, commit = [a for a in args if a != "--trust"][:3]
    vault = open_vault(root)
    vault.sandbox = replace(vault.sandbox, trust=trust)
    try:
        proposal = get_proposal(vault, ident)
        if proposal.commit != commit:
            return _CHANGED
        news = {p: new for p, (_, new) in changed_pages(vault, proposal).items()}
        found = check_files(vault, news, errors_only=False, only_new=False) if news else []
        touched = set(news)
        before = [f.to_json() for f in check_vault(vault).findings if f.path in touched]
    finally:
        vault.close()
    sys.stdout.write(json.dumps({"findings": [f.to_json() for f in found],
                                 "before": before}))
    return 0


def _approve(ctx: WebContext, ident: str, commit: str, force: bool) -> tuple[str, str | None]:
    from veriwiki.services.review import approve

    _same_commit(ctx, ident, commit)
    proposal, result, _ = approve(ctx.open_vault(), ident, force=force)
    ctx.changed(tuple(result.changed))
    return proposal.id, result.commit


def _reject(ctx: WebContext, ident: str, commit: str) -> str:
    from veriwiki.services.review import reject

    _same_commit(ctx, ident, commit)
    proposal = reject(ctx.open_vault(), ident)
    ctx.changed(())
    return proposal.id


def _reject_claims(ctx: WebContext, ident: str, commit: str, picks: list[int]) -> str:
    from veriwiki.services.proposals import changed_pages
    from veriwiki.services.review import claim_diff_of
    from veriwiki.services.review_claims import ClaimPick, reject_claims

    proposal = _proposal(ctx, ident)
    if proposal.commit != commit:
        raise _changed(ident)
    changes = claim_diff_of(changed_pages(ctx.open_vault(), proposal)).changes
    if not picks or any(i < 0 or i >= len(changes) for i in picks):
        raise InputError("pick the claims to reject (the check boxes next to them)")
    chosen = [ClaimPick(changes[i].path, changes[i].text) for i in picks]
    proposal = reject_claims(ctx.open_vault(), ident, chosen)
    ctx.changed(())
    return proposal.id


def _same_commit(ctx: WebContext, ident: str, commit: str) -> None:
    from veriwiki.services.proposals import get_proposal

    if get_proposal(ctx.open_vault(), ident).commit != commit:
        raise _changed(ident)


def _changed(ident: str) -> ConflictError:
    return ConflictError(f"proposal {ident} changed since this page was loaded",
                         hint="open it again and review the new version")


def _picks(form: FormData) -> list[int]:
    out = []
    for value in form.getlist("claim")[:1000]:
        try:
            out.append(int(str(value)))
        except ValueError:
            raise InputError(f"{str(value)[:40]!r} is not a claim number") from None
    return out


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The review queue routes."""

    async def queue(request: Request) -> Response:
        rows = await ctx.run(_queue, ctx, timeout=60, what="listing the proposals")
        done = {k: request.query_params.get(k, "")[:100]
                for k in ("approved", "rejected", "commit")}
        return ctx.render(request, "review.html", title="Review", main_class="wide",
                          rows=[(p, d, review_url(p.id)) for p, d in rows], done=done)

    async def show(request: Request, *, gate_error: str | None = None,
                   status_code: int = 200) -> Response:
        ident = _ident(request)
        proposal = await ctx.run(_proposal, ctx, ident, what="reading the proposal")
        checked = await _checked(ctx, proposal)
        view = await ctx.run(_view, ctx, proposal, checked, timeout=60,
                             what="showing the proposal")
        notice = request.query_params.get("updated", "")[:100]
        return ctx.render(
            request, "review_detail.html", status_code=status_code,
            title=f"Proposal {view.proposal.id}", main_class="wide", view=view,
            p=view.proposal, base=review_url(view.proposal.id), gate_error=gate_error,
            page_href=lambda path: path_url(path), notice=notice,
            meta_items=_meta_items(view.proposal.meta))

    async def approve(request: Request) -> Response:
        ident = _ident(request)
        form = await request.form()
        commit = str(form.get("commit") or "")
        force = str(form.get("force") or "") == "1"
        try:
            pid, commit_id = await ctx.run(_approve, ctx, ident, commit, force,
                                           timeout=GATE_TIMEOUT, what="approving the proposal")
        except CheckFailedError as exc:
            return await show(request, gate_error=str(exc), status_code=409)
        return RedirectResponse(f"/review?approved={quote(pid)}&commit={commit_id or ''}",
                                status_code=303)

    async def reject(request: Request) -> Response:
        ident = _ident(request)
        form = await request.form()
        pid = await ctx.run(_reject, ctx, ident, str(form.get("commit") or ""),
                            what="rejecting the proposal")
        return RedirectResponse(f"/review?rejected={quote(pid)}", status_code=303)

    async def reject_claims(request: Request) -> Response:
        ident = _ident(request)
        form = await request.form()
        pid = await ctx.run(_reject_claims, ctx, ident, str(form.get("commit") or ""),
                            _picks(form), timeout=GATE_TIMEOUT,
                            what="rejecting the claims")
        return RedirectResponse(review_url(pid) + "?updated=claims", status_code=303)

    return [
        Route("/review", queue, name="review"),
        Route("/review/{ident}", show, name="review_show"),
        Route("/review/{ident}/approve", approve, methods=["POST"]),
        Route("/review/{ident}/reject", reject, methods=["POST"]),
        Route("/review/{ident}/reject-claims", reject_claims, methods=["POST"]),
    ]


def _meta_items(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """What made the proposal (model, sources, revision), as short text pairs."""
    out: list[tuple[str, str]] = []
    for key in ("model", "source", "sources", "revision", "agent"):
        if key in meta and meta[key] not in (None, "", []):
            value = meta[key]
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            out.append((key, text[:300]))
    return out


if __name__ == "__main__":
    sys.exit(main())
