"""unreadable-file: a page that is not UTF-8, is binary, too large or an unsafe symlink."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("unreadable-file", Severity.ERROR, "file veriwiki cannot read safely", 5)
def unreadable_file(ctx: CheckContext) -> Iterator[Finding]:
    """Every file the index refused, with the reason."""
    for problem in ctx.problems:
        yield ctx.finding(problem.path, problem.line, problem.message)
