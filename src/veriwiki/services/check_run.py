"""``run_check``: one check as any front end asks for it (CLI, web app, MCP server).

It chooses the scope (the whole vault, or what changed since a revision), runs the
deterministic rules, adds the model-derived rules when a judge model is given, and
returns the report with what the front end needs to show or export it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from veriwiki.services.check import CheckReport
from veriwiki.vault import Vault

if TYPE_CHECKING:
    from veriwiki.ai.provider import Meter, TextModel
    from veriwiki.services.llm_lint import LintReport


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What a check run should do (the options of ``veriwiki check``)."""

    strict: bool = False
    """Report warnings as errors."""
    only: tuple[str, ...] = ()
    """Run only these rule ids (empty: every enabled rule)."""
    changed: str | None = None
    """Report only pages changed since this revision, and pages citing changed sources."""
    no_cache: bool = False
    """Read and write no cache or index in the state folder."""
    judge: TextModel | None = None
    """A text model: also run the model-derived rules, each candidate confirmed by it."""
    meter: Meter | None = None
    """The usage meter for ``judge``."""
    llm_limit: int | None = None
    """With a judge: at most this many candidates judged per rule."""
    all_paths: bool = False
    """Also list every page path in scope (a JUnit report lists passing pages too)."""


@dataclass(slots=True)
class CheckRun:
    """The outcome of :func:`run_check`."""

    report: CheckReport
    paths: list[str]
    """The pages in scope: the changed ones with ``changed``, else every page when
    ``all_paths`` was asked for, else empty."""
    lint: LintReport | None = None
    """The model-derived rules' summary (``services.llm_lint``) when a judge ran."""


def run_check(vault: Vault, options: CheckOptions = CheckOptions()) -> CheckRun:
    """Run one check of ``vault`` as ``options`` say."""
    from veriwiki.services.check import check_vault

    if options.no_cache:
        vault.use_private_caches()
    only = list(options.only) or None
    scope = None
    if options.changed is not None:
        from veriwiki.services.changed import check_changed

        report, scope = check_changed(vault, options.changed, strict=options.strict, only=only)
        paths: list[str] = sorted(scope.pages)
    else:
        report = check_vault(vault, strict=options.strict, only=only)
        paths = vault.index.paths() if options.all_paths else []
    lint = None
    if options.judge is not None:
        from veriwiki.services.llm_lint import DEFAULT_MAX_CALLS, lint_with_model, merge_reports

        limit = DEFAULT_MAX_CALLS if options.llm_limit is None else options.llm_limit
        lint = lint_with_model(vault, options.judge, options.meter, strict=options.strict,
                               only=only, focus=None if scope is None else scope.pages,
                               max_calls=limit)
        report = merge_reports(report, lint)
    return CheckRun(report, paths, lint)
