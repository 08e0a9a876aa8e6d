"""Ask: a question box over the ask service, one model per server, queued requests."""

from __future__ import annotations

from starlette.routing import BaseRoute

from veriwiki.web.context import WebContext


def routes(ctx: WebContext) -> list[BaseRoute]:
    """The ask routes."""
    return []
