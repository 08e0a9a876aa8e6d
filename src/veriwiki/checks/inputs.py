"""What a check run gives its rules besides the pages: one frozen, typed object.

The check service builds it once per run from the vault (sources, facts, settings,
today's date, a way to run check blocks, a way to read a page file). Rules read it
through :class:`~veriwiki.checks.context.CheckContext` and never reach the vault, the
services or the clock themselves, so any front end (CLI, web app, MCP server, a test)
can run a rule by building the inputs it wants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from veriwiki.core.model import FileProblem, Page

if TYPE_CHECKING:
    from veriwiki.config import FreshnessSettings, SandboxSettings
    from veriwiki.core.page_types import TypeRegistry
    from veriwiki.settings import FreshnessValues, SandboxValues

# (pages holding check blocks, facts) -> each block with its result
BlockRunner = Callable[[list[Page], list[Any]], list[Any]]


def _no_date() -> dt.date:
    raise RuntimeError("this check run was given no date (CheckInputs.today)")


@dataclass(frozen=True)
class CheckInputs:
    """The vault-wide inputs of one check run (rules must not modify them)."""

    problems: list[FileProblem] = field(default_factory=list)
    """Files that could not be read or parsed (unreadable-file reports them)."""
    types: TypeRegistry | None = None
    index_page: str = ""
    log_page: str = ""
    default_type: str | None = None
    sources: dict[str, Any] = field(default_factory=dict)
    """Source id -> Source."""
    facts: list[Any] = field(default_factory=list)
    text_loader: Callable[[str, int | None], Any] | None = None
    """(source id, version or None for the latest) -> SourceText or None."""
    today: Callable[[], dt.date] = _no_date
    """Today's date (the vault's, which ``VERIWIKI_TODAY`` may pin)."""
    freshness: FreshnessSettings | FreshnessValues | None = None
    run_blocks: BlockRunner | None = None
    """Runs ``python check`` blocks in the sandbox; None: blocks are not run."""
    read_text: Callable[[str], str] | None = None
    """A page file's text by path ('' when unreadable); None: rules use the parsed body."""
    page_types: Callable[[], dict[str, str | None]] | None = None
    """Every page's type by path, without loading the pages (None: read the pages)."""
    cache_dir: Path | None = None
    """Where :meth:`CheckContext.cached` keeps results across runs (None: this run only)."""
    cache_version: str = ""
    """The check code's version: part of every cached key."""
    sandbox: SandboxSettings | SandboxValues | None = None
