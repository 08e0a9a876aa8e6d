"""duplicate-title: two pages claim the same title or alias (look-alikes included)."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding, Page
from veriwiki.core.names import name_list, skeleton


def _claims(page: Page) -> list[tuple[str, int, str]]:
    """(name, line, what) for the title and each alias of a page."""
    title_line = page.field_lines.get("title", 1) if "title" in page.frontmatter else 1
    out = [(page.title, title_line, "title")]
    key = "aliases" if "aliases" in page.field_lines else "alias"
    alias_line = page.field_lines.get(key, 1)
    out += [(a, alias_line, "alias") for a in page.aliases]
    return out


@rule("duplicate-title", Severity.WARNING, "two pages claim the same title or alias", 60,
      facet="links")
def duplicate_title(ctx: CheckContext) -> Iterator[Finding]:
    """Report every page whose title or alias another page also claims."""
    for page in ctx.pages:
        if ctx.is_generated(page.path):
            continue
        seen: set[str] = set()
        for name, line, what in _claims(page):
            key = skeleton(name)
            if not key:
                continue
            others = sorted(ctx.name_owners(key) - {page.path})
            if not others or key in seen:
                continue
            seen.add(key)
            yield ctx.finding(page.path, line,
                              f"{what} '{name}' is also claimed by " + name_list(others),
                              hint="rename one of them or drop the alias; links to this name "
                                   "are ambiguous")
