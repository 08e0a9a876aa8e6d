"""unknown-source: a citation names a source (or source version) that raw/ does not hold."""

from __future__ import annotations

from collections.abc import Iterator

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("unknown-source", Severity.ERROR, "citation names no source in raw/", 80,
      facet="sources")
def unknown_source(ctx: CheckContext) -> Iterator[Finding]:
    """One finding per citation whose id, or ``id:vN`` version, does not exist."""
    for page in ctx.pages:
        for claim in page.claims:
            for cite in claim.citations:
                source = ctx.sources.get(cite.source_id)
                if source is None:
                    yield ctx.finding(
                        page.path, cite.line, f"citation @{cite.key}: no source with id "
                        f"'{cite.source_id}' in raw/",
                        hint=f"add it with 'veriwiki add FILE --id {cite.source_id}', or fix "
                             "the id (see 'veriwiki sources')", column=cite.column)
                elif cite.version is not None and cite.version not in {
                        v.version for v in source.versions}:
                    yield ctx.finding(
                        page.path, cite.line, f"citation @{cite.key}: source "
                        f"'{cite.source_id}' has no version {cite.version} (latest is "
                        f"v{source.current.version})",
                        hint="cite an existing version, or drop ':vN' to cite the latest",
                        column=cite.column)
