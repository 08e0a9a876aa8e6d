"""code-failed, code-timeout, code-limit, code-output: the ``python check`` blocks.

The four rules share one run of the blocks (see :mod:`veriwiki.services.code_checks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding

ORDER = 95
NOT_RUN = "check block not run: no sandbox on this machine"  # the finding's message starts so


def outcomes(ctx: CheckContext) -> list[Any]:
    """Every check block of the vault with its result (run once per check)."""
    def run() -> list[Any]:
        runner = ctx.inputs.run_blocks
        if runner is None:
            return []
        pages = [p for p in ctx.code_pages() if not ctx.is_generated(p.path)]
        if not pages:
            return []  # no block: no need to probe bubblewrap
        return runner(pages, ctx.facts)

    result: list[Any] = ctx.memo(("code-blocks",), run)
    return result


def _page_line(outcome: Any) -> int:
    line = outcome.check.block.line
    return line + outcome.result.line if outcome.result.line else line


@rule("code-failed", Severity.ERROR, "a python check block raised an exception or could "
      "not run", ORDER)
def code_failed(ctx: CheckContext) -> Iterator[Finding]:
    """A block that raised (an assert, an error, a refused operation) fails at its line;
    a block that could not run (no sandbox here, vault not trusted) fails at its fence."""
    for o in outcomes(ctx):
        r = o.result
        if r.status == "not-run":
            yield ctx.finding(o.check.path, o.check.block.line,
                              f"{NOT_RUN} ({r.exc_message})",
                              hint="install bubblewrap (Debian/Ubuntu: apt-get install "
                                   "bubblewrap) and allow user namespaces, or pass --trust if "
                                   "you trust this vault's check blocks to run unisolated "
                                   "(docs/check-blocks.md)")
            continue
        if r.status != "failed":
            continue
        message = f"{r.exc_type}: {r.exc_message}" if r.exc_message else f"{r.exc_type}"
        refused = "refused by the sandbox" in (r.exc_message or "")
        hint = ("check blocks may not start processes, use the network, write outside their "
                "temporary folder or read outside the vault (docs/check-blocks.md)"
                if refused else "fix the block, or the facts it checks")
        yield ctx.finding(o.check.path, _page_line(o), f"check block failed: {message}",
                          hint=hint)


@rule("code-timeout", Severity.ERROR, "a python check block ran past its time limit", ORDER)
def code_timeout(ctx: CheckContext) -> Iterator[Finding]:
    """A block still running at ``[sandbox] timeout_seconds`` was killed."""
    for o in outcomes(ctx):
        if o.result.status == "timeout":
            yield ctx.finding(o.check.path, o.check.block.line,
                              f"check block timed out: {o.result.exc_message}",
                              hint="make the block faster or raise [sandbox] timeout_seconds")


@rule("code-limit", Severity.ERROR, "a python check block broke a sandbox limit", ORDER)
def code_limit(ctx: CheckContext) -> Iterator[Finding]:
    """Memory, CPU time, output size or file size beyond the ``[sandbox]`` limits."""
    options = {"memory": "memory_mb", "cpu": "cpu_seconds", "output": "max_output_bytes",
               "file size": "memory_mb", "processes": "max_processes"}
    for o in outcomes(ctx):
        r = o.result
        if r.status == "limit":
            what = r.limit or "a limit"
            yield ctx.finding(o.check.path, _page_line(o),
                              f"check block exceeded its {what} limit: {r.exc_message}",
                              hint=f"reduce what the block uses or raise [sandbox] "
                                   f"{options.get(what, 'limits')}")


@rule("code-output", Severity.ERROR, "a check block printed something else than its output "
      "block", ORDER + 1)
def code_output(ctx: CheckContext) -> Iterator[Finding]:
    """The ``output`` block after a check block must equal what it printed."""
    from veriwiki.adapters.sandbox import printable
    from veriwiki.core.block_output import output_diff

    for o in outcomes(ctx):
        if o.check.output is None or o.result.status != "ok":
            continue
        diff = output_diff(o.check.output.content, o.result.stdout)
        if diff is None:
            continue
        shown = printable(" | ".join(d for d in diff if d[:1] in "+-")[:300])
        yield ctx.finding(o.check.path, o.check.output.line,
                          f"printed output differs from the output block: {shown}",
                          hint="update the output block to what the block prints "
                               "(- expected, + printed), or fix the check")
