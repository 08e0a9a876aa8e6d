"""A page's frontmatter as the properties panel shows it (the site and the web app)."""

from __future__ import annotations

import json
from typing import Any

from veriwiki.core.model import Page

TYPED_GROUPS = ("architecture", "training")  # a model card's typed fields, as tables
HIDDEN_FIELDS = {"title", "tags", "tag", "aliases", "alias"}  # shown elsewhere on the page

Rows = list[tuple[str, str]]


def field_text(value: Any) -> str:
    """A frontmatter value as text (lists and mappings as compact JSON)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def properties(page: Page) -> tuple[list[tuple[str, Rows]], Rows]:
    """The typed groups of a ``model`` page (``parameters`` first) and the other fields."""
    typed: list[tuple[str, Rows]] = []
    props: Rows = []
    fm = page.frontmatter if isinstance(page.frontmatter, dict) else {}
    for key, value in fm.items():
        if key in HIDDEN_FIELDS:
            continue
        if page.type == "model" and key in TYPED_GROUPS and isinstance(value, dict):
            typed.append((key, [(str(k), field_text(v)) for k, v in value.items()]))
        elif page.type == "model" and key == "parameters":
            typed.insert(0, ("", [(key, field_text(value))]))
        else:
            props.append((str(key), field_text(value)))
    return typed, props
