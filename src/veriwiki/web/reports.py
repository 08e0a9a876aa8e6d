"""Check report and health: ``/findings`` (filter by rule, severity, folder; each row
opens the line in the editor) and ``/health`` (verified share, stale pages, overdue
reviews, coverage and authors per folder and type, trends over the git history as
server-side SVG charts).

The findings are the app's background check (``veriwiki check --json`` in a child
process, :mod:`veriwiki.web.fullcheck`); the health figures are ``veriwiki status
--json`` run in a child process once per vault change, so the server never holds every
page in memory; the trends come from
:func:`~veriwiki.services.trends.health_trend`: the page shows the samples already
computed, and the missing ones are computed in the background (:func:`fill_trend`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import posixpath
import sys
import threading
import traceback
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from veriwiki.core.model import Finding, Severity
from veriwiki.errors import VeriwikiError
from veriwiki.services.trends import Trend, TrendPoint
from veriwiki.vault import Vault, debug_enabled
from veriwiki.web.context import WebContext, WorkTimeout, markup
from veriwiki.web.security import path_url

PAGE_ROWS = 500
STATUS_TIMEOUT = 1800.0
TREND_FILL_BUDGET = 3600.0  # the background fill stops starting new samples after this


@dataclass
class Findings:
    """The findings a report view shows, and how current they are."""

    findings: list[Finding]
    summary: dict[str, Any]
    note: str | None = None  # the findings are older than the last change
    pending: bool = False  # no report yet: the background check is still running


def _report(ctx: WebContext) -> Findings:
    """The check's findings: the app's background check (a child process) when it runs,
    else a check run here, kept until the next change."""
    from veriwiki.services.check import check_vault

    background = ctx.services.get("check")
    if background is not None:
        report = getattr(background, "report", None)
        if report is None:
            return Findings([], {}, pending=True)
        found = sorted((f for fs in report.by_path.values() for f in fs),
                       key=lambda f: (f.path, f.line, f.column or 0, f.rule, f.message))
        note = None
        if report.generation < ctx.generation.number:
            note = ("files changed after this check started; a new check runs in the "
                    "background: reload in a moment")
        return Findings(found, dict(report.summary), note)
    got = ctx.cache("reports.check", lambda: check_vault(ctx.open_vault()))
    return Findings(list(got.findings), got.summary())


def folder_of(path: str) -> str:
    """The folder a finding's file sits in (``.`` at the top)."""
    return posixpath.dirname(path) or "."


