"""Editing: the editor, live preview, save with three-way merge, new, rename, delete."""

from __future__ import annotations

from starlette.routing import BaseRoute

from veriwiki.web.context import WebContext


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The editing routes."""
    return []
