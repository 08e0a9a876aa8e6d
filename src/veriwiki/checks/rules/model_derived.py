"""The model-derived rules: registered so their ids and severities are known.

A judge model finds them (``check --llm``, :mod:`veriwiki.services.llm_lint`); the
deterministic ``check`` skips them (``Rule.model_derived``).
"""

from __future__ import annotations

from veriwiki.checks import Severity, model_rule

POSSIBLE_CONTRADICTION = "possible-contradiction"
MISSING_PAGE = "missing-page"
SUGGESTED_LINK = "suggested-link"
MODEL_RULES = (POSSIBLE_CONTRADICTION, MISSING_PAGE, SUGGESTED_LINK)

model_rule(POSSIBLE_CONTRADICTION, Severity.WARNING,
           "two statements about one thing that may disagree (model-derived: check --llm)", 900)
model_rule(MISSING_PAGE, Severity.WARNING,
           "a concept mentioned on several pages without a page of its own "
           "(model-derived: check --llm)", 901)
model_rule(SUGGESTED_LINK, Severity.WARNING,
           "a page names another page without linking it (model-derived: check --llm)", 902)