def _findings(ctx: WebContext, rule: str, severity: str, folder: str, page: int
              ) -> dict[str, Any]:
    report = _report(ctx)
    everything = report.findings
    rows = [f for f in everything
            if (not rule or f.rule == rule) and (not severity or f.severity.value == severity)
            and (not folder or folder_of(f.path) == folder
                 or folder_of(f.path).startswith(folder + "/"))]
    start = max(0, page - 1) * PAGE_ROWS
    return {"summary": report.summary, "note": report.note, "pending": report.pending,
            "total": len(rows),
            "rows": [(f, _edit_href(f.path, f.line), folder_of(f.path))
                     for f in rows[start:start + PAGE_ROWS]],
            "rules": sorted({f.rule for f in everything}),
            "folders": sorted({folder_of(f.path) for f in everything}),
            "pages": max(1, -(-len(rows) // PAGE_ROWS))}


def _edit_href(path: str, line: int) -> str | None:
    if not path.lower().endswith(".md"):
        return None
    return path_url(path, "/edit/") + f"#L{line}"


async def _status_json(ctx: WebContext) -> dict[str, Any]:
    """``veriwiki status --json`` of the vault, run in a child process (it loads every
    page; its memory goes with it), kept until the next change."""
    generation = ctx.generation.number
    kept = ctx.caches.get("reports.status-json")
    if isinstance(kept, tuple) and kept[0] == generation:
        return dict(kept[1])
    lock = ctx.services.setdefault("reports.status-lock", asyncio.Lock())
    async with lock:
        kept = ctx.caches.get("reports.status-json")
        if isinstance(kept, tuple) and kept[0] == generation:
            return dict(kept[1])
        cmd = [sys.executable, "-m", "veriwiki", "--vault", str(ctx.vault_root)]
        if ctx.trust:
            cmd.append("--trust")
        proc = await asyncio.create_subprocess_exec(
            *cmd, "status", "--json", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), STATUS_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise WorkTimeout("computing the vault's status", STATUS_TIMEOUT) from None
        try:
            data = json.loads(out)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            why = err.decode("utf-8", "replace").strip().splitlines()
            raise VeriwikiError("the vault's status could not be computed: "
                                + (why[-1] if why else f"exit {proc.returncode}")[:500])
        ctx.caches["reports.status-json"] = (generation, data)
        return dict(data)


def _rows(items: Any) -> list[dict[str, Any]]:
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []


def _health(ctx: WebContext, status: dict[str, Any], samples: int) -> dict[str, Any]:
    from veriwiki.render.graph import bar_chart_svg
    from veriwiki.services.trends import health_trend, point_from_json

    vault = ctx.open_vault()
    report = _report(ctx)
    stale: dict[str, int] = {}
    for f in report.findings:
        if f.rule == "stale-claim":
            stale[f.path] = stale.get(f.path, 0) + 1
    folders, types = _rows(status.get("folders")), _rows(status.get("types"))

    def chart(rows: list[dict[str, Any]]) -> str:
        return bar_chart_svg([(str(r.get("name")), _share(r), f"{r.get('verified')}/"
                               f"{r.get('claims')}") for r in rows])

    trend = health_trend(vault, samples, current=point_from_json(status, "", ""),
                         compute=False)
    if trend.pending:
        fill_trend(vault, samples)
    findings = status.get("findings") if isinstance(status.get("findings"), dict) else {}
    return {"status": status, "summary": findings, "folders": folders, "types": types,
            "stale": sorted(stale.items()), "stale_pending": report.pending,
            "overdue": _rows(status.get("stale_pages")),
            "folder_chart": markup(chart(folders)), "type_chart": markup(chart(types)),
            "trend": trend, "share_chart": markup(trend_svg(trend.points, "share")),
            "count_chart": markup(trend_svg(trend.points, "counts"))}


def _share(row: dict[str, Any]) -> float:
    claims, verified = row.get("claims"), row.get("verified")
    if isinstance(claims, int) and isinstance(verified, int) and claims > 0:
        return verified / claims
    return 0.0


_filling: set[str] = set()
_filling_lock = threading.Lock()


def fill_trend(vault: Vault, samples: int) -> bool:
    """Compute the missing trend samples on a thread of their own (one per vault at a
    time); False when one is already running.

    Each sample is a status process on a scratch worktree (see
    :func:`veriwiki.services.trends.measure`): nothing here touches the worker's SQLite
    handles, and the page shows the samples as they land in the cache.
    """
    from veriwiki.services.trends import health_trend

    key = str(vault.root)
    with _filling_lock:
        if key in _filling:
            return False
        _filling.add(key)

    def work() -> None:
        try:
            health_trend(vault, samples, budget=TREND_FILL_BUDGET)
        except Exception:  # noqa: BLE001 - a failed sample is retried on the next visit
            if debug_enabled():
                traceback.print_exc()
        finally:
            with _filling_lock:
                _filling.discard(key)

    threading.Thread(target=work, name="veriwiki-trends", daemon=True).start()
    return True


def trend_svg(points: list[TrendPoint], kind: str, width: int = 640, height: int = 200) -> str:
    """A line chart over the sampled commits: ``share`` (verified share, 0–100 %) or
    ``counts`` (pages, claims, error findings). Samples without claims have no share and
    are left out of the share chart."""
    shown = [p for p in points if p.failed is None
             and (kind != "share" or p.verified_share is not None)]
    if not shown:
        return '<p class="none">No sampled commit has claims yet.</p>'
    left, right, top, bottom = 46, 12, 12, 34
    span_x, span_y = width - left - right, height - top - bottom
    if kind == "share":
        series = [("line", "dot", "verified share",
                   [100.0 * (p.verified_share or 0.0) for p in shown])]
        top_value = 100.0
    else:
        series = [("line2", "dot2", "pages", [float(p.pages) for p in shown]),
                  ("line", "dot", "claims", [float(p.claims) for p in shown]),
                  ("line3", "dot3", "errors", [float(p.errors) for p in shown])]
        top_value = max([1.0, *(v for _, _, _, vs in series for v in vs)])
    n = len(shown)

    def x(i: int) -> float:
        return left + (span_x * i / (n - 1) if n > 1 else span_x / 2)

    def y(v: float) -> float:
        return top + span_y - span_y * v / top_value

    parts = [f'<svg class="trend-chart" data-kind="{kind}" viewBox="0 0 {width} {height}" '
             f'role="img" xmlns="http://www.w3.org/2000/svg">',
             f'<line class="axis" x1="{left}" y1="{top + span_y}" x2="{width - right}" '
             f'y2="{top + span_y}"/>',
             f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + span_y}"/>']
    top_label = "100 %" if kind == "share" else f"{top_value:g}"
    parts.append(f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{top_label}</text>'
                 f'<text x="{left - 4}" y="{top + span_y + 4}" text-anchor="end">0</text>')
    same_day = shown[0].date[:10] == shown[-1].date[:10]
    for i in sorted({0, n - 1, n // 2}):
        anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
        when = shown[i].date[:16].replace("T", " ") if same_day else shown[i].date[:10]
        parts.append(f'<text x="{x(i):.1f}" y="{height - 14}" text-anchor="{anchor}">'
                     f"{escape(when)}</text>")
    for line, dot, label, values in series:
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline class="{line}" points="{coords}"><title>{label}</title>'
                     "</polyline>")
        for i, v in enumerate(values):
            parts.append(f'<circle class="{dot}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3">'
                         f"<title>{escape(label)} {v:g} at {escape(shown[i].commit[:10])} "
                         f"({escape(shown[i].date[:10])})</title></circle>")
    legend_x = left
    for line, _, label, _ in series:
        parts.append(f'<line class="{line}" x1="{legend_x}" y1="{height - 4}" '
                     f'x2="{legend_x + 14}" y2="{height - 4}"/><text x="{legend_x + 18}" '
                     f'y="{height - 1}">{escape(label)}</text>')
        legend_x += 110
    parts.append("</svg>")
    return "".join(parts)


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The findings and health routes."""

    async def findings(request: Request) -> Response:
        q = request.query_params
        rule, severity, folder = (q.get(k, "")[:200] for k in ("rule", "severity", "folder"))
        try:
            page = max(1, min(int(q.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        data = await ctx.run(_findings, ctx, rule, severity, folder, page, timeout=300,
                             what="running the check")
        def link(n: int) -> str:
            return "/findings?" + urlencode({k: v for k, v in (
                ("rule", rule), ("severity", severity), ("folder", folder),
                ("page", str(n))) if v})

        return ctx.render(
            request, "report_findings.html", title="Findings", main_class="wide", **data,
            rule=rule, severity=severity, folder=folder, page=page,
            severities=[s.value for s in Severity if s is not Severity.OFF],
            prev_href=link(page - 1) if page > 1 else None,
            next_href=link(page + 1) if page < data["pages"] else None)

    async def health(request: Request) -> Response:
        try:
            samples = max(2, min(int(request.query_params.get("samples", "12")), 60))
        except ValueError:
            samples = 12
        status = await _status_json(ctx)
        data = await ctx.run(_health, ctx, status, samples, timeout=60,
                             what="reading the vault's health")
        return ctx.render(request, "report_health.html", title="Health", main_class="wide",
                          page_href=path_url, **data)

    return [Route("/findings", findings, name="findings"),
            Route("/health", health, name="health")]


__all__ = ["Trend", "routes", "trend_svg"]
