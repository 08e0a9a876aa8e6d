"""History views: a page's versions, the diff between two (text and claims), revert.

``/history/<page>`` lists the page's commits (author, date, message) with two radio
columns to pick versions; ``/diff/<page>?a=REV&b=REV`` shows the text diff and the claim
diff with each claim's verdict; ``POST /revert/<page>`` restores a version as one commit
through the revert service. Versions are commits of the page's own log, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from veriwiki.errors import InputError, VeriwikiError
from veriwiki.services.history import VersionDiff
from veriwiki.web.context import WebContext, WorkTimeout
from veriwiki.web.security import path_url, vault_path

DIFF_TIMEOUT = 180.0  # verdicts of an old version run the check in a scratch worktree


def history_url(path: str) -> str:
    """The app URL of a page's history."""
    return path_url(path, "/history/")


def diff_url(path: str, a: str, b: str) -> str:
    """The app URL of the diff of a page between versions ``a`` and ``b``."""
    return path_url(path, "/diff/") + f"?a={a}&b={b}"


def _log(ctx: WebContext, path: str) -> dict[str, Any]:
    from veriwiki.services.history import page_log

    vault = ctx.open_vault()
    found, versions = page_log(vault, path)
    return {"path": found, "versions": versions,
            "exists": (vault.root / found).is_file()}


def _diff(ctx: WebContext, path: str, a: str, b: str) -> Any:
    from veriwiki.services.history import diff_versions

    recent: dict[tuple[str, str, str], Any] = ctx.cache("history.diffs", dict)
    key = (path, a, b)
    if key not in recent:
        if len(recent) >= 8:  # bounded: a diff holds both texts
            recent.pop(next(iter(recent)))
        recent[key] = diff_versions(ctx.open_vault(), path, a, b, with_verdicts=False)
    return recent[key]


async def _with_verdicts(ctx: WebContext, diff: VersionDiff) -> VersionDiff:
    """``diff`` with its claims' verdicts, computed in a child process
    (``python -m veriwiki.web.history``): an old version is checked in a scratch worktree
    of the vault, which at 10k pages takes tens of seconds and would hold the app's
    worker thread. Kept until the vault changes."""
    if not diff.claims.changes:
        return diff
    kept: dict[tuple[int, str, str, str], dict[tuple[str, int, str], str]] = \
        ctx.services.setdefault("history.verdicts", {})
    key = (ctx.generation.number, diff.path, diff.a.commit, diff.b.commit)
    if key not in kept:
        cmd = [sys.executable, "-m", "veriwiki.web.history", str(ctx.vault_root), diff.path,
               diff.a.commit, diff.b.commit] + (["--trust"] if ctx.trust else [])
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), DIFF_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise WorkTimeout("checking the two versions", DIFF_TIMEOUT) from None
        try:
            found = {(str(side), int(line), str(text)): str(verdict)
                     for side, line, text, verdict in json.loads(out)}
        except (ValueError, TypeError) as exc:
            why = err.decode("utf-8", "replace").strip().splitlines()
            raise VeriwikiError("the versions' claims could not be checked: "
                                + (why[-1] if why else str(exc))[:500]) from None
        if len(kept) >= 32:
            kept.clear()
        kept[key] = found
    return replace(diff, verdicts=dict(kept[key]))


def main(argv: list[str] | None = None) -> int:
    """``python -m veriwiki.web.history VAULT PATH A B [--trust]``: print the verdicts of
    the claims that changed between versions A and B of page PATH as JSON
    ``[[side, line, claim, verdict], ...]`` (side ``a`` for removed claims)."""
    from veriwiki.services.history import diff_versions
    from veriwiki.vault import open_vault

    args = list(sys.argv[1:] if argv is None else argv)
    trust = "--trust" in args
    root, path, a, b = [x for x in args if x != "--trust"][:4]
    vault = open_vault(root)
    vault.sandbox = replace(vault.sandbox, trust=trust)
    try:
        diff = diff_versions(vault, path, a, b)
    finally:
        vault.close()
    sys.stdout.write(json.dumps([[*k, v] for k, v in diff.verdicts.items()]))
    return 0


def _revert(ctx: WebContext, path: str, rev: str) -> tuple[str, str, str | None]:
    from veriwiki.services.history import revert_to

    got = revert_to(ctx.open_vault(), path, rev)
    ctx.changed((got[0],))
    return got


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The history, diff and revert routes."""

    async def history(request: Request) -> Response:
        path = vault_path(request.path_params["path"])
        data = await ctx.run(_log, ctx, path, what="reading the page's history")
        versions = data["versions"]
        return ctx.render(
            request, "history.html", title=f"History of {data['path']}", main_class="wide",
            path=data["path"], versions=versions, exists=data["exists"],
            page_href=path_url(data["path"]), diff_action=path_url(data["path"], "/diff/"),
            revert_action=path_url(data["path"], "/revert/"),
            pairs=[(v, diff_url(data["path"], versions[i + 1].short, v.short)
                    if i + 1 < len(versions) else None) for i, v in enumerate(versions)],
            reverted=request.query_params.get("reverted", "")[:40])

    async def diff(request: Request) -> Response:
        path = vault_path(request.path_params["path"])
        a = request.query_params.get("a", "")
        b = request.query_params.get("b", "")
        if not a or not b:
            raise InputError("pick two versions to compare (?a=REV&b=REV)",
                             hint="open the page's history and pick two versions")
        got = await ctx.run(_diff, ctx, path, a, b, timeout=60,
                            what="comparing the two versions")
        got = await _with_verdicts(ctx, got)
        return ctx.render(
            request, "history_diff.html", title=f"Diff of {got.path}", main_class="wide",
            diff=got, path=got.path, page_href=path_url(got.path),
            history_href=history_url(got.path),
            swap_href=diff_url(got.path, got.b.short, got.a.short),
            revert_action=path_url(got.path, "/revert/"))

    async def revert(request: Request) -> Response:
        path = vault_path(request.path_params["path"])
        form = await request.form()
        rev = str(form.get("rev") or "")
        if not rev:
            raise InputError("no version given to revert to",
                             hint="use the Revert button of a version in the history")
        found, sha, _ = await ctx.run(_revert, ctx, path, rev, timeout=120,
                                      what="reverting the page")
        return RedirectResponse(history_url(found) + f"?reverted={sha[:10]}", status_code=303)

    return [
        Route("/history/{path:path}", history, name="history"),
        Route("/diff/{path:path}", diff, name="diff"),
        Route("/revert/{path:path}", revert, methods=["POST"], name="revert"),
    ]


if __name__ == "__main__":
    sys.exit(main())
