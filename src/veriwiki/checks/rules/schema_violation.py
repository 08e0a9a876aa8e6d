"""schema-violation: frontmatter fields missing or mistyped for the page's type."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding


@rule("schema-violation", Severity.ERROR, "frontmatter does not match the page's type", 50,
      facet="page")
def schema_violation(ctx: CheckContext) -> Iterator[Finding]:
    """Validate each page's frontmatter against its type's schema."""
    for path, line, message in ctx.types.errors:
        yield ctx.finding(path, line, message, hint="fix the schema file")
    known = ", ".join(sorted(ctx.types.types))
    for page in ctx.pages:
        if page.frontmatter_error is not None:
            continue
        fm = page.frontmatter
        type_name = page.type or ctx.default_type
        if type_name is None:
            validator, quick = ctx.types.base, ctx.types.base_quick
        elif type_name in ctx.types.types:
            ptype = ctx.types.types[type_name]
            validator, quick = ptype.validator, ptype.quick
        else:
            yield ctx.finding(page.path, page.field_lines.get("type", 1),
                              f"unknown page type '{type_name}'",
                              hint=f"use one of: {known}; or add schemas/{type_name}.yaml")
            continue
        data = dict(fm)
        if type_name is not None and "type" not in data:
            data["type"] = type_name
        if "title" not in data:
            data["title"] = page.title
        if quick is not None and _valid(quick, data):
            continue  # jsonschema would find nothing: no need to ask it
        for err in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
            field = str(err.path[0]) if err.path else None
            if err.validator == "required":
                missing = err.message.split("'")[1] if "'" in err.message else err.message
                yield ctx.finding(page.path, 1,
                                  f"type '{type_name}' requires the field '{missing}'",
                                  hint=f"add '{missing}:' to the frontmatter")
                continue
            where = ".".join(str(p) for p in err.path) or "frontmatter"
            line = page.field_lines.get(field, 1) if field else 1
            yield ctx.finding(page.path, line, f"field '{where}': {err.message}",
                              hint="see the page type's fields with 'veriwiki types'")


def _valid(quick: Callable[[Any], bool], data: dict[str, Any]) -> bool:
    """The quick predicate's answer; a value it cannot compare (jsonschema would then
    raise or report) counts as "ask jsonschema"."""
    try:
        return quick(data)
    except Exception:  # noqa: BLE001 - any surprise goes to jsonschema, which decides
        return False
