"""The check-rule registry. Each rule lives in its own module and registers itself.

Plugins register rules the same way, from a module named in the ``veriwiki.rules``
entry-point group::

    from veriwiki.checks import rule, Severity

    @rule("my-rule", Severity.WARNING, "what it finds")
    def my_rule(ctx):
        yield ctx.finding("wiki/a.md", 1, "message", hint="fix")

A built-in rule whose findings on a page depend only on that page and on one known set
of vault-wide inputs declares that set as its ``facet`` (see :data:`FACETS`); ``check``
then reuses its findings on unchanged pages from ``.veriwiki/check-cache.db``. Plugin
rules always run over the whole vault.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points

from veriwiki.checks.context import CheckContext
from veriwiki.core.model import Finding, Severity

__all__ = ["FACETS", "CheckContext", "Rule", "Severity", "all_rules", "model_rule", "rule"]

RuleFunc = Callable[[CheckContext], Iterable[Finding]]

# What the per-page findings of a rule in each facet depend on, besides the page itself,
# the vault settings (veriwiki.toml) and the veriwiki code. A rule with a facet must
# iterate ``ctx.pages`` and report each page's findings under that page's path (other
# findings, e.g. on a schema file, must not depend on the pages); ``check`` runs it on
# the pages whose inputs changed only, one chunk of pages at a time (a context per chunk:
# ``ctx.memo`` is per chunk, a value over the whole vault goes in ``ctx.run_memo``).
FACETS = {
    "page": "the page types (schemas)",
    "today": "today's date",
    "links": "every page's path, title, aliases, headings and block ids, and the "
             "attachments (what links resolve against)",
    "sources": "the sources the page cites (metadata and extracted text)",
    "facts": "the facts, and every page's title and aliases",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A named check with a default severity; ``order`` sets the run order."""

    id: str
    default: Severity
    summary: str
    run: RuleFunc
    order: int
    facet: str | None = None
    model_derived: bool = False
    """Found by a judge model (``check --llm``, services.llm_lint), never by ``run``."""


_REGISTRY: dict[str, Rule] = {}
_loaded = False


def rule(rule_id: str, default: Severity, summary: str, order: int = 100, *,
         facet: str | None = None) -> Callable[[RuleFunc], RuleFunc]:
    """Register the decorated function as the rule ``rule_id``.

    ``facet`` (built-in rules only) names what its per-page findings depend on.
    """
    if facet is not None and facet not in FACETS:
        raise ValueError(f"check rule {rule_id!r}: unknown facet {facet!r}")

    def register(func: RuleFunc) -> RuleFunc:
        if rule_id in _REGISTRY and _REGISTRY[rule_id].run is not func:
            raise ValueError(f"check rule {rule_id!r} is registered twice")
        _REGISTRY[rule_id] = Rule(rule_id, default, summary, func, order, facet)
        return func

    return register


def _found_by_a_model(ctx: CheckContext) -> Iterable[Finding]:
    return ()


def model_rule(rule_id: str, default: Severity, summary: str, order: int) -> None:
    """Register a model-derived rule: its id, severity and summary are known to
    ``[checks]`` and the reports, and only ``check --llm`` finds anything for it."""
    if rule_id in _REGISTRY and not _REGISTRY[rule_id].model_derived:
        raise ValueError(f"check rule {rule_id!r} is registered twice")
    _REGISTRY[rule_id] = Rule(rule_id, default, summary, _found_by_a_model, order,
                              model_derived=True)


def all_rules() -> list[Rule]:
    """Every registered rule (built-in and plugin), in run order."""
    global _loaded
    if not _loaded:
        from veriwiki.checks import rules as builtin

        for mod in pkgutil.iter_modules(builtin.__path__):
            importlib.import_module(f"{builtin.__name__}.{mod.name}")
        for ep in entry_points(group="veriwiki.rules"):
            ep.load()
        _loaded = True
    return sorted(_REGISTRY.values(), key=lambda r: (r.order, r.id))
