"""Page types as the rules see them: each type's schema and its validator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from veriwiki.core.schema_fast import compile_schema


def quick_check(validator: Draft202012Validator) -> Callable[[Any], bool] | None:
    """The predicate ``core.schema_fast`` makes of ``validator``'s schema, checking
    formats as the validator does; None when the schema needs jsonschema itself."""
    checker = validator.format_checker
    return compile_schema(validator.schema, checker.conforms if checker else None,
                          validator.VALIDATORS)


@dataclass
class PageType:
    """A page type: its schema, validator, template and where it was defined."""

    name: str
    schema: dict[str, Any]
    origin: str
    validator: Draft202012Validator
    description: str = ""
    body: str = "# {title}\n"
    defaults: dict[str, Any] = field(default_factory=dict)
    requires_citations: bool = False
    quick: Callable[[Any], bool] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.quick is None:
            self.quick = quick_check(self.validator)

    @property
    def required(self) -> list[str]:
        """Required frontmatter fields."""
        return list(self.schema.get("required", []))

    @property
    def optional(self) -> list[str]:
        """Optional frontmatter fields."""
        return [k for k in self.schema.get("properties", {}) if k not in self.required]


@dataclass
class TypeRegistry:
    """All page types of a vault, plus schema files that could not be loaded."""

    types: dict[str, PageType]
    errors: list[tuple[str, int, str]]  # (path, line, message)
    base: Draft202012Validator
    base_quick: Callable[[Any], bool] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.base_quick is None:
            self.base_quick = quick_check(self.base)
