"""The model-derived rules: registered here so their ids and severities are known.

They ask a judge model, so the deterministic ``check`` never runs them (their functions
find nothing); ``check --llm`` runs them through :mod:`veriwiki.services.llm_lint`.
"""

from __future__ import annotations

from collections.abc import Iterable

from veriwiki.checks import CheckContext, Severity, rule
from veriwiki.core.model import Finding

POSSIBLE_CONTRADICTION = "possible-contradiction"
MISSING_PAGE = "missing-page"
SUGGESTED_LINK = "suggested-link"
MODEL_RULES = (POSSIBLE_CONTRADICTION, MISSING_PAGE, SUGGESTED_LINK)


@rule(POSSIBLE_CONTRADICTION, Severity.WARNING,
      "two statements about one thing that may disagree (model-derived: check --llm)", 900)
def possible_contradiction(ctx: CheckContext) -> Iterable[Finding]:
    """Nothing without a model; see :mod:`veriwiki.services.llm_lint`."""
    return ()


@rule(MISSING_PAGE, Severity.WARNING,
      "a concept mentioned on several pages without a page of its own "
      "(model-derived: check --llm)", 901)
def missing_page(ctx: CheckContext) -> Iterable[Finding]:
    """Nothing without a model; see :mod:`veriwiki.services.llm_lint`."""
    return ()


@rule(SUGGESTED_LINK, Severity.WARNING,
      "a page names another page without linking it (model-derived: check --llm)", 902)
def suggested_link(ctx: CheckContext) -> Iterable[Finding]:
    """Nothing without a model; see :mod:`veriwiki.services.llm_lint`."""
    return ()
