"""invalid-frontmatter: frontmatter YAML that does not parse or is not a mapping."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("invalid-frontmatter", Severity.ERROR, "frontmatter YAML that does not parse", 40,
      facet="page")
def invalid_frontmatter(ctx: CheckContext) -> Iterator[Finding]:
    """The YAML error of each page's frontmatter, at its line and column."""
    for page in ctx.pages:
        err = page.frontmatter_error
        if err is not None:
            yield ctx.finding(page.path, err.line, err.message, column=err.column,
                              hint="fix the YAML between the '---' lines (quote values that "
                                   "contain ': ' or start with a special character)")
