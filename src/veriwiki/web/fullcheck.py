"""The whole vault's check, run in the background so page views only look findings up.

``veriwiki check --json`` runs in a child process at a lower priority after the server
starts and again (a couple of seconds later, one run at a time) after every change, with
the same check cache the CLI uses, so a re-check after one edit recomputes one page.
Page views take a page's findings from the latest report while the page has not changed
since that check started; a page changed after it is checked on its own
(:func:`veriwiki.web.pagecheck.check_page`) until the next report arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from veriwiki.core.model import Finding, Severity
from veriwiki.web.context import WebContext

DEBOUNCE_SECONDS = 2.0
TIMEOUT_SECONDS = 3600.0


@dataclass
class Report:
    """One finished check: findings by page, and the generation it started at."""

    generation: int
    by_path: dict[str, list[Finding]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    finished: float = field(default_factory=time.time)
    seconds: float = 0.0

    def is_current(self, ctx: WebContext, path: str) -> bool:
        """True when ``path`` has not changed since this check started."""
        changes = ctx.generation.changed
        if ctx.generation.number > self.generation and (
                not changes or changes[0][0] > self.generation + 1):
            return False  # the changes in between are no longer all recorded
        return not any(number > self.generation and (not paths or path in paths
                                                     or "*" in paths)
                       for number, _, paths in changes)


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(str(data["rule"]), Severity(data["severity"]), str(data["path"]),
                   int(data.get("line") or 1), str(data.get("message", "")),
                   data.get("hint"), data.get("column"), data.get("origin"))


def parse_report(text: str, generation: int, seconds: float) -> Report:
    """A :class:`Report` from ``check --json`` output."""
    data = json.loads(text)
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for item in data.get("findings", []):
        f = _finding(item)
        by_path[f.path].append(f)
    return Report(generation, dict(by_path), data.get("summary", {}), seconds=seconds)


class BackgroundCheck:
    """Runs the check in a child process when asked, one run at a time."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.report: Report | None = None
        self.error: str | None = None
        self.running = False
        self._again = False
        self._task: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None

    def request(self) -> None:
        """Ask for a check soon (call on the event loop)."""
        if self.running:
            self._again = True
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        while True:
            self._again = False
            self.running = True
            try:
                await self._check_once()
            finally:
                self.running = False
            if not self._again:
                return

    async def _check_once(self) -> None:
        ctx = self.ctx
        start_gen = ctx.generation.number
        args = [sys.executable, "-m", "veriwiki", "--vault", str(ctx.vault_root)]
        if ctx.trust:
            args.append("--trust")
        args += ["check", "--json"]
        started = time.perf_counter()

        def lower_priority() -> None:
            with contextlib.suppress(OSError):
                os.nice(10)

        proc = None
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL, preexec_fn=lower_priority)
            self._proc = proc
            out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as exc:
            self.error = f"the background check did not run: {exc}"
            return
        finally:
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(Exception):
                    await asyncio.shield(proc.wait())
            self._proc = None
        if proc.returncode not in (0, 1):
            self.error = (err.decode("utf-8", "replace").strip().splitlines() or
                          [f"exit {proc.returncode}"])[-1][:500]
            return
        try:
            self.report = parse_report(out.decode("utf-8"), start_gen,
                                       time.perf_counter() - started)
            self.error = None
        except (ValueError, KeyError, TypeError) as exc:
            self.error = f"the background check's report cannot be read: {exc}"
            return
        ctx.caches.pop("page-views", None)  # views pick up the new findings

    def findings(self, path: str) -> list[Finding] | None:
        """The page's findings from the latest report when still current, else None."""
        report = self.report
        if report is None or not report.is_current(self.ctx, path):
            return None
        return list(report.by_path.get(path, []))

    async def stop(self) -> None:
        """Stop a running check and wait until its process and pipes are closed."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)

    def close(self) -> None:
        """Stop a running check (without waiting; :meth:`stop` waits)."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        if self._task is not None:
            self._task.cancel()
