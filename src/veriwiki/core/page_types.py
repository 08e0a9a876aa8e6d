"""Page types as the rules see them: each type's schema and its validator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator


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
