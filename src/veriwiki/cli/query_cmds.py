"""``index``, ``search`` and ``check``: reading the vault."""

from __future__ import annotations

import sys
from itertools import groupby
from typing import Any

import click

from veriwiki.cli.app import (
    State,
    err,
    escape,
    notice,
    out,
    print_json,
    trust_option,
    warn_blocks_not_run,
)
from veriwiki.core.model import Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


@click.command("index")
@click.option("--rebuild", is_flag=True, help="Rebuild the index from scratch.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def index_cmd(state: State, rebuild: bool, as_json: bool) -> None:
    """Update the search index (only changed pages are re-parsed)."""
    from veriwiki.services.indexing import update_index

    stats = update_index(state.vault, rebuild=rebuild)
    if as_json:
        print_json({"parsed": stats.parsed, "removed": stats.removed, "total": stats.total,
                    "rebuilt": stats.rebuilt})
    else:
        out.print(f"indexed {stats.total} pages ({stats.parsed} parsed, "
                  f"{stats.removed} removed{', rebuilt' if rebuild else ''})")


@click.command("search")
@click.argument("query")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def search_cmd(state: State, query: str, limit: int, as_json: bool) -> None:
    """Full-text search: pages ranked by relevance, with a highlighted snippet."""
    from veriwiki.services.indexing import search

    hits = search(state.vault, query, limit, on_notice=notice)
    if as_json:
        print_json([h.to_json() for h in hits])
        return
    if not hits:
        notice(f"no pages match {query!r}")
        return
    for i, hit in enumerate(hits, 1):
        snippet = escape(hit.snippet)
        snippet = snippet.replace("<mark>", "[bold reverse]").replace("</mark>", "[/bold reverse]")
        out.print(f"[bold]{i}. {escape(hit.title)}[/]  [dim]{escape(hit.path)}  "
                  f"score {hit.score:.3g}[/]")
        out.print(f"   {snippet}")


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--rule", "rules", multiple=True, metavar="ID", help="Run only this rule (repeat).")
@click.option("--junit", "junit", type=click.Path(dir_okay=False, writable=True), default=None,
              metavar="FILE", help="Also write the findings as JUnit XML to FILE.")
@click.option("--changed", "changed", is_flag=False, flag_value="HEAD", default=None,
              metavar="[REV]", help="Report only pages changed since REV (default HEAD: "
                                    "uncommitted changes) and pages citing changed sources.")
@click.option("--llm", "use_llm", is_flag=True,
              help="Also run the model-derived rules (possible-contradiction, missing-page, "
                   "suggested-link), each candidate confirmed by the judge model.")
@click.option("--model", default=None, metavar="ID",
              help="Judge model for --llm (default: VERIWIKI_JUDGE_MODEL, [llm] judge, "
                   "else the writer).")
@click.option("--llm-limit", "llm_limit", type=click.IntRange(0, 100000), default=None,
              metavar="N", help="With --llm: judge at most N candidates per rule (default 40).")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Read and write no cache or index in .veriwiki/: rebuild everything in a "
                   "temporary folder (for CI on untrusted changes).")
@trust_option
@click.pass_obj
def check_cmd(state: State, as_json: bool, strict: bool, rules: tuple[str, ...],
              junit: str | None, changed: str | None, use_llm: bool, model: str | None,
              llm_limit: int | None, no_cache: bool) -> None:
    """Run the check rules; exit 1 when an error-severity finding remains."""
    from veriwiki.services.check_run import CheckOptions, run_check

    if not use_llm and (model is not None or llm_limit is not None):
        raise click.UsageError("--model and --llm-limit need --llm")
    judge: Any = None
    meter: Any = None
    if use_llm:  # open the judge first: an unknown model stops before any work
        from veriwiki.cli.models import new_meter, open_model

        judge = open_model(state, "judge", model)
        meter = new_meter(state, judge)
    run = run_check(state.vault, CheckOptions(
        strict=strict, only=tuple(rules), changed=changed, no_cache=no_cache, judge=judge,
        meter=meter, llm_limit=llm_limit, all_paths=bool(junit)))
    report, lint = run.report, run.lint
    warn_blocks_not_run(report.findings)
    if junit:
        from veriwiki.adapters.report_junit import write_junit

        write_junit(junit, report.findings, run.paths, state.vault.root)
    if as_json:
        from veriwiki.cli.json_out import Items

        data = report.to_json(Items)  # written finding by finding
        if lint is not None:
            data["llm"] = lint.to_json(meter)
        print_json(data)
    else:
        for path, items in groupby(report.findings, key=lambda f: f.path):
            out.print(f"[bold underline]{escape(path)}[/]")
            for f in items:
                style = _STYLE.get(f.severity, "")
                col = f":{f.column}" if f.column else ""
                label = f"  [dim]{escape(f'[{f.origin_label}]')}[/]" if f.origin else ""
                out.print(f"  {f.line}{col}  [{style}]{f.severity.value}[/]  "
                          f"[dim]{f.rule}[/]  {escape(f.message)}{label}")
                if f.hint:
                    out.print(f"      [dim]→ {escape(f.hint)}[/]")
        s = report.summary()
        style = "bold red" if report.has_errors else "bold green"
        out.print(f"[{style}]{s['pages']} pages: {s['error']} errors, {s['warning']} warnings, "
                  f"{s['info']} info[/]")
        if lint is not None:
            _llm_usage(lint, meter)
    if report.has_errors:
        sys.exit(1)


def _llm_usage(lint: Any, meter: Any) -> None:
    """What ``check --llm`` asked the judge, on standard error."""
    usage = meter.describe() or f"judge {lint.judge}: 0 calls"
    cached = sum(s.cached for s in lint.rules.values())
    err.print(f"[dim]{escape(usage)}{f' ({cached} answers from the cache)' if cached else ''}"
              "[/]")
    for rid, s in lint.rules.items():
        if s.capped:
            notice(f"{rid}: judged {s.judged} of {s.candidates} candidates "
                   "(raise the limit with --llm-limit N)")
        if s.unanswered:
            notice(f"{rid}: the judge gave no valid answer for {s.unanswered} candidate(s); "
                   "they were skipped")
