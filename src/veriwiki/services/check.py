"""Running the check rules over a vault and summarising the findings.

The story of a check: bring the index up to date, choose the rules, read what they need
(:mod:`~veriwiki.services.check_inputs`), take the findings that still hold from the
check cache and run the rules on the rest (:mod:`~veriwiki.services.check_reuse`),
stamp each finding with its rule and severity, sort.
"""

from __future__ import annotations

from dataclasses import replace

from veriwiki.adapters.check_cache import CheckCache
from veriwiki.checks import CheckContext, Rule
from veriwiki.core.model import Finding, Severity
from veriwiki.services.check_inputs import (
    cited_sources,
    load_check_facts,
    rule_settings,
    text_loader,
    vault_inputs,
)
from veriwiki.services.check_names import NameStore
from veriwiki.services.check_quiet import Damaged, Quiet, quiet_reports, report_key
from veriwiki.services.check_report import CheckReport
from veriwiki.services.check_reuse import CACHE_FILE, CHECK_CODE, CachedRun, code_digest
from veriwiki.services.indexing import update_index
from veriwiki.vault import Vault

__all__ = ["CACHE_FILE", "CHECK_CODE", "CheckReport", "check_vault", "code_digest"]

_code_digest = code_digest  # the name the web app's one-page check imports


def check_vault(vault: Vault, *, strict: bool = False, only: list[str] | None = None,
                refresh: bool = True,
                known: tuple[dict[str, str] | None, str] | None = None,
                quiet: dict[str, Quiet] | None = None) -> CheckReport:
    """Run every enabled rule and return the findings, sorted by place.

    Rules with a facet run only on the pages whose inputs changed since the last check;
    their findings on the other pages come from ``.veriwiki/check-cache.db`` (see
    :mod:`veriwiki.services.check_reuse`), and links are resolved against the names kept
    there (:mod:`veriwiki.services.check_names`). The findings are the same as without
    it. ``refresh=False``: the caller has just brought the index up to date; ``known``:
    and read from it every page's blob and the names digest (the site build's parent
    reads both anyway and hands them to its check's child). ``quiet`` (the site
    build's check): the pages whose findings all come from the cache and on which no
    other rule reported anything are put in it, their reports kept whole
    (:mod:`veriwiki.services.check_quiet`), and their findings left out of the report.
    """
    if refresh:
        update_index(vault)
    active = rule_settings(vault, strict, only)
    blobs = dict(known[0]) if known is not None and known[0] is not None \
        else vault.index.page_blobs()
    cache = CheckCache(vault.cache_dir / CACHE_FILE)
    digest = known[1] if known is not None else None
    try:
        try:
            return _check(vault, active, blobs, cache, digest, quiet)
        except Damaged:  # a row left undecoded is damaged: every row decoded
            if quiet is None:
                raise
            quiet.clear()
            cache.close()
            cache = CheckCache(vault.cache_dir / CACHE_FILE)
            return _check(vault, active, blobs, cache, digest, None)
    finally:
        cache.close()


def _check(vault: Vault, active: list[tuple[Rule, Severity]], blobs: dict[str, str],
           cache: CheckCache, digest: str | None, quiet: dict[str, Quiet] | None = None
           ) -> CheckReport:
    run = CachedRun(vault, blobs, cache, digest)
    run.lazy = quiet is not None
    sources, texts, source_problems = cited_sources(vault, run.wanted, run.parse_sidecar)
    facts, fact_problems = load_check_facts(
        vault, run.store.load(vault.index.paths(page_type="model")), sources, texts)
    inputs = vault_inputs(vault, problems=vault.index.problems() + source_problems
                          + fact_problems, sources=sources, facts=facts,
                          text_loader=text_loader(vault, sources, texts),
                          cache_version=code_digest())
    names = NameStore(vault, cache, run.links_key)
    ctx = CheckContext(inputs, source=run.store, resolver_factory=names.resolver,
                       name_owners=names.owners, pages_named=names.pages_named)
    by_rule = run.page_findings(ctx, active, texts)
    findings: list[Finding] = []
    for r, severity in active:
        got = by_rule.get(r.id)
        if got is not None:  # stamped already
            findings.extend(got)
            continue
        # the runner, not the rule, says which rule found it and how severe it is
        findings.extend(replace(f, rule=r.id, severity=severity) for f in r.run(ctx))
    if quiet is not None:  # undecoded pages with other findings join the report
        found = {f.path for f in findings}
        for path in [p for p in run.raw if p in found]:
            try:
                findings.extend(run.decode_raw(path))
            except (ValueError, TypeError) as exc:
                raise Damaged(path) from exc
        quiet.update(quiet_reports(cache, run.raw, report_key(code_digest(),
                                                              run.cached_rules),
                                   run.cached_rules))
    ctx.flush()
    run.flush()
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule, f.message))
    return CheckReport(findings, len(blobs))
